"""A trained denoiser: network, config and the normalisation it was trained with."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .config import Noise2InpaintConfig
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


def available_devices() -> list[str]:
    """Devices usable on this machine, best first (CUDA, then MPS, then CPU)."""
    devices = []
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    devices.append("cpu")
    return devices


def autocast(device: torch.device):
    """bf16 autocast on CUDA; a no-op context elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
