"""Noise models of the data-fidelity term: white Gaussian, Poisson-Gaussian, correlated Gaussian.

Each model solves the data-consistency step (eq. 10a with its own fidelity term). Models work
in normalised units; :func:`build_noise_model` converts the user's parameters (intensity units)
with the training data's mean and standard deviation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .errors import InputError

VARIANCE_FLOOR = 0.1


def data_consistency(
    y: torch.Tensor, z: torch.Tensor, theta: torch.Tensor | None, mu: torch.Tensor
) -> torch.Tensor:
    """Closed-form minimiser of ``||P_theta (y - x)||^2 + mu ||x - z||^2`` (eq. 11-12).

    Parameters
    ----------
    y : torch.Tensor
        Noisy measurements.
    z : torch.Tensor
        Regulariser output.
    theta : torch.Tensor or None
        Boolean mask of data-fidelity pixels; None means all pixels.
    mu : torch.Tensor
        Positive penalty (scalar tensor).

    Returns
    -------
    torch.Tensor
        ``(y + mu z) / (1 + mu)`` on Theta, ``z`` elsewhere.
    """
    blended = (y + mu * z) / (1 + mu)
    if theta is None:
        return blended
    return torch.where(theta, blended, z)


class GaussianNoise:
    """White Gaussian noise: ``x = (y + mu z) / (1 + mu)`` on Theta (eq. 12)."""

    def solve(self, y, z, theta, mu):
        """Minimise ``||P_theta (y - x)||^2 + mu ||x - z||^2`` in closed form."""
        return data_consistency(y, z, theta, mu)


@dataclass
class PoissonGaussianNoise:
    """Signal-dependent noise ``var(y_j) = gain * x_j + offset`` (normalised units).

    The fidelity term is ``sum_j w_j (y_j - x_j)^2`` with ``w_j`` proportional to ``1 / var_j``
    evaluated at the current estimate z (the regulariser output), which makes the step a
    weighted average. Weights are relative to the variance at the data's mean intensity
    (normalised 0, where ``w = 1`` as in the white model, so mu keeps its meaning), and the
    variance is floored at a tenth of that value: fitted offsets are often negative (clipped or
    quantised dark pixels), and without a floor dark pixels would get unbounded weights.

    The loss on Lambda stays unweighted: weighting it by the same inverse variances was measured
    to break training on the FMD confocal pair (23.7 dB instead of 31.2 dB after 120 steps,
    noisy 22.8 dB), because the dark pixels, with the smallest variances, took over the loss.
    """

    gain: float
    offset: float

    @property
    def reference_variance(self) -> float:
        """Variance at the data's mean intensity."""
        return max(self.offset, 1e-6)

    def weights(self, estimate: torch.Tensor) -> torch.Tensor:
        """Relative inverse variance at ``estimate``: 1 at the mean intensity."""
        reference = self.reference_variance
        variance = self.gain * estimate.detach() + self.offset
        return reference / variance.clamp_min(VARIANCE_FLOOR * reference)

    def solve(self, y, z, theta, mu):
        """Return ``x_j = (w_j y_j + mu z_j) / (w_j + mu)`` on Theta, ``z_j`` elsewhere."""
        w = self.weights(z)
        blended = (w * y + mu * z) / (w + mu)
        return blended if theta is None else torch.where(theta, blended, z)


