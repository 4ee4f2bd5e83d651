"""Data-parallel training over processes launched by ``torchrun`` (DistributedDataParallel).

``torchrun --nproc_per_node N`` starts N copies of a training program and tells each its rank
through the ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` environment variables. Training then
runs in step on all of them: every process draws its own patches (its sampling generator is
seeded from ``seed`` and the rank), the gradients are averaged after each step, so the weights
stay identical, and all processes validate on the same batch and keep the same best weights. A
time limit or a stop request reached by one process stops all of them at the same step.
``steps`` and ``batch_size`` count per process: one step uses ``batch_size * N`` patches, and an
epoch takes ``N`` times fewer steps. Processes use the GPU ``cuda:LOCAL_RANK`` and the NCCL
backend, or the CPU and the Gloo backend.
"""

from __future__ import annotations

import atexit
import os
import warnings

import torch
from torch import distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from napari_noise2inpaint.errors import InputError


def launched() -> bool:
    """Whether this process is one of several started by ``torchrun``."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def active() -> bool:
    """Whether a process group of more than one process is set up."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    """Return the number of processes that train together (1 without a process group)."""
    return dist.get_world_size() if active() else 1


def rank() -> int:
    """Return this process's rank in the process group (0 without one)."""
    return dist.get_rank() if active() else 0


def is_main_process() -> bool:
    """Whether this process reports and saves: rank 0, or the only process.

    Before the process group is set up the rank comes from ``torchrun``'s ``RANK`` variable.
    """
    if active():
        return dist.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0


def sampling_seed(seed: int) -> int:
    """Return the seed of this process's patch sampling: ``seed`` on rank 0, another per rank.

    The ranks are spread by an odd step below 2**32 (2**32 over the golden ratio), so that the
    seeds differ even where a generator keeps only their lowest 32 bits (the CPU's).
    """
    return seed + rank() * 0x9E3779B9


def setup(device: torch.device) -> torch.device:
    """Set up the process group once per process when launched by ``torchrun``.

    The group lives until the process exits, so that a program can train several times; one
    that exists already (set up by the caller) is used as it is. A single process trains alone.

    Parameters
    ----------
    device : torch.device
        The device asked for; ``cuda`` becomes ``cuda:LOCAL_RANK`` in a process group.

    Returns
    -------
    torch.device
        The device this process trains on.

    Raises
    ------
    InputError
        Several processes were asked to train on an Apple GPU (MPS), which has no backend.
    """
    if not launched() and not active():
        return device
    if device.type not in ("cuda", "cpu"):
        raise InputError(
            f"Training in several processes runs on CUDA GPUs or the CPU, not on {device.type}."
        )
    if device.type == "cuda":
        index = int(os.environ.get("LOCAL_RANK", torch.cuda.current_device()))
        device = torch.device("cuda", index)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        atexit.register(_teardown)
    return device


def _teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def parallel(net: nn.Module, device: torch.device) -> nn.Module:
    """Wrap the denoiser in DistributedDataParallel when several processes train together.

    DistributedDataParallel copies rank 0's weights to every process and averages gradients
    during ``backward``. A U-Net shared by several unrolls is used several times in one forward
    pass, which it supports; without unrolls the data-consistency penalty ``mu_raw`` gets no
    gradient, so unused parameters are looked for only then. Batch norm normalises with each
    process's own batch; its running statistics are copied from rank 0 before every forward
    pass, so that all processes validate with the same network.

    Parameters
    ----------
    net : Denoiser
        The network being trained; its ``unrolled`` attribute tells whether ``mu_raw`` is used.
    device : torch.device
        The device it is on.

    Returns
    -------
    torch.nn.Module
        The wrapped network, or ``net`` itself for a single process.
    """
    if not active():
        return net
    return DistributedDataParallel(
        net,
        device_ids=[device] if device.type == "cuda" else None,
        find_unused_parameters=not net.unrolled,
    )


def backward(loss: torch.Tensor) -> None:
    """``loss.backward()``, without DDP's warning about the layout of 1x1 kernels' gradients.

    A 1x1 convolution weight is the same memory in the contiguous and the channels-last
    layout, but the two have different strides. Depending on the kernel the backend picks
    (float32 or bf16, the input size), its gradient comes back in either, and DDP, which
    compares strides literally, warns and copies the gradient into its bucket, which it does
    for every gradient anyway.
    """
    if not active():
        loss.backward()
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Grad strides do not match bucket view")
        loss.backward()


def agree(stop: bool, fraction: float, device: torch.device) -> tuple[bool, float]:
    """Make all processes stop at the same step and use the same learning-rate schedule.

    One process reaching its time limit or being asked to stop stops them all (the others
    would wait for it forever otherwise), and the schedule follows the process that is furthest
    along.

    Parameters
    ----------
    stop : bool
        Whether this process wants to stop.
    fraction : float
        This process's fraction of training done, in [0, 1].
    device : torch.device
        The training device (NCCL communicates GPU tensors).

    Returns
    -------
    tuple of (bool, float)
        Whether any process stops, and the largest fraction done.
    """
    if not active():
        return stop, fraction
    flags = torch.tensor([float(stop), fraction], dtype=torch.float64, device=device)
    dist.all_reduce(flags, op=dist.ReduceOp.MAX)
    return bool(flags[0]), float(flags[1])
