"""A training-data source for the engine: clean images, noise drawn from the physics.

:func:`napari_noise2inpaint.iter_train` takes it as ``source=`` and trains the N2I network on
clean targets (supervised), every sample carrying its own noise model into the network's
data-consistency step. Batch ``n`` depends only on ``(seed, n)``, so training in stages gives
the same model as one run.
"""

from __future__ import annotations

import torch

from napari_noise2inpaint.engine.sampling import PatchBatch
from napari_noise2inpaint.noise import BatchNoise
from napari_noise2inpaint.prior.physics import jittered, random_noise

REGION = 128
HOLE_FRACTION = 0.05
GAMMA_RANGE = (0.6, 1.6)


class SyntheticNoiseSource:
    """Noisy/clean patch batches with per-sample noise models, normalised per region.

    A region of ``REGION`` pixels is cropped from a random clean image, rotated, flipped and
    gamma-adjusted, made noisy with :func:`.physics.random_noise`, normalised by its own noisy
    mean and std (the clean one with the same numbers), and a patch is cut from it. Its noise
    model, scaled by a random factor near 1 (an estimate is never exact), is converted to the
    normalised units with absolute weights. Every other batch hides ``HOLE_FRACTION`` of the
    pixels from the input and the data fidelity, as N2I's self-supervised training does, so
    that adaptation starts from a network that knows that input.

    Parameters
    ----------
    images : list of numpy.ndarray
        Clean 2D float images in [0, 1].
    patch : int
        Side of the patches.
    seed : int
        Seed of every draw.
    """

    def __init__(self, images, patch: int, seed: int):
        self.images = [torch.as_tensor(image) for image in images]
        self.patch = patch
        self.seed = seed
        self.position = 0

    @property
    def n_pixels(self) -> int:
        """Return the pixels in all clean images (one epoch)."""
        return sum(image.numel() for image in self.images)

    def sample(self, batch_size: int) -> PatchBatch:
        """Return the next batch (advances :attr:`position`)."""
        batch = self.batch_at(self.position, batch_size)
        self.position += 1
        return batch

    def batch_at(self, index: int, batch_size: int) -> PatchBatch:
        """Return batch number ``index``: the same for the same seed, whatever came before."""
        rng = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        noisy, clean, models = zip(*(self._sample(rng) for _ in range(batch_size)), strict=True)
        noisy, clean = torch.stack(noisy)[:, None], torch.stack(clean)[:, None]
        holes = None
        if index % 2:
            holes = torch.rand(noisy.shape, generator=rng) < HOLE_FRACTION
        return PatchBatch(noisy, holes, clean, BatchNoise(models))

    def _sample(self, rng: torch.Generator):
        image = self.images[int(torch.randint(len(self.images), (1,), generator=rng))]
        region = _crop(image, REGION, rng)
        region = torch.rot90(region, int(torch.randint(4, (1,), generator=rng)))
        if torch.rand((), generator=rng) < 0.5:
            region = region.flip(-1)
        gamma = float(torch.empty(()).uniform_(*GAMMA_RANGE, generator=rng))
        region = region.clamp_min(0) ** gamma
        model = random_noise(rng)
        dirty = model.sample(region, rng)
        mean, std = float(dirty.mean()), max(float(dirty.std()), 1e-6)
        window = _crop_window(region.shape, self.patch, rng)
        normalised = jittered(model, rng).normalised(mean, std, absolute=True)
        return (dirty[window] - mean) / std, (region[window] - mean) / std, normalised


def _crop(image: torch.Tensor, side: int, rng: torch.Generator) -> torch.Tensor:
    window = _crop_window(image.shape, side, rng)
    return image[window].contiguous()


def _crop_window(shape, side: int, rng: torch.Generator) -> tuple[slice, slice]:
    sy, sx = min(side, shape[0]), min(side, shape[1])
    top = int(torch.randint(shape[0] - sy + 1, (1,), generator=rng))
    left = int(torch.randint(shape[1] - sx + 1, (1,), generator=rng))
    return slice(top, top + sy), slice(left, left + sx)
