"""A trained denoiser: network, config and the normalisation it was trained with."""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .config import Noise2InpaintConfig
from .devices import available_devices
from .network import Denoiser


@dataclass
class TrainedModel:
    """Everything needed to denoise: the network, its config and normalisation statistics.

    Attributes
    ----------
    network : Denoiser
        The trained network (on the CPU when not in use).
    config : Noise2InpaintConfig
        The configuration it was built and trained with.
    means, stds : list of float
        Per-channel normalisation statistics of the training data.
    history : dict
        Training summary (steps, epochs, losses, time, whether it was stopped early).
    data_info : dict
        Shape and dtype of the training data.
    """

    network: Denoiser
    config: Noise2InpaintConfig
    means: list[float]
    stds: list[float]
    history: dict[str, Any] = field(default_factory=dict)
    data_info: dict[str, Any] = field(default_factory=dict)

    @property
    def mu(self) -> float | None:
        """The learned data-consistency penalty (None for Noise2Void and supervised models)."""
        return float(self.network.mu.detach()) if self.network.unrolled else None

    def denoise(self, image: np.ndarray, **kwargs: Any) -> np.ndarray:
        """Denoise ``image``; see :func:`napari_noise2inpaint.denoise` for the options."""
        from .inference import denoise

        return denoise(self, image, **kwargs)

    def with_precision(self, precision: str | None) -> TrainedModel:
        """Return a copy whose config has ``precision`` (the network is shared); None: self."""
        if precision is None:
            return self
        return dataclasses.replace(self, config=self.config.replace(precision=precision))

    def save(self, path: str) -> None:
        """Write the model to a safetensors file; see :func:`napari_noise2inpaint.save_model`."""
        from .checkpoint import save_model

        save_model(self, path)


def resolve_device(name: str) -> torch.device:
    """Turn "auto", "cpu", "cuda" or "mps" into an available ``torch.device``.

    Raises
    ------
    InputError
        The requested accelerator is not available on this machine.
    """
    from .errors import InputError

    available = available_devices()
    if name == "auto":
        return torch.device(available[0])
    if name not in available:
        raise InputError(
            f"Device {name!r} is not available here; available: {', '.join(available)}."
        )
    return torch.device(name)


def autocast(device: torch.device, precision: str):
    """bf16 autocast where `uses_bfloat16` says so; a no-op context otherwise."""
    if uses_bfloat16(device, precision):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def uses_bfloat16(device: torch.device, precision: str) -> bool:
    """Whether the network runs in bf16 on ``device`` for a config's ``precision``.

    "bfloat16" means yes on CUDA and CPU; "auto" means yes on CUDA GPUs with bf16 support and
    on CPUs with bf16 matrix units; MPS and "float32" never.
    """
    if precision == "float32" or device.type not in ("cuda", "cpu"):
        return False
    if precision == "bfloat16":
        return True
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return cpu_has_bf16_units()


def cpu_has_bf16_units() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (Intel AMX tiles)."""
    check = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(check is not None and check())
