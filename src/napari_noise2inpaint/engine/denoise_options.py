"""The options of :func:`napari_noise2inpaint.denoise`, checked before any work is done.

Each wrong type or value is refused in one sentence (:class:`InputError`), so the API never
ends in a TypeError or ValueError from deep inside numpy or torch.
"""

from __future__ import annotations

import math
from typing import Any

from torch import nn

from napari_noise2inpaint.config import INFERENCE_OUTPUTS
from napari_noise2inpaint.errors import InputError


def check_denoise_options(model: Any, **options: Any) -> None:
    """Refuse a model that is not a :class:`TrainedModel` and options of the wrong kind.

    Parameters
    ----------
    model : TrainedModel
        The model passed to ``denoise``.
    **options
        The other arguments of ``denoise``; ``output``, ``tile_size``, ``tile_depth``,
        ``overlap``, ``channel_axis``, ``device`` and ``noise_sigma`` are checked here (the
        image by :func:`~napari_noise2inpaint.engine.data.check_array`, the precision by the
        config).

    Raises
    ------
    InputError
        The first wrong value, in one sentence.
    """
    if not isinstance(getattr(model, "network", None), nn.Module) or not hasattr(model, "means"):
        raise InputError(f"Expected a TrainedModel, got {type(model).__name__}.")
    output = options.get("output")
    if output is not None and output not in INFERENCE_OUTPUTS:
        raise InputError(f"output must be one of {', '.join(INFERENCE_OUTPUTS)}; got {output!r}.")
    for name, minimum in (("tile_size", 1), ("tile_depth", 1), ("overlap", 0)):
        check_whole_number(name, options.get(name), minimum)
    check_whole_number("channel_axis", options.get("channel_axis"), None)
    device = options.get("device", "auto")
    if not isinstance(device, str):
        raise InputError(f"device must be a name such as 'cpu' or 'auto'; got {device!r}.")
    _check_sigma(options.get("noise_sigma"))


def check_whole_number(name: str, value: Any, minimum: int | None) -> None:
    """Refuse a ``value`` that is neither None nor a whole number of at least ``minimum``.

    Raises
    ------
    InputError
        A float, text or bool, or a number below ``minimum``.
    """
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise InputError(f"{name} must be a whole number; got {value!r}.")
    if minimum is not None and value < minimum:
        raise InputError(f"{name} must be at least {minimum}; got {value}.")


def _check_sigma(value: Any) -> None:
    if value is None or value == "estimate":
        return
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:
        raise InputError(f"noise_sigma must be a positive number or 'estimate'; got {value!r}.")
