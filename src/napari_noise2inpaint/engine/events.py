"""Typed progress events yielded by the training and denoising generators."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:
    from napari_noise2inpaint.engine.model_parts import ModelParts


@dataclass(frozen=True)
class TrainProgress:
    """State after one optimisation step.

    Attributes
    ----------
    step, total_steps : int, int or None
        Steps done and planned (None when only a time limit bounds training).
    epoch : float
        Passes over the training pixels so far.
    loss : float
        Training loss of this step (masked loss on the loss set).
    val_loss : float or None
        Latest validation loss (same masked loss on held-out data).
    mu : float or None
        Current data-consistency penalty (N2I only).
    patches_per_s, pixels_per_s : float
        Recent training throughput.
    elapsed_s : float
        Seconds since training started.
    eta_s : float or None
        Estimated seconds left.
    """

    step: int
    total_steps: int | None
    epoch: float
    loss: float
    val_loss: float | None
    mu: float | None
    patches_per_s: float
    pixels_per_s: float
    elapsed_s: float
    eta_s: float | None


@dataclass(frozen=True)
class PreviewUpdate:
    """A plane denoised with the model as trained so far."""

    step: int
    image: np.ndarray


@dataclass(frozen=True)
class Snapshot:
    """The model a run ending now would return, at a requested training time.

    Time the consumer spends with it (testing it, say) does not count as training time.
    """

    step: int
    elapsed_s: float
    model: ModelParts


@dataclass(frozen=True)
class DenoiseProgress:
    """Tiles done out of the total during prediction."""

    done: int
    total: int


Result = TypeVar("Result")


def run_to_end(
    generator: Generator[object, None, Result],
    on_event: Callable[[object], None] | None = None,
) -> Result:
    """Drain a generator of progress events and return the value it returns.

    Parameters
    ----------
    generator : generator
        A generator of progress events that returns a result (training, denoising).
    on_event : callable, optional
        Called with every event, e.g. to move a progress bar.

    Returns
    -------
    object
        What the generator returned.
    """
    while True:
        try:
            event = next(generator)
        except StopIteration as done:
            return done.value
        if on_event is not None:
            on_event(event)
