"""Built-in uncertainty: the spread of the regulariser's prediction over random pixel masks.

Every pixel of an N2I model's output can be predicted from several random subsets of the
pixels (the masks inference). Where the network only removes noise, those predictions agree;
where it has to guess structure, they differ. The per-pixel standard deviation of the last
regulariser output over ``masks`` random masks is the uncertainty. It costs ``masks`` forward
passes on top of the ordinary denoising pass (see ``benchmarks/results/trust.md`` for how its
ranking of the errors grows with the number of masks).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from napari_noise2inpaint.engine.events import DenoiseProgress, run_to_end
from napari_noise2inpaint.engine.inference import iter_denoise
from napari_noise2inpaint.errors import InputError

if TYPE_CHECKING:
    from napari_noise2inpaint.engine.model_parts import ModelParts

DEFAULT_MASKS = 8
#: Most masks one call may ask for (each is one more forward pass; 32 already ranks well).
MAX_MASKS = 256


class _RegulariserOutput(nn.Module):
    """Wraps a network so that the masks inference returns the regulariser output z."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.inner = network
        self.unrolled = network.unrolled

    def forward(self, *args, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
        _, z = self.inner(*args, **kwargs)
        return z, z

    def receptive_radius(self) -> int:
        return self.inner.receptive_radius()


def iter_denoise_with_uncertainty(
    model: ModelParts,
    image,
    *,
    masks: int = DEFAULT_MASKS,
    rng: torch.Generator | None = None,
    **kwargs,
) -> Generator[DenoiseProgress, None, tuple[np.ndarray, np.ndarray]]:
    """Denoise ``image`` and measure the per-pixel uncertainty of the result.

    Parameters
    ----------
    model : TrainedModel
        A trained N2I model (Noise2Void and supervised models have no masks to vary).
    image : array_like
        As for :func:`napari_noise2inpaint.denoise`.
    masks : int
        Number M of random masks, 2 to ``MAX_MASKS``; the uncertainty costs M forward passes.
    rng : torch.Generator, optional
        Draws the masks; defaults to one seeded with the model's seed.
    **kwargs
        Passed to :func:`napari_noise2inpaint.iter_denoise` (channel_axis, tile_size,
        device, precision, ...).

    Yields
    ------
    DenoiseProgress
        Passes done out of ``masks + 1``, counted in tiles.

    Returns
    -------
    tuple of numpy.ndarray
        ``(denoised, uncertainty)``: the ordinary result and the standard deviation (intensity
        units, float32, same shape) of the regulariser output over the masks.
    """
    if not model.network.unrolled:
        raise InputError("Uncertainty needs an N2I model; Noise2Void and supervised have no masks.")
    check_masks(masks)
    if kwargs.pop("output", None) is not None:
        raise InputError("Uncertainty uses the model's own output; do not pass output=.")
    rng = rng or torch.Generator().manual_seed(model.config.seed)
    seeds = torch.randint(0, 2**31 - 1, (masks,), generator=rng).tolist()
    wrapped = _RegulariserOutput(model.network)
    denoised = yield from _counted(iter_denoise(model, image, **kwargs), 0, masks + 1)
    mean = np.zeros(denoised.shape, dtype=np.float64)
    squares = np.zeros(denoised.shape, dtype=np.float64)
    for index, seed in enumerate(seeds, start=1):
        config = model.config.replace(inference_masks=1, seed=seed)
        draw_model = dataclasses.replace(model, network=wrapped, config=config)
        draw = yield from _counted(
            iter_denoise(draw_model, image, output="masks", **kwargs), index, masks + 1
        )
        delta = draw - mean  # Welford's running mean and sum of squares
        mean += delta / index
        squares += delta * (draw - mean)
    return denoised, np.sqrt(squares / (masks - 1)).astype(np.float32)


def check_masks(masks) -> None:
    """Refuse a number of uncertainty masks outside 2 to ``MAX_MASKS``, in one sentence.

    Parameters
    ----------
    masks : int
        The number asked for.

    Raises
    ------
    InputError
        ``masks`` is no integer from 2 to ``MAX_MASKS``.
    """
    if isinstance(masks, bool) or not isinstance(masks, (int, np.integer)):
        raise InputError(f"The number of masks must be an integer, got {masks!r}.")
    if not 2 <= masks <= MAX_MASKS:
        raise InputError(
            f"Uncertainty needs 2 to {MAX_MASKS} masks (each is one more pass), got {masks}."
        )


def denoise_with_uncertainty(model: ModelParts, image, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(denoised, uncertainty)``; see :func:`iter_denoise_with_uncertainty`."""
    return run_to_end(iter_denoise_with_uncertainty(model, image, **kwargs))


def _counted(generator, pass_index: int, passes: int):
    """Re-yield one pass's progress as progress over all passes."""
    while True:
        try:
            event = next(generator)
        except StopIteration as done:
            return done.value
        yield DenoiseProgress(pass_index * event.total + event.done, passes * event.total)
