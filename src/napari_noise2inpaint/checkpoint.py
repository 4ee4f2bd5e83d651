"""Model files: safetensors weights with the config and statistics in the metadata."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_bytes

from . import __version__
from .config import Noise2InpaintConfig
from .errors import InputError, ModelFileError
from .model import TrainedModel
from .network import Denoiser
from .noise import build_noise_model

FORMAT_NAME = "napari-noise2inpaint"
FORMAT_VERSION = "1"


def save_model(model: TrainedModel, path: str | os.PathLike) -> None:
    """Write ``model`` to a safetensors file, atomically (no half-written file on failure).

    Parameters
    ----------
    model : TrainedModel
        The model to save.
    path : str or path-like
        Destination, conventionally ending in ``.safetensors``.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"Cannot write {path}: folder {path.parent} does not exist.")
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    try:
        # written by Python so the file gets the user's umask (safetensors' writer uses 0600)
        tmp.write_bytes(model_to_bytes(model))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def model_to_bytes(model: TrainedModel) -> bytes:
    """Serialise ``model`` to the bytes of a model file (safetensors; no pickle).

    Used to ship a model to other processes, e.g. dask workers, which rebuild it with
    :func:`model_from_bytes`.
    """
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.network.state_dict().items()}
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "config": model.config.to_json(),
        "normalization": json.dumps({"means": model.means, "stds": model.stds}),
        "history": json.dumps(model.history, default=str),
        "data": json.dumps(model.data_info, default=str),
    }
    return safetensors_bytes(tensors, metadata=metadata)


def model_from_bytes(data: bytes) -> TrainedModel:
    """Rebuild a model from :func:`model_to_bytes` output; no code is executed."""
    try:
        header_size = int.from_bytes(data[:8], "little")
        metadata = json.loads(data[8 : 8 + header_size]).get("__metadata__", {})
        tensors = safetensors_load(data)
    except (ValueError, SafetensorError) as error:
        raise ModelFileError(f"Not a safetensors model ({error}).") from None
    _check_format(metadata, "The data")
    return _build(metadata, tensors, "The model data")


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """Return the string metadata of one of our model files, without loading weights."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"Model file {path} does not exist.")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelFileError(f"{path} is not a safetensors model file ({error}).") from None
    _check_format(metadata, str(path))
    return metadata


def _check_format(metadata: dict[str, str], name: str) -> None:
    if metadata.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{name} is a safetensors file but not a napari-noise2inpaint model.")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{name} uses model format {metadata.get('format_version')}; "
            f"this version reads format {FORMAT_VERSION}."
        )


def load_model(path: str | os.PathLike) -> TrainedModel:
    """Rebuild a model from a file written by :func:`save_model`; no code is executed.

    Raises
    ------
    ModelFileError
        The file is missing, damaged, or not one of ours.

    Notes
    -----
    A zip file (whatever its name) is read as a BioImage Model Zoo package exported by
    napari-noise2inpaint (see :func:`napari_noise2inpaint.bioimageio_arch.load_bioimageio`).
    """
    if zipfile.is_zipfile(path):
        from .bioimageio_arch import load_bioimageio

        return load_bioimageio(path)
    metadata = read_metadata(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except SafetensorError as error:
        raise ModelFileError(f"{path} is damaged: {str(error).splitlines()[0]}") from None
    return _build(metadata, tensors, str(path))


def _build(metadata: dict[str, str], tensors: dict, name: str) -> TrainedModel:
    try:
        config = Noise2InpaintConfig.from_json(metadata["config"])
        stats = json.loads(metadata["normalization"])
        history = json.loads(metadata.get("history", "{}"))
        data_info = json.loads(metadata.get("data", "{}"))
        noise = build_noise_model(config, stats["means"][0], stats["stds"][0])
        network = Denoiser(config, noise=noise)
        network.load_state_dict(tensors, strict=True)
    except (KeyError, ValueError, RuntimeError, InputError) as error:
        raise ModelFileError(f"{name} is damaged: {str(error).splitlines()[0]}") from None
    network.eval()
    return TrainedModel(network, config, stats["means"], stats["stds"], history, data_info)
