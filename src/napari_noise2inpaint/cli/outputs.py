"""What the command line may write: never a file it reads, never silently over another file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.images.files import is_pattern, resolved, same_file
from napari_noise2inpaint.tasks.batch import collect_inputs

ZARR_MARKERS = (".zgroup", ".zarray", "zarr.json")


def check_output(
    out: Path, reads: Sequence[Path], *, overwrite: bool = False, flag: str = "--out"
) -> None:
    """Refuse an output path before any work is done, so that no result is lost at the end.

    Parameters
    ----------
    out : Path
        The file the command will write.
    reads : sequence of Path
        Every file the command reads (images, model, kernel, ...).
    overwrite : bool
        Whether an existing ``out`` may be replaced (``--overwrite``).
    flag : str
        The option that named ``out``, for the message.

    Raises
    ------
    InputError
        ``out`` is one of ``reads``, a folder or another non-file (a device, a pipe), lies in
        a missing or read-only folder, or exists and ``overwrite`` is False.
    """
    for path in reads:
        if same_file(out, path):
            raise InputError(f"{flag} {out} is an input file; choose another output path.")
    if out.is_dir():
        raise InputError(f"{flag} {out} is a folder; give a file name.")
    if not out.parent.is_dir():
        raise InputError(f"Cannot write {out}: folder {out.parent} does not exist.")
    if out.exists() and not out.is_file():
        raise InputError(f"{flag} {out} is not a regular file; choose another output path.")
    if os.path.lexists(out) and not overwrite:  # a broken link or a link loop too
        raise InputError(f"{flag} {out} already exists; add --overwrite to replace it.")
    try:
        with tempfile.TemporaryFile(dir=out.parent):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InputError(f"Cannot write {out}: folder {out.parent}: {reason}.") from None


def check_train_output(
    out: Path, images: Sequence[str], reads: Sequence[Path], *, overwrite: bool = False
) -> None:
    """:func:`check_output` for ``train``, whose inputs may be folders and glob patterns.

    The images inside a folder or matched by a pattern are inputs too, and a model is never
    written inside a zarr store that is read.

    Parameters
    ----------
    out : Path
        The model file to write.
    images : sequence of str
        The IMAGE arguments: files, folders, patterns or zarr stores.
    reads : sequence of Path
        The other files read (targets, kernel, starting model).
    overwrite : bool
        Whether an existing ``out`` may be replaced.

    Raises
    ------
    InputError
        As :func:`check_output`.
    """
    inputs = [*reads]
    for image in map(Path, images):
        inputs.append(image)
        if plain_folder(image) or is_pattern(image):
            inputs += collect_inputs(image)
        elif image.is_dir() and resolved(image) in resolved(out).parents:
            raise InputError(f"--out {out} lies inside the input store {image}.")
    check_output(out, inputs, overwrite=overwrite)


def plain_folder(path: Path) -> bool:
    """Tell whether ``path`` is a folder but no zarr store (no .zarr name, no zarr metadata)."""
    if not path.is_dir() or path.suffix.lower() == ".zarr":
        return False
    return not any(os.path.lexists(path / name) for name in ZARR_MARKERS)
