"""Keep adapted weights only when they denoise better than the starting model's.

Adapting a model (the built-in prior) to the user's image ends with a choice between the
starting weights and the adapted ones. The training loss cannot make it: it measures masked
predictions, not the output the user gets, and the adapted weights have seen the noise of the
pixels it is measured on. The rule here estimates the mean squared error of the real output
(the whole-image inference, all pixels in the data consistency) with Stein's unbiased risk
estimate (:mod:`.risk`) on the validation band that training never saw, for both weights with
the same probes, and keeps the adapted weights only when their risk is lower by more than
two standard errors for any noise variance from half to 1.1 times the estimated one (the
estimate can be high on textured images). The estimate is only as good as the estimated
noise: an estimated error below zero (seen on line-correlated noise) shows that it is not,
and the starting weights are kept. Without a held-out band (tiny images, 3D) the starting
weights are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from napari_noise2inpaint.engine.risk import RiskComparison, compare_risks, network_denoiser
from napari_noise2inpaint.noise import GaussianNoise
from napari_noise2inpaint.noise.estimation import estimate_sigma
from napari_noise2inpaint.noise.models import MIN_SIGMA

MARGIN = 2.0  # standard errors the adapted risk must beat the start by
#: The estimated noise variance is trusted within these factors of itself, and the adapted
#: weights must win at both ends. On train400 images with white noise (sigma 15, 25, 50) the
#: estimate was 0.93 to 1.84 times the true variance (5th to 95th percentile; texture adds
#: to it at low noise); an overstated variance favours the smoother weights.
NOISE_SCALES = (0.5, 1.1)
#: an estimated error below zero: the estimated noise (probes) does not match the image's
UNFIT = "the estimated noise does not fit this image well enough to judge adapting"


@dataclass(frozen=True)
class KeepDecision:
    """Which weights a run keeps, and the estimated PSNR gain of the adapted ones."""

    adapted: bool
    gain_db: float | None
    reason: str

    def record(self) -> dict:
        """Return the decision as a JSON-able entry of the model's history."""
        return {
            "kept": "adapted" if self.adapted else "start",
            "estimated_gain_db": self.gain_db,
            "reason": self.reason,
        }


def decide(start: tuple, adapted: tuple, planes: list, output: str, seed: int) -> KeepDecision:
    """Compare a starting and an adapted network on held-out planes.

    Parameters
    ----------
    start, adapted : tuple
        ``(network, noises)``: a network in eval mode and the noise model its data
        consistency uses on each plane (normalised units; None: the network's own). The
        adapted network's noises also draw the probes; where their strength is unknown
        (unit-weight white noise) the probes are white noise of the plane's estimated sigma.
    planes : list of numpy.ndarray
        Normalised ``(H, W)`` validation planes that the adapted weights were not trained on.
    output : {"z", "x", "masks"}
        The model's test-time output ("masks" is judged on "x").
    seed : int
        Seed of the probes.

    Returns
    -------
    KeepDecision
    """
    if not planes or any(p.ndim != 2 for p in planes):
        return KeepDecision(False, None, "no held-out validation region to judge adapting")
    tensors = [torch.from_numpy(p).float() for p in planes]
    rng = torch.Generator().manual_seed(seed + 3)
    noises = adapted[1]
    comparison = compare_risks(
        network_denoiser(*start, output),
        network_denoiser(*adapted, output),
        tensors,
        [_probe_noise(noise, plane) for noise, plane in zip(noises, planes, strict=True)],
        rng,
    )
    return verdict(comparison)


def verdict(comparison: RiskComparison) -> KeepDecision:
    """Decide from the risks of the start (first) and the adapted weights (second).

    Parameters
    ----------
    comparison : RiskComparison
        From :func:`~napari_noise2inpaint.engine.risk.compare_risks`.

    Returns
    -------
    KeepDecision
        Adapted only when it wins by :data:`MARGIN` standard errors at both ends of
        :data:`NOISE_SCALES`; the gain reported is the smaller of the two.
    """
    if min(comparison.first, comparison.second) <= 0:  # a squared error cannot be negative
        return KeepDecision(False, None, UNFIT)
    ends = [comparison.at(scale) for scale in NOISE_SCALES]
    gain = round(min(end.gain_db for end in ends), 3)
    if all(end.second_is_better(MARGIN) for end in ends):
        return KeepDecision(True, gain, "adapting lowered the estimated error")
    return KeepDecision(False, gain, "adapting did not help this image")


def _probe_noise(noise, plane):
    """Return the plane's noise with a known strength (white, estimated sigma, if unknown)."""
    if noise.scale_known:
        return noise
    return GaussianNoise(max(estimate_sigma([plane]), MIN_SIGMA))
