"""Model files: safetensors weights with the config and statistics in the metadata.

This module writes model files and reads their metadata; :mod:`.loading` rebuilds models
from them (after :mod:`.model_schema` has checked what the file asks for).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes

from napari_noise2inpaint._version import __version__
from napari_noise2inpaint.errors import ModelFileError
from napari_noise2inpaint.images.io import check_target
from napari_noise2inpaint.modelfiles.model_schema import check_statistics, check_values

if TYPE_CHECKING:
    from napari_noise2inpaint.engine.model_parts import ModelParts

FORMAT_NAME = "napari-noise2inpaint"
FORMAT_VERSION = "1"


def save_model(model: ModelParts, path: str | os.PathLike) -> None:
    """Write ``model`` to a safetensors file, atomically (no half-written file on failure).

    Parameters
    ----------
    model : TrainedModel
        The model to save.
    path : str or path-like
        Destination, conventionally ending in ``.safetensors``.

    Raises
    ------
    InputError
        The destination is a folder, or its folder is missing or not writable.
    """
    path = Path(path)
    check_target(path)
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    try:
        # written by Python so the file gets the user's umask (safetensors' writer uses 0600)
        tmp.write_bytes(model_to_bytes(model))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def model_to_bytes(model: ModelParts) -> bytes:
    """Serialise ``model`` to the bytes of a model file (safetensors; no pickle).

    Used to ship a model to other processes, e.g. dask workers, which rebuild it with
    :func:`napari_noise2inpaint.modelfiles.loading.model_from_bytes`.

    Raises
    ------
    ModelFileError
        The model has NaN or Inf weights or invalid normalisation statistics (its file
        could not be loaded back).
    """
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.network.state_dict().items()}
    check_values(tensors, "The model")  # a file that could not be loaded back is refused
    check_statistics(list(model.means), list(model.stds), "The model")
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
    check_format(metadata, str(path))
    return metadata


def check_format(metadata: dict[str, str], name: str) -> None:
    """Refuse metadata that napari-noise2inpaint did not write, or wrote in another format.

    Raises
    ------
    ModelFileError
        ``format`` or ``format_version`` is not ours.
    """
    if metadata.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{name} is a safetensors file but not a napari-noise2inpaint model.")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{name} uses model format {metadata.get('format_version')}; "
            f"this version reads format {FORMAT_VERSION}."
        )
