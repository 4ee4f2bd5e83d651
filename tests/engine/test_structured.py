"""Structured blind spots: loss pixels hide their noise-correlated neighbours."""

import numpy as np
import torch

from napari_noise2inpaint.engine.structured import StructuredBlindSpot, blind_spot_for
from napari_noise2inpaint.noise import CorrelatedNoise, GaussianNoise

LINE = np.convolve(np.full(5, 0.2), np.full(5, 0.2))[None, :] * 625  # 1x5 box: lags -4..4


def test_dilation_covers_the_correlation_support():
    spot = StructuredBlindSpot(LINE)
    mask = torch.zeros(1, 1, 9, 20, dtype=torch.bool)
    mask[0, 0, 4, 10] = True
    grown = spot.dilate(mask)[0, 0]
    assert grown[4, 6:15].all() and grown.sum() == 9  # lags -4..4 on the same row only
    assert not grown[3].any() and not grown[5].any()


def test_fill_never_reads_a_correlated_neighbour(rng):
    spot = StructuredBlindSpot(LINE)
    h, w = 32, 40
    index = torch.arange(h * w, dtype=torch.float32).reshape(1, 1, h, w)
    source = spot.fill(index, rng)[0, 0].long()
    rows, cols = source // w, source % w
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    inner = (yy >= 8) & (yy < h - 8) & (xx >= 8) & (xx < w - 8)  # away from reflections
    same_row_near = (rows == yy) & ((cols - xx).abs() <= 4)
    assert not same_row_near[inner].any()
    assert ((rows - yy).abs() <= 2)[inner].all() and ((cols - xx).abs() <= 6)[inner].all()


def test_only_correlated_noise_gets_a_structured_blind_spot():
    assert blind_spot_for(GaussianNoise()) is None
    assert isinstance(blind_spot_for(CorrelatedNoise(LINE)), StructuredBlindSpot)
