"""Loading models: the one dispatch over model files and bioimage.io packages, no code run.

:func:`load_model` is the entry point; every source ends in :func:`model_from_bytes`, which
checks the metadata and the tensors' shapes (:mod:`.model_schema`) before building the network.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load as safetensors_load

from napari_noise2inpaint.engine.network import Denoiser
from napari_noise2inpaint.errors import InputError, ModelFileError
from napari_noise2inpaint.model import TrainedModel
from napari_noise2inpaint.modelfiles.checkpoint import check_format
from napari_noise2inpaint.modelfiles.model_schema import (
    check_tensors,
    check_values,
    parse_config,
    parse_object,
    parse_statistics,
)
from napari_noise2inpaint.modelfiles.packages import MAX_MODEL_BYTES, read_package_model
from napari_noise2inpaint.noise import build_noise_model

#: Largest safetensors header read (the format's own limit is 100 MB).
MAX_HEADER_BYTES = 100 * 1024**2
#: ``load_model(BUILTIN)`` loads the prior shipped with the package (see :mod:`.prior`).
BUILTIN = "builtin"
BUILTIN_PRIOR_FILE = Path(__file__).parents[1] / "priors" / "n2i_prior.safetensors"
#: the prior's white-noise network, used instead where it denoises better (prior.choice)
BUILTIN_WHITE_FILE = BUILTIN_PRIOR_FILE.with_name("n2i_prior_white.safetensors")


def load_model(source: str | os.PathLike) -> TrainedModel:
    """Rebuild a model from a file written by :func:`save_model`; no code is executed.

    Parameters
    ----------
    source : str or path-like
        A model file (``.safetensors``), or a zip file (whatever its name): a BioImage Model
        Zoo package exported by napari-noise2inpaint (see :func:`load_bioimageio`); or
        ``"builtin"``, the prior shipped with the package (see :mod:`.prior`).

    Returns
    -------
    TrainedModel

    Raises
    ------
    ModelFileError
        The file is missing, damaged, not one of ours, or asks for more than a model may.
    """
    if source == BUILTIN:
        return _builtin_prior()
    path = Path(source)
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a model file.")
    if not path.is_file():
        state = "is not a regular file" if path.exists() else "does not exist"
        raise ModelFileError(f"Model file {path} {state}.")
    if zipfile.is_zipfile(path):
        return load_bioimageio(path)
    if path.stat().st_size > MAX_MODEL_BYTES:
        raise ModelFileError(f"{path} is larger than any model file ({MAX_MODEL_BYTES} bytes).")
    return model_from_bytes(path.read_bytes(), str(path))


def _builtin_prior() -> TrainedModel:
    """Load the physics-aware prior, with the white-noise network as its alternative."""
    for path in (BUILTIN_PRIOR_FILE, BUILTIN_WHITE_FILE):
        if not path.is_file():
            raise InputError(f"The built-in prior is missing from this installation ({path}).")
    physics = model_from_bytes(BUILTIN_PRIOR_FILE.read_bytes(), str(BUILTIN_PRIOR_FILE))
    white = model_from_bytes(BUILTIN_WHITE_FILE.read_bytes(), str(BUILTIN_WHITE_FILE))
    physics.history["prior_network"] = "physics"
    white.history["prior_network"] = "white"
    return dataclasses.replace(physics, alternatives=(white,))


def load_bioimageio(path: str | os.PathLike) -> TrainedModel:
    """Load a package written by :func:`export_bioimageio` (``bioimageio`` not needed).

    The package's own safetensors model file is read from memory; its ``.pt`` weights are
    never unpickled.

    Parameters
    ----------
    path : str or path-like
        The ``.zip`` package.

    Returns
    -------
    TrainedModel
        The model, with its config, normalisation, history and training-data info.

    Raises
    ------
    ModelFileError
        The file is missing, not a zip, not a package exported by napari-noise2inpaint, or
        damaged.
    """
    return model_from_bytes(read_package_model(path), str(path))


def model_from_bytes(data: bytes, name: str = "The model data") -> TrainedModel:
    """Rebuild a model from the bytes of a model file (:func:`model_to_bytes`); no code runs.

    Parameters
    ----------
    data : bytes
        The safetensors file's bytes.
    name : str
        How messages call the model (its file or package).

    Raises
    ------
    ModelFileError
        Not a safetensors file, not ours, or its metadata or tensors fail the checks of
        :mod:`napari_noise2inpaint.modelfiles.model_schema`.
    """
    header = _header(data, name)
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{name} is not a safetensors model file (bad metadata).")
    check_format(metadata, name)
    config = parse_config(metadata.get("config"), name)
    means, stds = parse_statistics(metadata.get("normalization"), name)
    history = parse_object(metadata.get("history"), name, "history")
    data_info = parse_object(metadata.get("data"), name, "data")
    check_tensors({key: tuple(entry["shape"]) for key, entry in header.items()}, config, name)
    try:
        tensors = safetensors_load(data)
    except (SafetensorError, ValueError) as error:
        raise ModelFileError(f"{name} is damaged: {str(error).splitlines()[0]}") from None
    check_values(tensors, name)
    try:
        network = Denoiser(config, noise=build_noise_model(config, means[0], stds[0]))
        network.load_state_dict(tensors, strict=True)
    except (RuntimeError, InputError) as error:
        raise ModelFileError(f"{name} is damaged: {str(error).splitlines()[0]}") from None
    network.eval()
    return TrainedModel(network, config, means, stds, history, data_info)


def _header(data: bytes, name: str) -> dict:
    """Return the safetensors header (tensor names, shapes, metadata), read before any tensor."""
    size = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
    try:
        if not 0 < size <= min(len(data) - 8, MAX_HEADER_BYTES):
            raise ValueError("no safetensors header")
        header = json.loads(data[8 : 8 + size])
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
        for key, entry in header.items():
            if key != "__metadata__" and not _is_tensor_entry(entry):
                raise ValueError(f"bad entry {key[:40]!r}")
    except (ValueError, RecursionError) as error:
        raise ModelFileError(f"{name} is not a safetensors model file ({error}).") from None
    return header


def _is_tensor_entry(entry) -> bool:
    shape = entry.get("shape") if isinstance(entry, dict) else None
    return isinstance(shape, list) and all(
        isinstance(size, int) and not isinstance(size, bool) and size >= 0 for size in shape
    )
