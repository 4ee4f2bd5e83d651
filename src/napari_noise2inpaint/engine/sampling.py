"""Random training patches, augmented and masked, drawn on the fly from planes in memory."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from napari_noise2inpaint.engine.masks import random_partition
from napari_noise2inpaint.noise.batch import BatchNoise


@dataclass
class PatchBatch:
    """One batch of ``(B, 1, P, P)`` (or ``(B, 1, D, P, P)``) patches with masks and targets.

    ``noise`` is the data-consistency model of each sample when the batch carries its own
    (:class:`~napari_noise2inpaint.noise.BatchNoise`); None uses the network's.
    """

    noisy: torch.Tensor
    loss_set: torch.Tensor | None
    target: torch.Tensor | None
    noise: object = None


class PatchSampler:
    """Draws patches from same-sized groups of planes (or volumes), with per-plane partitions.

    Each plane carries a random partition of its pixels into ``n_sets`` disjoint sets. A patch
    uses the plane's next unused set as its loss set Lambda; when all sets of a plane were used a
    new partition is drawn (eq. 13-14). Patches get random flips and 90-degree rotations in the
    Y-X plane. Volumes work the same way, with partitions of their voxels.

    Parameters
    ----------
    planes : list of torch.Tensor
        ``(H, W)`` planes or ``(D, H, W)`` volumes on the training device.
    patch_size : int or tuple of int
        Side of square (cubic) patches, or one side per axis such as ``(16, 64, 64)``; at most
        the smallest image's sides.
    n_sets : int or None
        Sets per partition; None draws no masks (Noise2Void, supervised).
    rng : torch.Generator
        Source of every random choice; on the planes' device.
    targets : list of torch.Tensor, optional
        Clean planes matching ``planes`` (supervised training).
    noises : list of noise models, optional
        The data-consistency model of each plane (normalised units), given to each batch as a
        :class:`~napari_noise2inpaint.noise.BatchNoise`; None uses the network's own.
    kernel : numpy.ndarray, optional
        Autocorrelation kernel of correlated noise: patches are only turned and flipped in
        ways that leave it unchanged (a 1x5 line of correlation stays along X).
    """

    def __init__(
        self,
        planes: list[torch.Tensor],
        patch_size: int | tuple[int, ...],
        n_sets: int | None,
        rng: torch.Generator,
        targets: list[torch.Tensor] | None = None,
        noises: list | None = None,
        kernel: np.ndarray | None = None,
    ):
        ndim = planes[0].ndim
        self.patch_shape = (patch_size,) * ndim if isinstance(patch_size, int) else patch_size
        self.n_sets = n_sets
        self.rng = rng
        self.noises = noises
        self.turns, self.flips = _symmetries(kernel)
        self._groups: dict[tuple[int, ...], list[int]] = {}
        for index, plane in enumerate(planes):
            self._groups.setdefault(tuple(plane.shape), []).append(index)
        self._stacks = {s: torch.stack([planes[i] for i in ids]) for s, ids in self._groups.items()}
        self._targets = (
            {s: torch.stack([targets[i] for i in ids]) for s, ids in self._groups.items()}
            if targets is not None
            else None
        )
        self._labels = {}
        self._next_set = {}
        if n_sets is not None:
            for shape, ids in self._groups.items():
                self._labels[shape] = torch.stack(
                    [random_partition(shape, n_sets, rng) for _ in ids]
                )
                self._next_set[shape] = np.zeros(len(ids), dtype=np.int64)
        weights = [len(ids) * math.prod(s) for s, ids in self._groups.items()]
        self._group_probs = torch.tensor(weights, dtype=torch.float64) / sum(weights)

    @property
    def n_pixels(self) -> int:
        """Pixels (voxels) in all planes (volumes)."""
        return sum(len(ids) * math.prod(s) for s, ids in self._groups.items())

    def sample(self, batch_size: int) -> PatchBatch:
        """Draw ``batch_size`` augmented patches with their loss sets (and targets)."""
        shapes = list(self._groups)
        group_of = torch.multinomial(
            self._group_probs, batch_size, replacement=True, generator=_cpu_rng(self.rng)
        )
        parts = [
            self._sample_group(shapes[g], int((group_of == g).sum())) for g in range(len(shapes))
        ]
        parts = [p for p in parts if p is not None]
        noisy = torch.cat([p[0] for p in parts])
        loss_set = torch.cat([p[1] for p in parts]) if self.n_sets is not None else None
        target = torch.cat([p[2] for p in parts]) if self._targets is not None else None
        batch = self._augment(noisy, loss_set, target)
        if self.noises is not None:
            batch.noise = BatchNoise([self.noises[i] for p in parts for i in p[3]])
        return batch

    def _sample_group(self, shape: tuple[int, ...], count: int):
        if count == 0:
            return None
        device = self.rng.device
        n_planes = len(self._groups[shape])
        idx = torch.randint(0, n_planes, (count,), generator=self.rng, device=device)
        ndim = len(shape)
        index = [idx.view(-1, *[1] * ndim)]
        for axis, (size, side) in enumerate(zip(shape, self.patch_shape, strict=True)):
            start = torch.randint(0, size - side + 1, (count,), generator=self.rng, device=device)
            view = [count] + [-1 if a == axis else 1 for a in range(ndim)]
            index.append((start[:, None] + torch.arange(side, device=device)).view(view))
        index = tuple(index)
        noisy = self._stacks[shape][index]
        target = self._targets[shape][index] if self._targets is not None else None
        loss_set = None
        if self.n_sets is not None:
            chosen = self._advance_sets(shape, idx.tolist()).to(device)
            loss_set = self._labels[shape][index] == chosen.view(-1, *[1] * ndim)
        plane_ids = [self._groups[shape][i] for i in idx.tolist()]
        return noisy, loss_set, target, plane_ids

    def _advance_sets(self, shape: tuple[int, ...], plane_ids: list[int]) -> torch.Tensor:
        counters = self._next_set[shape]
        chosen = []
        for plane in plane_ids:
            if counters[plane] == self.n_sets:
                self._labels[shape][plane] = random_partition(shape, self.n_sets, self.rng)
                counters[plane] = 0
            chosen.append(int(counters[plane]))
            counters[plane] += 1
        return torch.tensor(chosen, dtype=torch.uint8)

    def _augment(self, noisy, loss_set, target) -> PatchBatch:
        device = self.rng.device
        count = noisy.shape[0]
        turns = torch.randint(0, 4, (count,), generator=self.rng, device=device)
        turns = turns if self.turns == 4 else 2 * (turns % 2)
        flips = torch.randint(0, 2, (count,), generator=self.rng, device=device).bool()
        flips = flips & self.flips

        def apply(batch: torch.Tensor | None) -> torch.Tensor | None:
            if batch is None:
                return None
            batch = torch.where(flips.view(-1, *[1] * (batch.ndim - 1)), batch.flip(-1), batch)
            rotated = torch.stack([torch.rot90(batch, k, dims=(-2, -1)) for k in range(4)])
            return rotated[turns, torch.arange(count, device=device)].unsqueeze(1)

        return PatchBatch(apply(noisy), apply(loss_set), apply(target))


def _cpu_rng(rng: torch.Generator) -> torch.Generator:
    """Return a CPU generator derived from ``rng`` (multinomial on CPU needs one)."""
    if rng.device.type == "cpu":
        return rng
    seed = int(torch.randint(0, 2**62, (1,), generator=rng, device=rng.device).item())
    return torch.Generator().manual_seed(seed)


def _symmetries(kernel) -> tuple[int, bool]:
    """Quarter turns (4, or 2 for half turns only) and flips that leave ``kernel`` unchanged."""
    if kernel is None:
        return 4, True
    kernel = np.asarray(kernel)
    square = kernel.shape[0] == kernel.shape[1] and np.allclose(kernel, kernel.T, rtol=0.05)
    mirror = np.allclose(kernel, kernel[:, ::-1], rtol=0.05)
    return (4 if square else 2), bool(mirror)
