"""How good is a denoised image, without the clean image: Stein's unbiased risk estimate.

For noisy pixels ``y = x + n`` with Gaussian noise of covariance ``C`` and any (weakly
differentiable) denoiser ``f``, the mean squared error ``|f(y) - x|^2 / N`` has the unbiased
estimate

    ``|f(y) - y|^2 / N - tr(C) / N + 2 tr(C J_f(y)) / N``

(Stein 1981; Monte-Carlo divergence: Ramani, Blu and Unser 2008). The last term is estimated
with probes ``b ~ N(0, C)``: ``b . (f(y + eps b) - f(y)) / eps``; the same probes serve every
denoiser compared (common random numbers), and ``tr(C)`` comes from the probes as well. Each
noise model draws its own probes (:meth:`~napari_noise2inpaint.noise.NoiseModel.perturbation`;
Poisson-Gaussian noise is treated as Gaussian with its signal-dependent variance).

The estimate is only unbiased for pixels the denoiser's weights were not fitted on: adaptation
compares on the held-out validation band (see :mod:`.keep_rule`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from napari_noise2inpaint.engine.unet import fold_batch_norms, reflect_pad

PROBES = 2
EPSILON = 1e-2  # probe step, relative to the noise (float32 round-off vs curvature)
BLOCK = 16  # pixels per side of the blocks whose spread gives the standard error


@dataclass(frozen=True)
class RiskComparison:
    """Estimated mean squared errors of two denoisers on the same pixels (normalised units).

    SURE is linear in the noise variance: each risk is a fidelity term plus ``scale`` times
    (divergence minus variance) when the true variance is ``scale`` times the one the probes
    were drawn with. :meth:`at` gives the risks at any such scale, so that a decision can be
    checked across the range of variances the estimate leaves open.

    Attributes
    ----------
    fidelity : tuple of float
        Mean ``|f(y) - y|^2`` of each denoiser.
    divergence : tuple of float
        Mean ``2 b . (f(y + eps b) - f(y)) / eps`` of each denoiser (probes ``b``).
    noise_variance : float
        Mean probe variance.
    blocks : numpy.ndarray
        ``(n, 2)`` block means of the fidelity and the divergence differences (first minus
        second), whose spread gives the standard error.
    """

    fidelity: tuple[float, float]
    divergence: tuple[float, float]
    noise_variance: float
    blocks: np.ndarray

    def at(self, scale: float = 1.0) -> RiskPair:
        """Return both risks when the noise variance is ``scale`` times the probes'."""
        first, second = (
            f + scale * (d - self.noise_variance)
            for f, d in zip(self.fidelity, self.divergence, strict=True)
        )
        differences = self.blocks[:, 0] + scale * self.blocks[:, 1]
        count = len(differences)
        error = differences.std(ddof=1) / math.sqrt(count) if count > 1 else 0.0
        return RiskPair(first, second, scale * self.noise_variance, float(error))

    @property
    def first(self) -> float:
        """Risk of the first denoiser at the probes' variance."""
        return self.at().first

    @property
    def second(self) -> float:
        """Risk of the second denoiser at the probes' variance."""
        return self.at().second

    @property
    def standard_error(self) -> float:
        """Standard error of the risk difference at the probes' variance."""
        return self.at().standard_error


@dataclass(frozen=True)
class RiskPair:
    """The two risks at one noise variance, and the standard error of their difference."""

    first: float
    second: float
    noise_variance: float
    standard_error: float

    @property
    def gain_db(self) -> float:
        """PSNR gain of ``second`` over ``first`` (positive: ``second`` is better)."""
        floor = 1e-3 * self.noise_variance
        return 10 * math.log10(max(self.first, floor) / max(self.second, floor))

    def second_is_better(self, margin: float = 2.0) -> bool:
        """Tell whether ``second``'s risk is lower by more than ``margin`` standard errors."""
        return self.first - self.second > margin * self.standard_error


