"""Where and in which arithmetic the network runs: device choice and bf16 autocast."""

from __future__ import annotations

import contextlib

import torch

from napari_noise2inpaint.errors import InputError


def resolve_device(name: str) -> torch.device:
    """Turn "auto", "cpu", "cuda" or "mps" into an available ``torch.device``.

    Raises
    ------
    InputError
        The requested accelerator is not available on this machine.
    """
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
