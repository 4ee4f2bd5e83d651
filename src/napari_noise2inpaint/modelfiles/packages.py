"""Reading the BioImage Model Zoo packages (zip) exported by napari-noise2inpaint, safely.

A package is untrusted input: entries are read from memory (no temporary files) and only up
to a bound, declared sizes and compression ratios are checked before anything is
decompressed, the package's own format is checked, and a zip inside the package is refused
(packages never nest). Messages name the package.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

from napari_noise2inpaint.errors import ModelFileError

INFO_FILE = "noise2inpaint.json"
STATE_DICT_FILE = "weights_state_dict.pt"
MODEL_FILE = "noise2inpaint.safetensors"
PACKAGE_FORMAT = "napari-noise2inpaint-bioimageio"
PACKAGE_FORMAT_VERSION = "1"
#: Largest model file read (alone or from a package), and largest package info file.
MAX_MODEL_BYTES = 2 * 1024**3
MAX_INFO_BYTES = 16 * 1024**2
#: Largest compression ratio of an entry over 1 MiB (weights compress ~1.1x; bombs ~1000x).
MAX_RATIO = 20
_RATIO_FROM_BYTES = 1024**2
_ZIP_MAGIC = b"PK\x03\x04"


def package_metadata(path: str | os.PathLike) -> dict:
    """Format and version strings of an exported package, like ``read_metadata`` of a file.

    Parameters
    ----------
    path : str or path-like
        The ``.zip`` package.

    Returns
    -------
    dict
        ``format``, ``format_version`` and ``package_version``, ``torch_version``,
        ``numpy_version`` (the versions that exported it); None where absent.
    """
    info = read_package_info(path)
    keys = ("format", "format_version", "package_version", "torch_version", "numpy_version")
    return {key: info[key] if isinstance(info.get(key), str) else None for key in keys}


def read_package_info(path: str | os.PathLike) -> dict[str, Any]:
    """Return the package's ``noise2inpaint.json`` after checking the package's format.

    Raises
    ------
    ModelFileError
        Missing, not a readable zip, not exported by napari-noise2inpaint, or another format.
    """
    path = Path(path)
    with _open(path) as archive:
        try:
            text = read_entry(archive, INFO_FILE, MAX_INFO_BYTES, path)
        except KeyError:
            text = b""
    try:
        info = json.loads(text)
    except (ValueError, RecursionError):
        info = None
    if not isinstance(info, dict) or info.get("format") != PACKAGE_FORMAT:
        raise ModelFileError(
            f"{path} is not a bioimage.io package exported by napari-noise2inpaint."
        )
    if info.get("format_version") != PACKAGE_FORMAT_VERSION:
        raise ModelFileError(
            f"{path} uses package format {_short(info.get('format_version'))}; "
            f"this version reads format {PACKAGE_FORMAT_VERSION}."
        )
    return info


def read_package_model(path: str | os.PathLike) -> bytes:
    """Return the bytes of the safetensors model file that travels in the package.

    Raises
    ------
    ModelFileError
        The package is not ours, names its model file wrongly, lacks it, holds a nested zip,
        or an entry is too large or too compressed to be a model.
    """
    path = Path(path)
    name = read_package_info(path).get("model_file", MODEL_FILE)
    if not isinstance(name, str) or not name:
        raise ModelFileError(f"{path} is damaged: its model_file is {_short(name)}, not a name.")
    with _open(path) as archive:
        try:
            data = read_entry(archive, name, MAX_MODEL_BYTES, path)
        except KeyError:
            raise ModelFileError(f"{path} is damaged: it lacks its model file {name}.") from None
    if data.startswith(_ZIP_MAGIC):
        raise ModelFileError(f"{path} holds a zip as its model file; packages do not nest.")
    return data


def read_entry(archive: zipfile.ZipFile, name: str, limit: int, package: Path) -> bytes:
    """Read one entry into memory, refusing one larger than ``limit`` or too compressed.

    Raises
    ------
    KeyError
        The package has no entry ``name``.
    ModelFileError
        The entry declares or holds more than ``limit`` bytes, or its compression ratio
        exceeds :data:`MAX_RATIO`.
    """
    entry = archive.getinfo(name)
    ratio = entry.file_size / max(1, entry.compress_size)
    too_compressed = entry.file_size > _RATIO_FROM_BYTES and ratio > MAX_RATIO
    if entry.file_size > limit or too_compressed:
        raise ModelFileError(
            f"{package} is damaged or hostile: its entry {name} unpacks to {entry.file_size} "
            f"bytes from {entry.compress_size}."
        )
    try:
        with archive.open(entry) as handle:
            data = handle.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise ModelFileError(f"{package} is damaged: {name} does not unpack ({error}).") from None
    if len(data) > limit:
        raise ModelFileError(f"{package} is damaged or hostile: its entry {name} is too large.")
    return data


def _open(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        raise ModelFileError(f"Model file {path} does not exist.")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise ModelFileError(f"{path} is not a readable model package ({error}).") from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."
