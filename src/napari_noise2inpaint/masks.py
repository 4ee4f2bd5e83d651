"""Random pixel sets: Noise2Inpaint partitions (eq. 13-14) and Noise2Void blind spots."""

from __future__ import annotations

import torch


def random_partition(shape: tuple[int, ...], n_sets: int, rng: torch.Generator) -> torch.Tensor:
    """Split all pixels into ``n_sets`` disjoint random sets of equal size (+-1).

    Parameters
    ----------
    shape : tuple of int
        Shape of the image (any number of dimensions).
    n_sets : int
        Number L of sets; each holds ``M / L`` pixels, rounded up or down.
    rng : torch.Generator
        Source of randomness; its device decides where the labels live.

    Returns
    -------
    torch.Tensor
        uint8 label map of ``shape``: pixel j belongs to set ``labels[j]``.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> labels = random_partition((4, 5), 4, g)
    >>> torch.bincount(labels.flatten().long()).tolist()
    [5, 5, 5, 5]
    """
    if not 1 <= n_sets <= 255:
        raise ValueError(f"n_sets must be in 1..255, got {n_sets}")
    size = 1
    for s in shape:
        size *= s
    order = torch.randperm(size, generator=rng, device=rng.device)
    labels = torch.empty(size, dtype=torch.uint8, device=rng.device)
    labels[order] = (torch.arange(size, device=rng.device) % n_sets).to(torch.uint8)
    return labels.reshape(shape)


def random_lambda(shape: tuple[int, ...], rho: float, rng: torch.Generator) -> torch.Tensor:
    """Boolean mask with ``round(rho * M)`` randomly chosen True pixels per leading item.

    Parameters
    ----------
    shape : tuple of int
        ``(batch, H, W)`` or any shape; the count applies to the last two axes of each item.
    rho : float
        Fraction of pixels selected.
    rng : torch.Generator
        Source of randomness.

    Returns
    -------
    torch.Tensor
        Boolean mask of ``shape``.
    """
    *lead, h, w = shape
    count = max(1, round(rho * h * w))
    scores = torch.rand((*lead, h * w), generator=rng, device=rng.device)
    picked = scores.argsort(dim=-1)[..., :count]
    mask = torch.zeros((*lead, h * w), dtype=torch.bool, device=rng.device)
    mask.scatter_(-1, picked, True)
    return mask.reshape(shape)


def neighbour_values(images: torch.Tensor, rng: torch.Generator, radius: int = 2) -> torch.Tensor:
    """Value of a random other pixel within a ``(2r+1)^2`` window, for every pixel.

    Parameters
    ----------
    images : torch.Tensor
        ``(B, C, H, W)`` batch.
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
    b, c, h, w = images.shape
    side = 2 * radius + 1
    # offsets drawn from the window without the centre: index 0..side*side-2, skip the centre
    idx = torch.randint(0, side * side - 1, (b, c, h, w), generator=rng, device=rng.device)
    idx = idx + (idx >= (side * side) // 2).long()
    dy = idx // side - radius
    dx = idx % side - radius
    rows = torch.arange(h, device=images.device).view(1, 1, h, 1)
    cols = torch.arange(w, device=images.device).view(1, 1, 1, w)
    src_r, src_c = _reflect(rows + dy, h), _reflect(cols + dx, w)
    itself = (src_r == rows) & (src_c == cols)
    src_r = torch.where(itself, _reflect(rows - dy, h), src_r)
    src_c = torch.where(itself, _reflect(cols - dx, w), src_c)
    flat = images.reshape(b, c, -1)
    return flat.gather(-1, (src_r * w + src_c).reshape(b, c, -1)).reshape(b, c, h, w)


def _reflect(index: torch.Tensor, size: int) -> torch.Tensor:
    """Mirror indices into ``0..size-1`` (without repeating the edge pixel)."""
    if size == 1:
        return torch.zeros_like(index)
    period = 2 * (size - 1)
    index = index.remainder(period)
    return torch.where(index >= size, period - index, index)
