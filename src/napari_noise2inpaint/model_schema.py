"""What a model file may contain: its metadata and tensors are checked before anything is built.

A model file is untrusted input. Every config field is checked against its declared type
(finite numbers only), the sizes it asks for are bounded (:data:`LIMITS`), the normalisation
statistics must be finite with positive standard deviations, and the tensors' names and shapes
are compared with those of the network the config describes, built on PyTorch's "meta" device
(no memory) before the real one is. Every refusal is a :class:`ModelFileError` in one sentence.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from typing import Any

import torch

from .config import Noise2InpaintConfig
from .errors import InputError, ModelFileError
from .network import Denoiser

#: Largest value a model file may ask for, per config field: beyond these a file could ask
#: for gigabytes of weights or activations, or for a prediction that never ends.
LIMITS = {
    "unrolls": 64,
    "features": 256,
    "depth": 6,
    "inference_masks": 256,
    "cg_iterations": 1000,
    "patch_size": 4096,
    "patch_depth": 1024,
    "batch_size": 4096,
}
MAX_CHANNELS = 1024
MAX_KERNEL_SIDE = 129
MAX_INT = 2**53  # larger integers in JSON are not sizes, counts or seeds of a real model


def parse_config(text: str, name: str) -> Noise2InpaintConfig:
    """Return the config stored as JSON ``text`` in the model ``name``, checked and bounded.

    Raises
    ------
    ModelFileError
        Not a JSON object, a field of the wrong type, out of range, or beyond :data:`LIMITS`.
    """
    data = _json_object(text, name, "config")
    types = {field.name: str(field.type) for field in dataclasses.fields(Noise2InpaintConfig)}
    for key, annotation in types.items():
        if key in data and not matches(annotation, data[key]):
            raise ModelFileError(
                f"{name} is damaged: config field {key} is {_short(data[key])}, "
                f"not {annotation.replace('|', 'or')}."
            )
    for key, limit in LIMITS.items():
        if isinstance(data.get(key), int) and data[key] > limit:
            raise ModelFileError(
                f"{name} asks for {key} = {data[key]}; a model file may ask for {limit} at most."
            )
    try:
        return Noise2InpaintConfig.from_json(json.dumps(data))
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
    valid = (
        isinstance(means, list)
        and isinstance(stds, list)
        and 1 <= len(means) == len(stds) <= MAX_CHANNELS
        and all(matches("float", value) for value in [*means, *stds])
        and all(std > 0 for std in stds)
    )
    if not valid:
        raise ModelFileError(
            f"{name} is damaged: its normalisation statistics are not finite means and "
            f"positive standard deviations for 1 to {MAX_CHANNELS} channels."
        )
    return [float(m) for m in means], [float(s) for s in stds]


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


def matches(annotation: str, value: Any) -> bool:
    """Whether a JSON ``value`` fits a config field's type ``annotation`` ("int | None"...)."""
    options = [part.strip() for part in annotation.split("|")]
    if value is None:
        return "None" in options
    return any(_CHECKS[option](value) for option in options if option != "None")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_INT


def _is_number(value: Any) -> bool:
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


def _is_list(value: Any, item: Callable[[Any], bool], length: int) -> bool:
    return isinstance(value, list) and len(value) <= length and all(map(item, value))


def _is_row(value: Any) -> bool:
    return _is_list(value, _is_number, MAX_KERNEL_SIDE)


_CHECKS: dict[str, Callable[[Any], bool]] = {
    "str": lambda value: isinstance(value, str),
    "bool": lambda value: isinstance(value, bool),
    "int": _is_int,
    "float": _is_number,
    "list[int]": lambda value: _is_list(value, _is_int, 16),
    "list[float]": lambda value: _is_list(value, _is_number, MAX_CHANNELS),
    "list[list[float]]": lambda value: _is_list(value, _is_row, MAX_KERNEL_SIDE),
}


def _json_object(text: Any, name: str, field: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise ModelFileError(f"{name} is damaged: its {field} is not a valid JSON object.")
    return data


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _first_line(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text if text.endswith(".") else f"{text}."
