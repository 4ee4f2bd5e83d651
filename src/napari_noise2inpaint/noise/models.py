"""Noise physics as objects: white Gaussian, Poisson-Gaussian, correlated Gaussian.

Each noise model is registered by name in :data:`REGISTRY` and owns everything that depends on
the physics: sampling noise on a clean image, the data-consistency step of the unrolled network
(eq. 10a with its own fidelity term), its conversion to normalised units, its round trip
through the config (and so the model file), and the words the user sees. No other module
compares noise-model names: they ask the registry.

Weights of the data term. A model trained on the user's own data (``absolute=False`` in
:meth:`NoiseModel.normalised`) weighs white and Poisson-Gaussian data relative to the noise at
the mean intensity, so mu alone sets the balance. The built-in prior uses absolute inverse
variances (normalised units): noisier images lean more on the regulariser. Correlated models
always use the normalised covariance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch

from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.names import NOISE_NAMES
from napari_noise2inpaint.noise.solvers import (
    check_kernel,
    conjugate_gradient,
    power_spectrum,
    weighted_consistency,
)

#: Variance floor of the Poisson-Gaussian data term, relative to the variance at the mean.
VARIANCE_FLOOR = 0.1
#: Smallest white-noise std in normalised units (a noise-free image is not infinitely trusted).
MIN_SIGMA = 1e-3

REGISTRY: dict[str, type[NoiseModel]] = {}
#: ``noise_model`` of models that estimate the noise of each image (the built-in prior)
AUTO = "auto"


def register(cls: type[NoiseModel]) -> type[NoiseModel]:
    """Add a noise model class to :data:`REGISTRY` under its ``name``."""
    REGISTRY[cls.name] = cls
    return cls


class NoiseModel:
    """What every noise model provides (see the module docstring)."""

    name: ClassVar[str]
    label: ClassVar[str]
    tooltip: ClassVar[str]
    #: signal-independent stationary noise whose pixels are independent
    white: ClassVar[bool] = False
    #: variance ``gain * x + offset``: the user may give gain and offset or have them estimated
    signal_dependent: ClassVar[bool] = False
    #: its parameters can be estimated from a background region that the user marks
    background_region: ClassVar[bool] = False
    #: usable on 3D volumes, not only on 2D planes
    supports_3d: ClassVar[bool] = True
    #: estimated from each image when it is denoised (needs per-image normalisation)
    estimated_per_image: ClassVar[bool] = False

    @classmethod
    def card_fields(cls, config) -> dict:
        """Return this model's parameters in ``config`` for a model card (None: not known).

        Parameters
        ----------
        config : Noise2InpaintConfig
            A config whose ``noise_model`` is this model.

        Returns
        -------
        dict
            ``sigma`` when the config has it, after the model's own parameters.
        """
        return {} if config.noise_sigma is None else {"sigma": config.noise_sigma}

    @classmethod
    def parameter_text(cls, config) -> str | None:
        """Describe this model's parameters in ``config`` in a few words, None if not known.

        Parameters
        ----------
        config : Noise2InpaintConfig
            A config whose ``noise_model`` is this model.

        Returns
        -------
        str or None
            E.g. ``"gain 2.07, offset 23.2"``; ``"sigma 12.3"`` when only sigma is known.
        """
        return None if config.noise_sigma is None else f"sigma {config.noise_sigma:.3g}"

    def sample(self, clean: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """Return ``clean`` plus a draw of this noise (same units)."""
        raise NotImplementedError

    def normalised(self, mean: float, std: float, absolute: bool = False) -> NoiseModel:
        """Return this model in units of data normalised as ``(y - mean) / std``."""
        raise NotImplementedError

    @property
    def scale_known(self) -> bool:
        """True when the model knows its noise strength (not only its shape)."""
        return True

    def perturbation(self, reference: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """Return zero-mean Gaussian noise with this model's covariance at ``reference``.

        The probes of the risk estimate (:mod:`napari_noise2inpaint.engine.risk`).
        """
        return self.sample(torch.zeros_like(reference), rng)

    def solve(self, y, z, theta, mu) -> torch.Tensor:
        """Data-consistency step: minimise the fidelity on Theta plus ``mu ||x - z||^2``."""
        raise NotImplementedError

    def scaled(self, factor: float) -> NoiseModel:
        """Return the same model with its variance multiplied by ``factor``."""
        raise NotImplementedError

    def config_fields(self) -> dict:
        """Return the config fields that store this model (its round trip through model files)."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line for the user, e.g. "correlated noise, about 3x3"."""
        raise NotImplementedError


