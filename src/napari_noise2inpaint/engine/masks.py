"""Random pixel sets: Noise2Inpaint partitions (eq. 13-14) and Noise2Void blind spots."""

from __future__ import annotations

import math

import torch


def random_partition(shape: tuple[int, ...], n_sets: int, rng: torch.Generator) -> torch.Tensor:
    """Split all pixels into ``n_sets`` disjoint random sets of equal size (+-1).

    Parameters
    ----------
    shape : tuple of int
        Shape of the image (any number of dimensions).
    n_sets : int
        Number L of sets, at least 1; each holds ``M / L`` pixels, rounded up or down.
    rng : torch.Generator
        Source of randomness; its device decides where the labels live.

    Returns
    -------
    torch.Tensor
        Label map of ``shape`` (uint8 up to 256 sets): pixel j belongs to set ``labels[j]``.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> labels = random_partition((4, 5), 4, g)
    >>> torch.bincount(labels.flatten().long()).tolist()
    [5, 5, 5, 5]
    """
    size = math.prod(shape)
    dtype = torch.uint8 if n_sets <= 256 else torch.int32
    order = torch.randperm(size, generator=rng, device=rng.device)
    labels = torch.empty(size, dtype=dtype, device=rng.device)
    labels[order] = (torch.arange(size, device=rng.device) % n_sets).to(dtype)
    return labels.reshape(shape)


def random_lambda(shape: tuple[int, ...], fraction: float, rng: torch.Generator) -> torch.Tensor:
    """Boolean mask with ``round(fraction * M)`` randomly chosen True pixels per leading item.

    Parameters
    ----------
    shape : tuple of int
        ``(batch, H, W)`` or any shape; the count applies to the last two axes of each item.
    fraction : float
        Fraction of pixels selected (at least one pixel is).
    rng : torch.Generator
        Source of randomness.

    Returns
    -------
    torch.Tensor
        Boolean mask of ``shape``.
    """
    *lead, h, w = shape
    count = max(1, round(fraction * h * w))
    scores = torch.rand((*lead, h * w), generator=rng, device=rng.device)
    picked = scores.argsort(dim=-1)[..., :count]
    mask = torch.zeros((*lead, h * w), dtype=torch.bool, device=rng.device)
    mask.scatter_(-1, picked, True)
    return mask.reshape(shape)


def neighbour_values(images: torch.Tensor, rng: torch.Generator, radius: int = 2) -> torch.Tensor:
    """Value of a random other pixel within a ``(2r+1)^n`` window, for every pixel.

    Parameters
    ----------
    images : torch.Tensor
        ``(B, C, H, W)`` batch (2D window) or ``(B, C, D, H, W)`` batch (3D window).
    rng : torch.Generator
        Source of randomness.
    radius : int
        Window half-width (2 gives Noise2Void's 5x5 window).

    Returns
    -------
    torch.Tensor
        Same shape; each pixel replaced by a neighbour, never by itself (offsets are reflected
        at the border and mirrored when the reflection would land on the pixel itself).
    """
    sizes = images.shape[2:]
    side = 2 * radius + 1
    window = side ** len(sizes)
    # offsets drawn from the window without the centre: index 0..window-2, skip the centre
    idx = torch.randint(0, window - 1, images.shape, generator=rng, device=rng.device)
    idx = idx + (idx >= window // 2).long()
    offsets = []
    for _ in sizes:  # last axis first
        offsets.insert(0, idx % side - radius)
        idx = idx // side
    coords = [
        torch.arange(size, device=images.device).view(
            [-1 if a == axis else 1 for a in range(images.ndim)]
        )
        for axis, size in enumerate(sizes, start=2)
    ]
    sources = [_reflect(c + o, n) for c, o, n in zip(coords, offsets, sizes, strict=True)]
    itself = torch.stack([s == c for s, c in zip(sources, coords, strict=True)]).all(dim=0)
    flat_index = torch.zeros_like(sources[0])
    for coord, offset, size, source in zip(coords, offsets, sizes, sources, strict=True):
        mirrored = torch.where(itself, _reflect(coord - offset, size), source)
        flat_index = flat_index * size + mirrored
    b, c = images.shape[:2]
    flat = images.reshape(b, c, -1)
    return flat.gather(-1, flat_index.reshape(b, c, -1)).reshape(images.shape)


def _reflect(index: torch.Tensor, size: int) -> torch.Tensor:
    """Mirror indices into ``0..size-1`` (without repeating the edge pixel)."""
    if size == 1:
        return torch.zeros_like(index)
    period = 2 * (size - 1)
    index = index.remainder(period)
    return torch.where(index >= size, period - index, index)
