"""Linear algebra of the data-consistency step: the closed form, conjugate gradients, spectra."""

from __future__ import annotations

import numpy as np
import torch

from napari_noise2inpaint.errors import InputError


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
    return weighted_consistency(y, z, theta, mu, 1.0)


def weighted_consistency(y, z, theta, mu, weight) -> torch.Tensor:
    """Minimiser of ``sum_j w_j P_theta (y_j - x_j)^2 + mu ||x - z||^2`` for per-pixel ``w``.

    Parameters
    ----------
    y, z : torch.Tensor
        Noisy measurements and regulariser output.
    theta : torch.Tensor or None
        Boolean mask of data-fidelity pixels; None means all pixels.
    mu : torch.Tensor
        Positive penalty.
    weight : float or torch.Tensor
        Inverse noise variance per pixel (broadcast against ``y``).

    Returns
    -------
    torch.Tensor
        ``(w y + mu z) / (w + mu)`` on Theta, ``z`` elsewhere.
    """
    blended = (weight * y + mu * z) / (weight + mu)
    return blended if theta is None else torch.where(theta, blended, z)


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


def power_spectrum(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Noise power on a periodic ``shape`` grid (rfft2 layout) for an autocorrelation kernel.

    Parameters
    ----------
    kernel : numpy.ndarray
        Odd-sized autocorrelation kernel (centre = variance).
    shape : tuple of int
        Grid size; the kernel wraps around when it is larger than the grid.

    Returns
    -------
    numpy.ndarray
        Real, strictly positive spectrum (floored at 1e-3 of its maximum).
    """
    grid = np.zeros(shape, dtype=np.float64)
    r0, r1 = (s // 2 for s in kernel.shape)
    rows = np.arange(-r0, r0 + 1)[:, None] % shape[0]
    cols = np.arange(-r1, r1 + 1)[None, :] % shape[1]
    np.add.at(grid, (rows, cols), kernel)
    power = np.fft.rfft2(grid).real
    return np.maximum(power, 1e-3 * power.max())