@register
@dataclass(frozen=True)
class GaussianNoise(NoiseModel):
    """White Gaussian noise of standard deviation ``sigma`` (None: unknown, unit weight)."""

    name: ClassVar[str] = "gaussian"
    label: ClassVar[str] = NOISE_NAMES["gaussian"]
    tooltip: ClassVar[str] = (
        "Every pixel gets independent noise of the same strength (most cameras after "
        "background subtraction, and the classic test images)."
    )
    white: ClassVar[bool] = True
    sigma: float | None = None

    def sample(self, clean, rng):
        """Add ``sigma * N(0, 1)`` to every pixel."""
        return clean + self.sigma * _randn(clean, rng)

    def normalised(self, mean, std, absolute=False):
        """Return sigma in normalised units when ``absolute``; unit weight otherwise."""
        if not absolute or self.sigma is None:
            return GaussianNoise()
        return GaussianNoise(max(self.sigma / std, MIN_SIGMA))

    @property
    def scale_known(self):
        """True when sigma is given."""
        return self.sigma is not None

    def solve(self, y, z, theta, mu):
        """Return ``x = (w y + mu z) / (w + mu)`` on Theta with ``w = 1 / sigma^2`` (eq. 12)."""
        weight = 1.0 if self.sigma is None else 1.0 / self.sigma**2
        return weighted_consistency(y, z, theta, mu, weight)

    def scaled(self, factor):
        """Return the model with sigma times ``sqrt(factor)``."""
        return self if self.sigma is None else GaussianNoise(self.sigma * math.sqrt(factor))

    def config_fields(self):
        """Return ``noise_model`` and ``noise_sigma``."""
        return {"noise_model": self.name, "noise_sigma": self.sigma}

    def describe(self):
        """Describe it, e.g. "white Gaussian noise, sigma ~12"."""
        level = "" if self.sigma is None else f", sigma ~{_short(self.sigma)}"
        return f"white Gaussian noise{level}"


@register
@dataclass(frozen=True)
class PoissonGaussianNoise(NoiseModel):
    """Signal-dependent camera noise: ``var(y_j) = gain * x_j + offset``.

    The data term weighs pixel j by ``1 / var_j`` evaluated at the current estimate z (the
    regulariser output), floored at ``VARIANCE_FLOOR`` times the variance at the mean: fitted
    offsets are often negative (clipped or quantised dark pixels), and without a floor dark
    pixels would get unbounded weights. With ``relative`` the weights are scaled to 1 at the
    mean intensity (normalised 0), as for models trained on one data set.

    The loss on Lambda stays unweighted: weighting it by the same inverse variances was measured
    to break training on the FMD confocal pair (23.7 dB instead of 31.2 dB after 120 steps,
    noisy 22.8 dB), because the dark pixels, with the smallest variances, took over the loss.
    """

    name: ClassVar[str] = "poisson_gaussian"
    label: ClassVar[str] = NOISE_NAMES["poisson_gaussian"]
    tooltip: ClassVar[str] = (
        "Noise that grows with brightness (photon shot noise plus camera read noise): "
        "fluorescence images with few photons."
    )
    signal_dependent: ClassVar[bool] = True
    gain: float
    offset: float
    relative: bool = True

    @property
    def reference_variance(self) -> float:
        """Return the variance at the mean intensity (0 in normalised units)."""
        return max(self.offset, 1e-6)

    def sample(self, clean, rng):
        """Draw ``gain * Poisson(x / gain)`` plus Gaussian read noise of variance ``offset``."""
        gain = max(self.gain, 1e-12)
        counts = torch.poisson((clean / gain).clamp_min(0), generator=rng)
        return counts * gain + math.sqrt(max(self.offset, 0.0)) * _randn(clean, rng)

    def normalised(self, mean, std, absolute=False):
        """Return gain and offset for ``(y - mean) / std``."""
        gain, offset = self.gain / std, (self.gain * mean + self.offset) / std**2
        return PoissonGaussianNoise(gain, offset, relative=not absolute)

    def perturbation(self, reference, rng):
        """Gaussian noise of variance ``gain * reference + offset`` (floored as the weights)."""
        variance = (self.gain * reference + self.offset).clamp_min(
            VARIANCE_FLOOR * self.reference_variance
        )
        return variance.sqrt() * _randn(reference, rng)

    def weights(self, estimate: torch.Tensor) -> torch.Tensor:
        """Return the inverse variance at ``estimate`` (relative: 1 at the mean intensity)."""
        reference = self.reference_variance
        variance = (self.gain * estimate.detach() + self.offset).clamp_min(
            VARIANCE_FLOOR * reference
        )
        return (reference if self.relative else 1.0) / variance

    def solve(self, y, z, theta, mu):
        """Return ``x_j = (w_j y_j + mu z_j) / (w_j + mu)`` on Theta, ``z_j`` elsewhere."""
        return weighted_consistency(y, z, theta, mu, self.weights(z))

    def scaled(self, factor):
        """Return the model with gain and offset times ``factor``."""
        return PoissonGaussianNoise(self.gain * factor, self.offset * factor, self.relative)

    @classmethod
    def card_fields(cls, config):
        """Return ``gain`` and ``offset`` (and ``sigma`` when the config has it)."""
        own = {"gain": config.noise_gain, "offset": config.noise_offset}
        return own | super().card_fields(config)

    @classmethod
    def parameter_text(cls, config):
        """Return e.g. "gain 2.07, offset 23.2" once the gain is known."""
        if config.noise_gain is None:
            return super().parameter_text(config)
        return f"gain {config.noise_gain:.3g}, offset {config.noise_offset:.3g}"

    def config_fields(self):
        """Return ``noise_model``, ``noise_gain`` and ``noise_offset``."""
        return {"noise_model": self.name, "noise_gain": self.gain, "noise_offset": self.offset}

    def describe(self):
        """Describe it, e.g. "Poisson-Gaussian noise, gain ~2.1"."""
        return f"Poisson-Gaussian noise, gain ~{_short(self.gain)}"


