"""The rules every config follows, checked once when it is created (API, widget, CLI, files).

Each setting is checked here and nowhere else: its type (finite numbers only, whole numbers
for counts), then its choices and ranges. A refusal is an :class:`InputError` in one sentence.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

from napari_noise2inpaint.errors import InputError

#: Accepted fractions of pixels in the loss set Lambda: at least 1 pixel in 250, at most half.
RHO_RANGE = (0.004, 0.5)
#: Largest accepted values: beyond these a setting (or a model file) asks for gigabytes of
#: weights or activations, a prediction that never ends, or arithmetic that overflows.
LIMITS = {
    "unrolls": 64,
    "features": 256,
    "depth": 6,
    "inference_masks": 256,
    "cg_iterations": 1000,
    "patch_size": 4096,
    "patch_depth": 1024,
    "batch_size": 4096,
    "mu_init": 1e6,
    "mu_lr_factor": 1e6,
    "seed": 2**32 - 1,
}
_TYPES = {
    "int": ((numbers.Integral,), "a whole number"),
    "float": ((numbers.Real,), "a finite number"),
    "bool": ((bool,), "True or False"),
    "str": ((str,), "text"),
}
_AT_LEAST_1 = ("unrolls", "features", "depth", "batch_size", "inference_masks", "val_interval")
_POSITIVE = ("mu_init", "learning_rate", "mu_lr_factor", "steps", "epochs", "time_limit")
# lowest values of the other bounded fields (patch sides: 2 ** 1, the shallowest U-Net's), and
# the fractions, below 1
_LOWEST = {
    "seed": 0,
    "cg_iterations": 1,
    "val_fraction": 0,
    "n2v_fraction": 0,
    "noise_gain": 0,
    "noise_sigma": 0,
    "patch_size": 2,
    "patch_depth": 2,
}
_FRACTIONS = ("val_fraction", "n2v_fraction")


def check_config(config: Any, choices: dict[str, tuple]) -> None:
    """Raise :class:`InputError` unless ``config`` follows every rule.

    Parameters
    ----------
    config : Noise2InpaintConfig
        The config to check.
    choices : dict of str to tuple
        The allowed values of the fields that take one of a few.
    """
    _check_types(config)
    for name, allowed in choices.items():
        check_choice(name, getattr(config, name), allowed)
    low, high = RHO_RANGE
    if not low <= config.rho <= high:
        raise InputError(f"rho must be between {low} and {high}, got {config.rho}.")
    for name in _AT_LEAST_1:
        _check_min(name, getattr(config, name), 1)
    for name, limit in LIMITS.items():
        if getattr(config, name) > limit:
            raise InputError(
                f"{name} must be at most {limit_text(name)}, got {getattr(config, name)}."
            )
    _check_min("seed", config.seed, 0)
    for name in _POSITIVE:
        value = getattr(config, name)
        if value is not None and value <= 0:
            raise InputError(f"{name} must be positive, got {value}.")
    if config.steps is None and config.epochs is None and config.time_limit is None:
        raise InputError("Give a training length: steps, epochs or a time limit.")
    if not 0 <= config.val_fraction < 1:
        raise InputError(f"val_fraction must be in [0, 1), got {config.val_fraction}.")
    if not 0 < config.n2v_fraction < 1:
        raise InputError(f"n2v_fraction must be in (0, 1), got {config.n2v_fraction}.")
    _check_patches(config)
    _check_noise(config)


def limit_text(name: str) -> str:
    """Return the upper bound of the field ``name`` as people write it: 256, 1, 1e+06."""
    limit = LIMITS[name]
    return f"{limit:g}" if isinstance(limit, float) else str(limit)


def bounds(name: str) -> tuple[float, float]:
    """Return the lowest and highest values that :func:`check_config` accepts for a field.

    Widgets take their spin boxes' ranges from here, so that they offer what the command line
    and the API accept.

    Parameters
    ----------
    name : str
        A field of :class:`~napari_noise2inpaint.config.Noise2InpaintConfig`.

    Returns
    -------
    tuple of float
        ``(low, high)``; ``-inf`` or ``inf`` where no rule bounds that side (for instance the
        fields that are not numbers). Both ends are accepted except 0 for the settings that
        must be positive (steps, epochs, time_limit, learning_rate, mu_init, mu_lr_factor,
        noise_sigma, n2v_fraction) and 1 for val_fraction and n2v_fraction. Patch sides must
        also be multiples of ``2 ** depth``, checked with the depth.

    Examples
    --------
    >>> bounds("rho")
    (0.004, 0.5)
    >>> bounds("unrolls")
    (1, 64)
    """
    if name == "rho":
        return RHO_RANGE
    if name in _AT_LEAST_1:
        low = 1
    elif name in _POSITIVE:
        low = 0
    else:
        low = _LOWEST.get(name, -math.inf)
    high = 1 if name in _FRACTIONS else LIMITS.get(name, math.inf)
    return low, high


def check_choice(name: str, value: object, allowed: tuple) -> None:
    """Raise :class:`InputError` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        names = [str(choice) for choice in allowed]
        words = " or ".join(names) if len(names) == 2 else f"one of {', '.join(names)}"
        raise InputError(f"{name} must be {words}, got {value!r}.")