def compare_risks(
    first: Callable[[torch.Tensor, int], torch.Tensor],
    second: Callable[[torch.Tensor, int], torch.Tensor],
    planes: list[torch.Tensor],
    noises: list,
    rng: torch.Generator,
) -> RiskComparison:
    """Estimate the mean squared errors of two denoisers of the same noisy planes.

    Parameters
    ----------
    first, second : callable
        Map a ``(H, W)`` noisy plane and its index in ``planes`` to the denoised plane.
    planes : list of torch.Tensor
        Noisy ``(H, W)`` planes.
    noises : list of NoiseModel
        The noise of each plane, in the planes' units, with a known strength: it draws the
        probes.
    rng : torch.Generator
        Draws the probes.

    Returns
    -------
    RiskComparison
        Both risks' terms, the noise variance, and the block differences.
    """
    sums, blocks = np.zeros(5), []
    for index, (plane, noise) in enumerate(zip(planes, noises, strict=True)):
        denoisers = [lambda y, f=f, i=index: f(y, i) for f in (first, second)]
        outputs = [denoiser(plane) for denoiser in denoisers]
        probes = [noise.perturbation(outputs[0], rng) for _ in range(PROBES)]
        terms = [
            _risk_terms(denoiser, plane, out, probes)
            for denoiser, out in zip(denoisers, outputs, strict=True)
        ]
        variance = torch.stack([p.square() for p in probes]).mean(0)
        sums += [float(t.sum()) for pair in terms for t in pair] + [float(variance.sum())]
        fidelity, divergence = (terms[0][k] - terms[1][k] for k in range(2))
        blocks.append(np.stack([_block_means(fidelity), _block_means(divergence)], axis=1))
    means = sums / sum(p.numel() for p in planes)
    return RiskComparison(
        (means[0], means[2]), (means[1], means[3]), means[4], np.concatenate(blocks)
    )


def _risk_terms(denoiser, plane, out, probes: list[torch.Tensor]) -> tuple:
    """Per-pixel ``(f(y) - y)^2`` and ``2 b (f(y + eps b) - f(y)) / eps`` (probe mean).

    ``out`` is ``f(y)``, computed once by the caller.
    """
    divergence = sum(
        probe * (denoiser(plane + EPSILON * probe) - out) / EPSILON for probe in probes
    ) / len(probes)
    return (out - plane).square(), 2 * divergence


def _block_means(values: torch.Tensor) -> np.ndarray:
    """Means of ``BLOCK x BLOCK`` blocks (the whole plane when it is smaller)."""
    height, width = values.shape[-2:]
    if height < BLOCK or width < BLOCK:
        return np.array([float(values.mean())])
    rows, cols = height // BLOCK, width // BLOCK
    cropped = values[: rows * BLOCK, : cols * BLOCK]
    return cropped.reshape(rows, BLOCK, cols, BLOCK).mean(dim=(1, 3)).flatten().numpy()


def network_denoiser(
    network, noises: list, output: str
) -> Callable[[torch.Tensor, int], torch.Tensor]:
    """Wrap a network as a denoiser of ``(H, W)`` planes for :func:`compare_risks`.

    Parameters
    ----------
    network : Denoiser
        Run as it denoises (an eval-mode copy with folded batch norms; the network itself is
        left as it is), in float32 (probe differences are small) on whole planes, all pixels
        in the data consistency: the output the user gets.
    noises : list
        The data-consistency noise of the i-th plane (None: the network's own).
    output : {"z", "x", "masks"}
        The model's test-time output ("masks" is judged on "x").
    """
    multiple = 2 ** network.regularizers[0].depth
    network = fold_batch_norms(network)

    @torch.no_grad()
    def run(plane: torch.Tensor, index: int) -> torch.Tensor:
        height, width = plane.shape
        padded = reflect_pad(plane[None, None], [-height % multiple, -width % multiple])
        x, z = network(padded, noise=noises[index])
        return (z if output == "z" else x)[0, 0, :height, :width].float()

    return run
