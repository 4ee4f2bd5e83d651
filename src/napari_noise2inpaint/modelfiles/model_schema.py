"""What a model file may contain: its metadata and tensors are checked before anything is built.

A model file is untrusted input. Its config goes through the same rules as every config
(:mod:`.config_rules`: types, finite numbers, ranges and the bounds on what may be asked for),
the normalisation statistics must be finite with positive standard deviations, and the tensors'
names and shapes are compared with those of the network the config describes, built on
PyTorch's "meta" device (no memory) before the real one is. Every refusal is a
:class:`ModelFileError` in one sentence.
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any

import torch

from napari_noise2inpaint.config import Noise2InpaintConfig
from napari_noise2inpaint.engine.network import Denoiser
from napari_noise2inpaint.errors import InputError, ModelFileError

MAX_CHANNELS = 1024


def parse_config(text: str, name: str) -> Noise2InpaintConfig:
    """Return the config stored as JSON ``text`` in the model ``name``, checked and bounded.

    Raises
    ------
    ModelFileError
        Not a JSON object, or a field of the wrong type, out of range or beyond the bounds of
        :data:`napari_noise2inpaint.config_rules.LIMITS`.
    """
    _json_object(text, name, "config")
    try:
        return Noise2InpaintConfig.from_json(text)
    except (InputError, TypeError, ValueError, OverflowError) as error:
        raise ModelFileError(f"{name} is damaged: {_first_line(error)}") from None


def parse_statistics(text: str, name: str) -> tuple[list[float], list[float]]:
    """Return the ``(means, stds)`` stored as JSON ``text``: finite, stds positive.

    Raises
    ------
    ModelFileError
        Missing, of unequal or zero length, not finite, or a standard deviation <= 0.
    """
    data = _json_object(text, name, "normalization")
    means, stds = data.get("means"), data.get("stds")
    check_statistics(means, stds, name)
    return [float(m) for m in means], [float(s) for s in stds]


def check_statistics(means: Any, stds: Any, name: str) -> None:
    """Refuse normalisation statistics that are not finite, or standard deviations <= 0.

    Raises
    ------
    ModelFileError
        Not lists of numbers, of unequal or zero length, not finite, or a std <= 0.
    """
    valid = (
        isinstance(means, list)
        and isinstance(stds, list)
        and 1 <= len(means) == len(stds) <= MAX_CHANNELS
        and all(_is_number(value) for value in [*means, *stds])
        and all(std > 0 for std in stds)
    )
    if not valid:
        raise ModelFileError(
            f"{name} is damaged: its normalisation statistics are not finite means and "
            f"positive standard deviations for 1 to {MAX_CHANNELS} channels."
        )


def parse_object(text: str | None, name: str, field: str) -> dict[str, Any]:
    """Return the optional JSON object ``field`` (history, data) of a model; {} when absent."""
    return {} if text is None else _json_object(text, name, field)


def check_tensors(shapes: dict[str, tuple[int, ...]], config: Noise2InpaintConfig, name: str):
    """Refuse tensors whose names or shapes differ from the network ``config`` describes.

    Parameters
    ----------
    shapes : dict of str to tuple of int
        Tensor names and shapes as the file declares them (read before the data).
    config : Noise2InpaintConfig
        The file's checked config.
    name : str
        How to call the model in messages.

    Raises
    ------
    ModelFileError
        A tensor is missing, unexpected or of another shape.
    """
    try:
        expected = expected_shapes(config)
    except (OverflowError, ValueError, RuntimeError) as error:
        raise ModelFileError(f"{name} is damaged: {_first_line(error)}") from None
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    wrong = sorted(key for key in set(expected) & set(shapes) if expected[key] != shapes[key])
    for problem, keys in (("lacks", missing), ("has unexpected", unexpected)):
        if keys:
            raise ModelFileError(
                f"{name} is damaged: it {problem} weights for its config ({', '.join(keys[:3])})."
            )
    if wrong:
        key = wrong[0]
        raise ModelFileError(
            f"{name} is damaged: weight {key} has shape {list(shapes[key])}, but its config "
            f"needs {list(expected[key])}."
        )


def expected_shapes(config: Noise2InpaintConfig) -> dict[str, tuple[int, ...]]:
    """Names and shapes of the network's tensors for ``config``, without allocating them."""
    with torch.device("meta"):
        network = Denoiser(config)
    return {key: tuple(tensor.shape) for key, tensor in network.state_dict().items()}


def check_values(tensors: dict[str, torch.Tensor], name: str) -> None:
    """Refuse NaN or Inf weights and negative batch-norm variances (they give NaN outputs)."""
    for key, tensor in tensors.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ModelFileError(f"{name} is damaged: weight {key} has NaN or Inf values.")
        if key.endswith("running_var") and (tensor < 0).any():
            raise ModelFileError(f"{name} is damaged: weight {key} has negative variances.")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # integers beyond any float
        return False


def _json_object(text: Any, name: str, field: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise ModelFileError(f"{name} is damaged: its {field} is not a valid JSON object.")
    return data


def _first_line(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text if text.endswith(".") else f"{text}."