def _check_types(config: Any) -> None:
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        kind, _, rest = str(field.type).partition(" | ")
        if kind not in _TYPES or (value is None and rest == "None"):
            continue  # the lists are checked with the noise settings
        classes, words = _TYPES[kind]
        valid = isinstance(value, classes) and (kind == "bool") == isinstance(value, bool)
        if valid and kind == "float":
            valid = math.isfinite(value)
        if not valid:
            raise InputError(f"{field.name} must be {words}, got {value!r}.")


def _check_patches(config: Any) -> None:
    multiple = 2**config.depth
    for name in ("patch_size", "patch_depth"):
        value = getattr(config, name)
        if value < multiple or value % multiple:
            raise InputError(f"{name} must be a positive multiple of {multiple}, got {value}.")
    pixels = config.patch_size**2 * (config.patch_depth if config.spatial_dims == 3 else 1)
    if config.method == "n2i" and pixels < round(1 / config.rho):
        raise InputError(
            f"A patch of {pixels} pixels is smaller than the {round(1 / config.rho)} loss sets "
            f"of rho {config.rho}, so its loss set would often be empty; use larger patches "
            "or a larger rho."
        )


def _check_noise_model(config: Any) -> None:
    from napari_noise2inpaint.noise import (
        noise_class,  # numpy and torch: not on this module's import
    )

    kind = noise_class(config.noise_model)
    if kind.estimated_per_image and config.normalisation != "per_image":
        raise InputError(
            f"noise_model {kind.name!r} (estimated from each image) needs normalisation "
            "'per_image'."
        )
    if config.spatial_dims == 3 and not kind.supports_3d:
        raise InputError(
            f"The {kind.name} noise model is 2D only; use 2D planes or another noise model."
        )


def _check_noise(config: Any) -> None:
    _check_noise_model(config)
    if config.noise_gain is not None and config.noise_gain < 0:
        raise InputError(f"The noise gain must not be negative, got {config.noise_gain}.")
    if config.noise_sigma is not None and config.noise_sigma <= 0:
        raise InputError(f"noise_sigma must be positive, got {config.noise_sigma}.")
    if (config.noise_gain is None) != (config.noise_offset is None):
        raise InputError("Give both the noise gain and offset, or neither (to estimate them).")
    if config.noise_kernel is not None:
        from napari_noise2inpaint.noise import (
            check_kernel,  # numpy and torch, imported only when needed
        )

        check_kernel(config.noise_kernel)
    _check_region(config.noise_region)
    _check_min("cg_iterations", config.cg_iterations, 1)


def _check_region(region: Any) -> None:
    if region is None:
        return
    valid = (
        isinstance(region, (list, tuple))
        and len(region) == 4
        and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in region)
        and 0 <= region[0] < region[1]
        and 0 <= region[2] < region[3]
    )
    if not valid:
        raise InputError(
            f"noise_region must be 4 whole numbers [y0, y1, x0, x1] with 0 <= y0 < y1 and "
            f"0 <= x0 < x1, got {region!r}."
        )


def _check_min(name: str, value: int, minimum: int) -> None:
    if value < minimum:
        raise InputError(f"{name} must be at least {minimum}, got {value}.")
