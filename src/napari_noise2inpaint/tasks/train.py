"""Training (from scratch, or adapting a model): the one way the command line and the widget take.

:func:`default_start` says which model a run starts from when the user names none (the
built-in prior, when the settings given fit it). :func:`iter_train_task` runs the engine's
training loop, passing its events on, and returns a :class:`TrainOutcome`: what the run
keeps (the adapted weights, the starting model when adapting did not help or no step was
made, or nothing) and why.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from napari_noise2inpaint.engine.training import iter_train
from napari_noise2inpaint.modelfiles.loading import BUILTIN, load_model
from napari_noise2inpaint.modelfiles.loading import BUILTIN_PRIOR_FILE as PRIOR_FILE
from napari_noise2inpaint.prior import fixed_fields

if TYPE_CHECKING:
    from napari_noise2inpaint.config import Noise2InpaintConfig
    from napari_noise2inpaint.engine.model_parts import ModelParts
    from napari_noise2inpaint.model import TrainedModel


@dataclass(frozen=True)
class TrainOutcome:
    """What one training run keeps.

    Attributes
    ----------
    model : TrainedModel or None
        The model to use from now on: the trained (adapted) one; the starting model when the
        keep rule kept it or no step was made; None when no step was made from scratch.
    trained : TrainedModel
        What the engine returned (its ``history`` says how the run went).
    kept_start : bool
        Whether ``model`` is the starting model (adapting did not help, or no step).
    """

    model: ModelParts | None
    trained: TrainedModel
    kept_start: bool

    @property
    def nothing_trained(self) -> bool:
        """Whether the run stopped before its first training step."""
        return self.trained.history.get("steps", 0) == 0


def outcome_of(trained: TrainedModel, init: ModelParts | None) -> TrainOutcome:
    """Return what a run that ended with ``trained`` (started from ``init``) keeps.

    The engine returns the starting weights (``kept_weights`` "start") unless the adapted
    ones denoise the held-out pixels better (:mod:`napari_noise2inpaint.engine.keep_rule`).
    With no step, the starting model is kept as it was (None from scratch).

    Parameters
    ----------
    trained : TrainedModel
        The engine's result.
    init : TrainedModel or None
        The model the run started from.

    Returns
    -------
    TrainOutcome
    """
    if trained.history.get("steps", 0) == 0:
        return TrainOutcome(init, trained, kept_start=init is not None)
    return TrainOutcome(trained, trained, kept_start=trained.history.get("kept_weights") == "start")


def default_start(given: dict) -> TrainedModel | None:
    """Return the model a run starts from when the user names none.

    Parameters
    ----------
    given : dict
        Config fields the user chose explicitly.

    Returns
    -------
    TrainedModel or None
        The built-in prior when it is installed and the architecture fields in ``given``
        (method, unrolls, features, ...) are its own; else None (random weights).
    """
    if not PRIOR_FILE.is_file():
        return None
    prior = load_model(BUILTIN)
    fits = all(
        given[name] == getattr(prior.config, name) for name in fixed_fields(prior) if name in given
    )
    return prior if fits else None


def iter_train_task(
    images,
    config: Noise2InpaintConfig,
    *,
    init: ModelParts | None = None,
    targets=None,
    stop_event=None,
    preview=None,
) -> Generator[object, None, TrainOutcome]:
    """Train on ``images``, yielding the engine's events; return what the run keeps.

    Parameters
    ----------
    images : array_like or list of array_like
        Noisy training images (see :func:`~napari_noise2inpaint.iter_train`).
    config : Noise2InpaintConfig
        The run's settings (for a starting model, built by
        :func:`~napari_noise2inpaint.prior.config_for_init`).
    init : TrainedModel, optional
        The model to adapt or continue; None trains from random weights.
    targets : array_like or list of array_like, optional
        Clean images, for supervised training.
    stop_event : threading.Event, optional
        Set to stop after the current step; the model trained so far is kept.
    preview : PreviewSource, optional
        Asks for live previews (the widget).

    Yields
    ------
    TrainProgress, PreviewUpdate or Snapshot
        The engine's events.

    Returns
    -------
    TrainOutcome
    """
    trained = yield from iter_train(
        images, config, targets=targets, stop_event=stop_event, preview=preview, init=init
    )
    return outcome_of(trained, init)
