"""Which network of the built-in prior denoises an image best, by estimated risk.

The built-in prior ships two networks of one architecture: the physics-aware one (trained
with each sample's noise model in the data consistency: white, Poisson-Gaussian and
correlated noise) and the white one (trained blind, unit-weight data consistency), which is
better on white and camera noise of natural images (``benchmarks/results/prior_physics``).
For every image the one with the lower estimated mean squared error (Stein's unbiased risk
estimate, :mod:`napari_noise2inpaint.engine.risk`, under the noise estimated from the image) on a
central crop of its first plane is used. Neither network's weights were fitted to the image,
so the estimate is unbiased.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

from napari_noise2inpaint.engine.data import check_array, resolve_channel_axis
from napari_noise2inpaint.engine.per_image import channel_noise
from napari_noise2inpaint.engine.risk import compare_risks, network_denoiser
from napari_noise2inpaint.noise import AUTO, noise_class
from napari_noise2inpaint.noise.identify import central_crop, estimate_noise

if TYPE_CHECKING:
    from napari_noise2inpaint.config import Noise2InpaintConfig
    from napari_noise2inpaint.engine.model_parts import ModelParts
    from napari_noise2inpaint.noise import NoiseModel

CROP = 256  # pixels per side judged: about a second for both networks on one core
NETWORK_LABELS = {"physics": "physics-aware network", "white": "white-noise network"}


def choose_network(model: ModelParts, plane: np.ndarray) -> ModelParts:
    """Return ``model`` or the one of its ``alternatives`` with the lowest estimated risk.

    Parameters
    ----------
    model : TrainedModel
        A model with ``alternatives`` (the built-in prior); others are returned as they are.
    plane : numpy.ndarray
        A 2D plane of the image (intensity units).

    Returns
    -------
    TrainedModel
        The chosen model, without alternatives (its ``history["prior_network"]`` names it).
    """
    if not model.alternatives:
        return model
    crop = np.ascontiguousarray(central_crop(np.asarray(plane, dtype=np.float32), CROP))
    mean, std = float(crop.mean()), float(crop.std()) or 1.0
    probe = channel_noise(crop).normalised(mean, std, absolute=True)
    normalised = torch.from_numpy((crop - mean) / std)
    rng = torch.Generator().manual_seed(model.config.seed)
    best = _alone(model)
    for other in map(_alone, model.alternatives):
        comparison = compare_risks(
            _denoiser(best, probe), _denoiser(other, probe), [normalised], [probe], rng
        )
        if comparison.second < comparison.first:
            best = other
    return best


def pick_network(
    model: ModelParts, plane_of: Callable[[], np.ndarray], noise=None, noise_sigma=None
) -> tuple[ModelParts, NoiseModel | None]:
    """Return the network that denoises an image, and the noise its data consistency takes.

    Parameters
    ----------
    model : TrainedModel
        Any model; only the built-in prior (with alternatives) has a choice to make.
    plane_of : callable
        Returns the 2D plane to judge (read only when the estimated risks decide).
    noise : NoiseModel, optional
        The user's noise model: it picks the network by its kind (:func:`for_given_noise`).
    noise_sigma : float or str, optional
        A given noise level: the physics-aware network (3D images get it too).

    Returns
    -------
    tuple
        ``(network, noise or None)``.
    """
    if not model.alternatives:
        return model, noise
    if noise is not None:
        return for_given_noise(model, noise)
    if noise_sigma is not None or model.config.spatial_dims != 2:
        return model.without_alternatives(), None
    return choose_network(model, plane_of()), None


def choose_start(
    init: ModelParts, images, config: Noise2InpaintConfig | None
) -> tuple[ModelParts, Noise2InpaintConfig | None]:
    """Pick the prior's network to adapt to ``images``, as :func:`choose_network` does.

    Settings that name a noise model (not "auto") pick the network by its kind, as
    :func:`for_given_noise` does (white Gaussian: the white network). When the white one is
    chosen, the settings take its noise model (unit-weight white noise), so that adapting
    starts from exactly what *Denoise now* gave.

    Returns
    -------
    tuple
        ``(init, config)``: the chosen model (without alternatives) and the settings.
    """
    if not init.alternatives:
        return init, config
    named = config is not None and config.noise_model != AUTO
    white = _white(init)
    if named and noise_class(config.noise_model).white and white is not None:
        chosen = white
    elif images is None or named:
        return init.without_alternatives(), config
    else:
        first = images[0] if isinstance(images, (list, tuple)) else images
        axis = None if config is None else config.channel_axis
        chosen = choose_network(init, first_plane(first, axis))
    if config is not None and chosen.config.noise_model != AUTO:
        config = config.replace(
            noise_model=chosen.config.noise_model, noise_sigma=chosen.config.noise_sigma
        )
    return chosen, config


def prior_note(model: ModelParts, image, channel_axis=None, noise=None):
    """Choose the prior's network for ``image`` and say in one line what was found and used.

    Parameters
    ----------
    model : TrainedModel
        The built-in prior (with its alternatives).
    image : array_like
        The image to denoise.
    channel_axis : int, optional
        Its channel axis; the first channel's first plane is judged.
    noise : NoiseModel, optional
        The user's noise model (intensity units); see :func:`for_given_noise`.

    Returns
    -------
    tuple
        ``(model, noise, line)``: the chosen model, the noise its data consistency takes
        (None: the network's own or the estimate; see :func:`for_given_noise`) and e.g.
        "Noise: correlated noise, about 3x3; denoised with the built-in prior's
        physics-aware network."
    """
    if noise is not None:
        found = f"{noise.describe()} (your settings)"
        chosen, noise = for_given_noise(model, noise)
    else:
        plane = first_plane(image, channel_axis)
        chosen, found = choose_network(model, plane), estimate_noise(plane).text()
    label = NETWORK_LABELS.get(chosen.history.get("prior_network"), "network")
    return chosen, noise, f"Noise: {found}; denoised with the built-in prior's {label}."


def for_given_noise(model: ModelParts, noise: NoiseModel) -> tuple[ModelParts, NoiseModel | None]:
    """Return the prior's network for a noise model the user gave, and what its DC takes.

    White Gaussian noise goes to the white network with its own (unit-weight) data
    consistency, which judges the noise level itself: on set12 with white noise it beat the
    physics-aware network given the true sigma on all 21 cases (by 0.17 to 1.6 dB, mean
    0.86; ``benchmarks/results/prior_physics``). Other noise goes to the physics-aware
    network, with ``noise`` in its data consistency.

    Parameters
    ----------
    model : TrainedModel
        The built-in prior (with its alternatives).
    noise : NoiseModel
        The user's noise model (intensity units).

    Returns
    -------
    tuple
        ``(network, noise or None)``: the model alone, and the noise for its data
        consistency (None: the network's own).
    """
    white = _white(model)
    if noise.white and white is not None:
        return white, None
    return model.without_alternatives(), noise


def first_plane(image, channel_axis=None) -> np.ndarray:
    """Return the first 2D plane of the first channel of ``image`` (float32).

    Only that plane is converted: the rest of a stack is not copied.
    """
    array = check_array(image)
    axis, _ = resolve_channel_axis(array, channel_axis)
    if axis is not None:
        array = np.take(array, 0, axis=axis)
    return array[(0,) * (array.ndim - 2)].astype(np.float32)


def _white(model: ModelParts) -> ModelParts | None:
    """Return the alternative with its own white-noise data consistency, if there is one."""
    for other in model.alternatives:
        if other.config.noise_model != AUTO and noise_class(other.config.noise_model).white:
            return other
    return None


def _alone(model: ModelParts) -> ModelParts:
    return model if not model.alternatives else model.without_alternatives()


def _denoiser(model: ModelParts, probe):
    """Wrap the network as the user gets it (estimated physics for noise-aware models)."""
    noise = probe if model.config.noise_model == AUTO else None
    return network_denoiser(model.network, [noise], model.config.inference_output)
