import numpy as np
import pytest
import torch

from napari_noise2inpaint import Noise2InpaintConfig

# Tests train tiny networks: one intra-op thread avoids OpenMP's thread hand-offs, which cost
# more than the convolutions themselves on 2 cores (0.06 s vs 3.8 s for a 4-step training when
# another process shares the machine).
torch.set_num_threads(1)


@pytest.fixture
def rng():
    return torch.Generator().manual_seed(0)


@pytest.fixture
def tiny_config():
    """A config that trains in well under a second on a CPU."""
    return Noise2InpaintConfig(
        features=4, unrolls=2, steps=4, batch_size=2, patch_size=16, val_interval=2
    )


def synthetic_scene(size=96, sigma=25.0, seed=0):
    """Smooth shapes in 0..255 plus white Gaussian noise: (clean, noisy)."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    clean = 60 + 100 * ((xx - size * 0.35) ** 2 + (yy - size * 0.4) ** 2 < (size * 0.2) ** 2)
    clean = clean + 70 * (np.abs(xx - yy - size * 0.1) < size * 0.05) + 40 * np.sin(xx / 7.0)
    clean = clean.astype(np.float32)
    noisy = clean + np.random.default_rng(seed).normal(0, sigma, clean.shape).astype(np.float32)
    return clean, noisy


def psnr(estimate, clean, data_range=255.0):
    return 10 * np.log10(data_range**2 / np.mean((np.asarray(estimate) - clean) ** 2))