@register
@dataclass(frozen=True, eq=False)
class CorrelatedNoise(NoiseModel):
    """Stationary Gaussian noise with autocorrelation ``kernel`` (centre = variance).

    ``Sigma^-1`` is applied in Fourier space (periodic boundaries). With a mask the x-step
    ``(P Sigma^-1 P + mu I) x = P Sigma^-1 P y + mu z`` is solved by a fixed number of conjugate
    gradient iterations, which is differentiable; without a mask it is solved exactly.
    """

    name: ClassVar[str] = "correlated"
    label: ClassVar[str] = NOISE_NAMES["correlated"]
    tooltip: ClassVar[str] = (
        "Noise that spreads over neighbouring pixels (line-scanning or rolling-shutter "
        "cameras, resampled or compressed images): grainy blotches or streaks."
    )
    background_region: ClassVar[bool] = True
    supports_3d: ClassVar[bool] = False
    kernel: np.ndarray
    iterations: int = 10
    _spectra: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "kernel", check_kernel(self.kernel))

    @property
    def variance(self) -> float:
        """Return the noise variance (the kernel's centre)."""
        return float(self.kernel[self.kernel.shape[0] // 2, self.kernel.shape[1] // 2])

    def spectrum(self, shape, device) -> torch.Tensor:
        """Return the noise power spectrum on a ``shape`` grid (rfft2 layout), positive."""
        shape = tuple(int(side) for side in shape)  # sizes may be traced tensors (export)
        key = (shape, str(device))
        if key not in self._spectra:
            power = power_spectrum(self.kernel, shape)
            self._spectra[key] = torch.as_tensor(power, dtype=torch.float32, device=device)
        return self._spectra[key]

    def sample(self, clean, rng):
        """Add white noise shaped by the square root of the power spectrum (periodic)."""
        shape = clean.shape[-2:]
        white = torch.fft.rfft2(_randn(clean, rng))
        amplitude = self.spectrum(shape, clean.device).sqrt()
        return clean + torch.fft.irfft2(white * amplitude, s=shape)

    def normalised(self, mean, std, absolute=False):
        """Return the model with the kernel divided by ``std**2``."""
        return CorrelatedNoise(self.kernel / std**2, self.iterations)

    def apply_inverse(self, v: torch.Tensor) -> torch.Tensor:
        """``Sigma^-1 v`` for a ``(..., H, W)`` tensor."""
        power = self.spectrum(v.shape[-2:], v.device)
        return torch.fft.irfft2(torch.fft.rfft2(v.float()) / power, s=v.shape[-2:])

    def apply(self, v: torch.Tensor) -> torch.Tensor:
        """``Sigma v`` for a ``(..., H, W)`` tensor."""
        power = self.spectrum(v.shape[-2:], v.device)
        return torch.fft.irfft2(torch.fft.rfft2(v.float()) * power, s=v.shape[-2:])

    def solve(self, y, z, theta, mu):
        """Data-consistency step (exact in Fourier space without a mask, CG with one)."""
        y, z = y.float(), z.float()
        power = self.spectrum(y.shape[-2:], y.device)

        def unmasked_inverse(v: torch.Tensor) -> torch.Tensor:
            return torch.fft.irfft2(torch.fft.rfft2(v) / (1 / power + mu), s=v.shape[-2:])

        if theta is None:  # exact, in Fourier space
            rhs = torch.fft.rfft2(y) / power + mu * torch.fft.rfft2(z)
            return torch.fft.irfft2(rhs / (1 / power + mu), s=y.shape[-2:])
        mask = theta.float()

        def operator(v: torch.Tensor) -> torch.Tensor:
            return mask * self.apply_inverse(mask * v) + mu * v

        # the unmasked system preconditions: Theta holds most pixels
        rhs = mask * self.apply_inverse(mask * y) + mu * z
        return conjugate_gradient(operator, rhs, z, self.iterations, unmasked_inverse)

    def scaled(self, factor):
        """Return the model with the kernel times ``factor``."""
        return CorrelatedNoise(self.kernel * factor, self.iterations)

    @classmethod
    def card_fields(cls, config):
        """Return ``kernel`` and ``cg_iterations`` (and ``sigma`` when the config has it)."""
        own = {"kernel": config.noise_kernel, "cg_iterations": config.cg_iterations}
        return own | super().card_fields(config)

    @classmethod
    def parameter_text(cls, config):
        """Return e.g. "kernel variance 0.01 (3x3)" once the kernel is known."""
        if config.noise_kernel is None:
            return super().parameter_text(config)
        kernel = np.asarray(config.noise_kernel)
        variance = kernel[kernel.shape[0] // 2, kernel.shape[1] // 2]
        return f"kernel variance {variance:.3g} ({kernel.shape[0]}x{kernel.shape[1]})"

    def config_fields(self):
        """Return ``noise_model``, ``noise_kernel`` and ``cg_iterations``."""
        return {
            "noise_model": self.name,
            "noise_kernel": self.kernel.tolist(),
            "cg_iterations": self.iterations,
        }

    def describe(self):
        """Describe it, e.g. "correlated noise, about 3x3"."""
        return f"correlated noise, about {support_text(self.kernel)}"


class PerImageNoise(NoiseModel):
    """Noise estimated from each image when it is denoised (``"auto"``, the built-in prior).

    Not in :data:`REGISTRY` and never instantiated: each image gets its own registered model.
    The class answers the same questions as the registered ones (see :func:`noise_class`).
    """

    name: ClassVar[str] = AUTO
    label: ClassVar[str] = NOISE_NAMES[AUTO]
    estimated_per_image: ClassVar[bool] = True


def noise_class(name: str) -> type[NoiseModel]:
    """Return the class of a config's ``noise_model``, ``"auto"`` included.

    Parameters
    ----------
    name : str
        A registered name or ``"auto"``.

    Returns
    -------
    type of NoiseModel
        Its capabilities (``white``, ``supports_3d``, ...) answer what the name allows.

    Raises
    ------
    InputError
        ``name`` is not a noise model.

    Examples
    --------
    >>> noise_class("correlated").supports_3d
    False
    """
    if name == AUTO:
        return PerImageNoise
    if name not in REGISTRY:
        raise InputError(f"Unknown noise model {name!r}.")
    return REGISTRY[name]


def support_text(kernel: np.ndarray, threshold: float = 0.1) -> str:
    """Return the size of the kernel's strongly correlated part, e.g. "3x3" or "1x5"."""
    kernel = np.asarray(kernel)
    strong = np.argwhere(np.abs(kernel) > threshold * kernel.max())
    centre = np.array(kernel.shape) // 2
    reach = np.abs(strong - centre).max(axis=0)
    return f"{2 * reach[0] + 1}x{2 * reach[1] + 1}"


def from_config(config) -> NoiseModel:
    """Return the noise model a config describes, in intensity units.

    Parameters
    ----------
    config : Noise2InpaintConfig
        Reads ``noise_model`` and that model's fields.

    Returns
    -------
    NoiseModel
    """
    name = config.noise_model
    if name == PoissonGaussianNoise.name and config.noise_gain is not None:
        return PoissonGaussianNoise(config.noise_gain, config.noise_offset)
    if name == CorrelatedNoise.name and config.noise_kernel is not None:
        return CorrelatedNoise(np.asarray(config.noise_kernel), config.cg_iterations)
    if name == GaussianNoise.name:
        return GaussianNoise(config.noise_sigma)
    raise InputError(f"The {REGISTRY[name].label} noise model needs its parameters.")


def build_noise_model(config, mean: float, std: float) -> NoiseModel:
    """Return the noise model of ``config`` in units of data normalised by ``mean``, ``std``.

    A model whose noise is estimated from each image (``"auto"``) gets white Gaussian noise
    of unit weight here; every call of its network passes the image's own model.
    """
    if config.noise_model == AUTO:
        return GaussianNoise()
    absolute = config.normalisation == "per_image"
    return from_config(config).normalised(mean, std, absolute=absolute)


def label_of(name: str) -> str:
    """Return the display name of a registered noise model."""
    return REGISTRY[name].label


def _randn(like: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    return torch.randn(like.shape, generator=rng, device=like.device, dtype=like.dtype)


def _short(value: float) -> str:
    return f"{value:.2g}" if abs(value) < 10 else f"{value:.0f}"