class CorrelatedNoise:
    """Stationary Gaussian noise with autocorrelation ``kernel`` (normalised units).

    ``Sigma^-1`` is applied in Fourier space (periodic boundaries). With a mask the x-step
    ``(P Sigma^-1 P + mu I) x = P Sigma^-1 P y + mu z`` is solved by a fixed number of conjugate
    gradient iterations, which is differentiable; without a mask it is solved exactly.

    Parameters
    ----------
    kernel : numpy.ndarray
        Odd-sized autocorrelation kernel; the centre is the noise variance.
    iterations : int
        Conjugate gradient iterations per data-consistency step.
    """

    def __init__(self, kernel: np.ndarray, iterations: int = 10):
        self.kernel = check_kernel(kernel)
        self.iterations = iterations
        self._spectra: dict = {}

    def spectrum(self, shape, device) -> torch.Tensor:
        """Noise power spectrum on an ``shape`` grid (rfft2 layout), strictly positive."""
        key = (tuple(shape), str(device))
        if key not in self._spectra:
            grid = np.zeros(shape, dtype=np.float64)
            r0, r1 = (s // 2 for s in self.kernel.shape)
            for dy in range(-r0, r0 + 1):
                for dx in range(-r1, r1 + 1):
                    grid[dy % shape[0], dx % shape[1]] += self.kernel[dy + r0, dx + r1]
            power = np.fft.rfft2(grid).real
            power = np.maximum(power, 1e-3 * power.max())
            self._spectra[key] = torch.as_tensor(power, dtype=torch.float32, device=device)
        return self._spectra[key]

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
        if theta is None:
            power = self.spectrum(y.shape[-2:], y.device)
            rhs = torch.fft.rfft2(y) / power + mu * torch.fft.rfft2(z)
            return torch.fft.irfft2(rhs / (1 / power + mu), s=y.shape[-2:])
        mask = theta.float()

        def operator(v: torch.Tensor) -> torch.Tensor:
            return mask * self.apply_inverse(mask * v) + mu * v

        def precondition(v: torch.Tensor) -> torch.Tensor:
            # the unmasked system (Sigma^-1 + mu I), diagonal in Fourier space: Theta holds
            # most pixels, so this is close to the masked operator
            power = self.spectrum(v.shape[-2:], v.device)
            spectrum = torch.fft.rfft2(v) / (1 / power + mu)
            return torch.fft.irfft2(spectrum, s=v.shape[-2:])

        rhs = mask * self.apply_inverse(mask * y) + mu * z
        return conjugate_gradient(operator, rhs, z, self.iterations, precondition)


def conjugate_gradient(operator, rhs, start, iterations: int, precondition=None) -> torch.Tensor:
    """Solve ``operator(x) = rhs`` per batch item with fixed (preconditioned) CG iterations.

    Parameters
    ----------
    operator : callable
        Symmetric positive definite linear map on ``(B, ...)`` tensors.
    rhs, start : torch.Tensor
        Right-hand side and initial guess.
    iterations : int
        Number of iterations (fixed, so the step is differentiable and has a fixed cost).
    precondition : callable, optional
        Approximate inverse of ``operator`` (symmetric positive definite).

    Returns
    -------
    torch.Tensor
        The approximate solution.
    """
    precondition = precondition or (lambda v: v)
    dims = tuple(range(1, rhs.ndim))
    x = start
    residual = rhs - operator(x)
    preconditioned = precondition(residual)
    direction = preconditioned
    rz_old = (residual * preconditioned).sum(dims, keepdim=True)
    for _ in range(iterations):
        a_dir = operator(direction)
        alpha = rz_old / (direction * a_dir).sum(dims, keepdim=True).clamp_min(1e-20)
        x = x + alpha * direction
        residual = residual - alpha * a_dir
        preconditioned = precondition(residual)
        rz_new = (residual * preconditioned).sum(dims, keepdim=True)
        direction = preconditioned + (rz_new / rz_old.clamp_min(1e-30)) * direction
        rz_old = rz_new
    return x


def check_kernel(kernel) -> np.ndarray:
    """Validate an autocorrelation kernel: 2D, odd sides, finite, no value above the centre."""
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2 or kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
        raise InputError(f"The noise kernel must be 2D with odd sides, got shape {kernel.shape}.")
    if not np.isfinite(kernel).all():
        raise InputError("The noise kernel has NaN or Inf values.")
    centre = kernel[kernel.shape[0] // 2, kernel.shape[1] // 2]
    if centre <= 0 or np.abs(kernel).sum() == 0:
        raise InputError("The noise kernel has zero power: its centre (the variance) must be > 0.")
    if np.abs(kernel).max() > centre:
        raise InputError(
            "The noise kernel is no autocorrelation: a value exceeds its centre (the variance)."
        )
    return kernel


def build_noise_model(config, mean: float, std: float):
    """Return the noise model of ``config`` in units of data normalised by ``mean``, ``std``."""
    if config.noise_model == "gaussian":
        return GaussianNoise()
    if config.noise_model == "poisson_gaussian":
        gain, offset = config.noise_gain, config.noise_offset
        return PoissonGaussianNoise(gain / std, (gain * mean + offset) / std**2)
    return CorrelatedNoise(np.asarray(config.noise_kernel) / std**2, config.cg_iterations)
