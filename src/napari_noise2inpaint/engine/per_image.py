"""How a model that normalises each image sees it: per-plane statistics and noise models.

The built-in prior (``normalisation="per_image"``) normalises every plane by its own mean and
standard deviation, so a bleached plane is denoised as well as a bright one. A model whose
noise is ``"auto"`` gets the noise model of each channel estimated once from the data (camera
gain, read noise and correlations are the same in every plane), in intensity units, and
converted to each plane's normalised units with absolute weights.
"""

from __future__ import annotations

import numpy as np

from napari_noise2inpaint.engine.data import broadcast_statistics, channel_statistics
from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.noise import AUTO, GaussianNoise, NoiseModel, from_config
from napari_noise2inpaint.noise.estimation import resolve_noise_parameters
from napari_noise2inpaint.noise.identify import estimate_noise


def statistics(model, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the means and stds to normalise ``(C, N, ...)`` planes with, shaped to broadcast.

    Returns
    -------
    tuple of numpy.ndarray
        ``(C, N, 1, 1)`` per plane for 2D models that normalise each image, else
        ``(C, 1, ...)`` per channel (the training data's, or the stack's for 3D ones).
    """
    tail = (1,) * (planes.ndim - 1)
    if model.normalises_each_image and model.config.spatial_dims == 2:
        return plane_statistics(planes)
    if model.normalises_each_image:
        means, stds = channel_statistics(planes)
    else:
        means, stds = broadcast_statistics(model.means, model.stds, planes.shape[0])
    return np.reshape(means, (-1, *tail)), np.reshape(stds, (-1, *tail))


def plane_statistics(planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean and std of every plane of ``(C, N, H, W)`` planes, as ``(C, N, 1, 1)``.

    A constant plane gets std 1 (it is only shifted).
    """
    means = planes.mean(axis=(-2, -1), dtype=np.float64)
    stds = planes.std(axis=(-2, -1), dtype=np.float64)
    stds = np.where(stds > 1e-12 * np.maximum(1.0, np.abs(means)), stds, 1.0)
    return means[..., None, None], stds[..., None, None]


def noises_per_plane(planes, means, stds, physics_of) -> list:
    """Return each plane's noise model in its own normalised units (absolute weights).

    Parameters
    ----------
    planes : numpy.ndarray
        ``(C, N, H, W)`` raw planes.
    means, stds : numpy.ndarray
        From :func:`plane_statistics`.
    physics_of : callable
        Gives the noise model (intensity units) of a ``(N, H, W)`` channel.

    Returns
    -------
    list
        One model per plane, in ``planes.reshape(-1, H, W)`` order.
    """
    models = []
    for channel, channel_means, channel_stds in zip(planes, means, stds, strict=True):
        physics = physics_of(channel)
        for mean, std in zip(channel_means.ravel(), channel_stds.ravel(), strict=True):
            models.append(physics.normalised(float(mean), float(std), absolute=True))
    return models


def plane_noises(model, planes, means, stds, noise=None, noise_sigma=None):
    """Return the data-consistency model of every plane (None: the network's own).

    Parameters
    ----------
    model : TrainedModel
        Only N2I models with ``normalisation="per_image"`` get per-plane models: estimated
        for ``noise_model="auto"``, else the config's physics (the first prior, which kept
        its normalisation in its history, uses its own unit-weight data consistency).
    planes : numpy.ndarray
        ``(C, N, H, W)`` raw planes (intensity units).
    means, stds : numpy.ndarray
        From :func:`statistics`.
    noise : NoiseModel, optional
        The user's noise model (intensity units) instead of the estimate.
    noise_sigma : float or "estimate", optional
        White Gaussian noise of this std instead of the estimate ("estimate": as estimated).

    Returns
    -------
    list or None
        One normalised noise model per plane in ``planes.reshape(-1, H, W)`` order.
    """
    if model.config.normalisation != "per_image" or not model.network.unrolled:
        if noise is not None:
            raise InputError("Only models that normalise each image take a noise model.")
        return None
    if model.config.noise_model != AUTO and noise is None:
        noise = from_config(model.config)  # the physics it was adapted with
    return noises_per_plane(
        planes, means, stds, lambda channel: channel_noise(channel[0], noise, noise_sigma)
    )


def channel_noise(first_plane: np.ndarray, noise=None, noise_sigma=None) -> NoiseModel:
    """Return the noise model of one channel: the user's, a given sigma, or estimated."""
    if noise is not None:
        if not isinstance(noise, NoiseModel):
            raise InputError(f"noise must be a noise model, got {type(noise).__name__}.")
        return noise
    if noise_sigma is not None and noise_sigma != "estimate":
        return GaussianNoise(float(noise_sigma))
    return estimate_noise(first_plane).model


def settings_noise(plane: np.ndarray, config) -> NoiseModel:
    """Return the noise model that ``config``'s noise settings give for ``plane``.

    What the settings leave open (sigma, gain and offset, the correlation kernel, from the
    background region when one is set) is estimated from the plane (intensity units), as for
    training: how a user overrides the built-in prior's own estimate.
    """
    stack = np.asarray(plane, dtype=np.float32)[None, None]
    return from_config(resolve_noise_parameters(config, [stack], []))
