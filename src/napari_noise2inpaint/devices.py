"""Which compute devices this machine has (apart from the model, so the config can ask)."""

from __future__ import annotations

import torch


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
