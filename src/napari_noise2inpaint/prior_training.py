"""Training the built-in prior: supervised, blind, on clean images with synthetic noise.

The prior is the product's N2I network (K unrolls of a U-Net plus data consistency) trained to
map noisy images to clean ones over a wide range of noise: white Gaussian noise with sigma
uniform in ``SIGMA_RANGE`` (8-bit scale) and Poisson-Gaussian camera noise with peak photon
counts log-uniform in ``PHOTON_RANGE``. It is *blind*: it sees no noise level. Every image
(region) is normalised by its own noisy mean and standard deviation, as
:func:`napari_noise2inpaint.denoise` does for a model whose history says
``normalisation = "per_image"``. Half of the steps hide a random 1/20 of the pixels from the
input and from the data fidelity, as N2I training does, so that self-supervised adaptation
starts from a network that already knows that input.

Training is deterministic for a seed and resumable: the batch of step ``n`` depends only on
``(seed, n)``, and :mod:`.prior_state` keeps the weights and Adam's moments in a safetensors
file (no pickle).
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ._sample_data import noisy_fluorescence
from .config import Noise2InpaintConfig
from .events import TrainProgress
from .masks import neighbour_values, random_lambda
from .model import TrainedModel, autocast
from .network import Denoiser

PRIOR_CONFIG = Noise2InpaintConfig(
    unrolls=2, features=16, batch_size=16, patch_size=64, steps=1, seed=0, precision="auto"
)
SIGMA_RANGE = (2.0, 55.0)
PHOTON_RANGE = (2.0, 300.0)
READ_NOISE_RANGE = (0.0, 3.0)
HOLE_FRACTION = 0.05
REGION = 128
SYNTHETIC_SCENES = 200
SYNTHETIC_SEED_OFFSET = 10_000  # evaluation scenes use seeds below this


@dataclass
class PriorRecipe:
    """What the prior learns from and for how long.

    Parameters
    ----------
    total_steps : int
        Length of the cosine learning-rate schedule (and of the whole training).
    learning_rate : float
        Adam's learning rate before the cosine decay.
    seed : int
        Seed of the weights, the synthetic scenes and every batch.
    sources : list of str
        Where the clean images came from (recorded in the model card).
    """

    total_steps: int = 60_000
    learning_rate: float = 1e-3
    seed: int = 0
    sources: tuple[str, ...] = ()


def load_clean_images(data_dir: str | Path) -> tuple[list[np.ndarray], list[str]]:
    """Read the clean training images from ``data_dir`` (the shared data folder).

    Uses ``train400/`` (400 BSD crops) and ``microscopy/dsb2018_stardist/img2d.tif`` (a
    low-noise nuclei image), scaled to [0, 1], plus ``SYNTHETIC_SCENES`` generated
    fluorescence-like scenes. Evaluation data (bsd68, set12, FMD pairs) is never read.

    Returns
    -------
    tuple
        The float32 images and a list of one-line source descriptions.
    """
    import tifffile
    from PIL import Image

    root = Path(data_dir)
    train400 = sorted((root / "train400").glob("*.png"))
    images = [np.asarray(Image.open(p), dtype=np.float32) / 255 for p in train400]
    nuclei = tifffile.imread(root / "microscopy" / "dsb2018_stardist" / "img2d.tif")
    images.append(_unit_range(nuclei.astype(np.float32)))
    for index in range(SYNTHETIC_SCENES):
        _, clean = noisy_fluorescence(
            (256, 256), seed=SYNTHETIC_SEED_OFFSET + index, return_clean=True
        )
        images.append(_unit_range(clean))
    sources = [
        f"train400: {len(train400)} BSD crops 180x180 (Berkeley Segmentation Dataset via "
        "cszn/DnCNN; non-commercial research and education)",
        "dsb2018_stardist/img2d.tif: 1 nuclei image 512x512 (Kaggle DSB 2018 via stardist, BSD-3)",
        f"synthetic fluorescence scenes: {SYNTHETIC_SCENES} of 256x256 (this package's "
        f"generator, seeds {SYNTHETIC_SEED_OFFSET}+; evaluation scenes use lower seeds)",
    ]
    return images, sources


def _unit_range(image: np.ndarray) -> np.ndarray:
    low, high = np.percentile(image, (0.1, 99.9))
    return np.clip((image - low) / max(high - low, 1e-6), 0, 1).astype(np.float32)


def make_batch(
    images: list[np.ndarray], batch_size: int, patch: int, rng: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy and clean ``(B, 1, patch, patch)`` patches, each normalised by its noisy region.

    A region of ``REGION`` pixels (or the whole image) is cropped, flipped and rotated, made
    noisy, normalised by its own noisy mean and std (the clean one with the same numbers),
    and a patch is cut from it.
    """
    noisy, clean = [], []
    for _ in range(batch_size):
        source = images[int(torch.randint(len(images), (1,), generator=rng))]
        region = torch.from_numpy(_crop(source, REGION, rng))
        region = torch.rot90(region, int(torch.randint(4, (1,), generator=rng)))
        if torch.rand((), generator=rng) < 0.5:
            region = region.flip(-1)
        gamma = float(torch.empty(()).uniform_(0.6, 1.6, generator=rng))
        region = region.clamp_min(0) ** gamma
        dirty = add_blind_noise(region, rng)
        mean, std = dirty.mean(), dirty.std().clamp_min(1e-6)
        top, left = (int(torch.randint(s - patch + 1, (1,), generator=rng)) for s in region.shape)
        window = (slice(top, top + patch), slice(left, left + patch))
        noisy.append((dirty[window] - mean) / std)
        clean.append((region[window] - mean) / std)
    return torch.stack(noisy)[:, None], torch.stack(clean)[:, None]


def _crop(image: np.ndarray, side: int, rng: torch.Generator) -> np.ndarray:
    height, width = image.shape
    sy, sx = min(side, height), min(side, width)
    top = int(torch.randint(height - sy + 1, (1,), generator=rng))
    left = int(torch.randint(width - sx + 1, (1,), generator=rng))
    return np.ascontiguousarray(image[top : top + sy, left : left + sx])


def add_blind_noise(clean: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Add white Gaussian or Poisson-Gaussian noise of a random level to a [0, 1] image."""
    if torch.rand((), generator=rng) < 0.5:
        sigma = float(torch.empty(()).uniform_(*SIGMA_RANGE, generator=rng)) / 255
        return clean + sigma * torch.randn(clean.shape, generator=rng)
    low, high = (math.log(v) for v in PHOTON_RANGE)
    photons = math.exp(float(torch.empty(()).uniform_(low, high, generator=rng)))
    read = float(torch.empty(()).uniform_(*READ_NOISE_RANGE, generator=rng))
    counts = torch.poisson(clean * photons, generator=rng)
    return (counts + read * torch.randn(clean.shape, generator=rng)) / photons


def iter_train_prior(
    images: list[np.ndarray],
    recipe: PriorRecipe,
    state: dict | None = None,
    time_limit: float | None = None,
    stage_steps: int | None = None,
) -> Generator[TrainProgress, None, dict]:
    """Train (or continue training) the prior, yielding progress every 50 steps.

    Parameters
    ----------
    images : list of numpy.ndarray
        Clean float images in [0, 1] (see :func:`load_clean_images`).
    recipe : PriorRecipe
        Schedule, seed and data sources.
    state : dict, optional
        A state from :func:`load_training_state` to continue from.
    time_limit : float, optional
        Seconds after which this stage ends (the state is returned to be saved).
    stage_steps : int, optional
        Steps after which this stage ends.

    Returns
    -------
    dict
        The training state: ``network``, ``optimizer``, ``step``, ``seconds``.
    """
    config = PRIOR_CONFIG.replace(seed=recipe.seed)
    network = Denoiser(config, torch.Generator().manual_seed(recipe.seed))
    optimizer = _optimizer(network, recipe, config)
    step, seconds = 0, 0.0
    if state is not None:
        network.load_state_dict(state["network"])
        optimizer.load_state_dict(state["optimizer"])
        step, seconds = state["step"], state["seconds"]
    device = torch.device("cpu")
    start = time.perf_counter()
    last = (
        recipe.total_steps if stage_steps is None else min(recipe.total_steps, step + stage_steps)
    )
    while step < last:
        if time_limit is not None and time.perf_counter() - start >= time_limit:
            break
        loss = _train_step(network, optimizer, images, recipe, config, step, device)
        step += 1
        if step % 50 == 0:
            elapsed = seconds + time.perf_counter() - start
            yield TrainProgress(
                step,
                recipe.total_steps,
                0.0,
                loss,
                None,
                float(network.mu.detach()),
                0.0,
                0.0,
                elapsed,
                None,
            )
    return {
        "network": network.state_dict(),
        "optimizer": optimizer.state_dict(),
        "step": step,
        "seconds": seconds + time.perf_counter() - start,
        "schedule": state.get("schedule") if state else [[0, recipe.total_steps]],
    }


def _optimizer(network: Denoiser, recipe: PriorRecipe, config: Noise2InpaintConfig):
    return torch.optim.Adam(
        [
            {"params": network.regularizers.parameters(), "lr_scale": 1.0},
            {"params": [network.mu_raw], "lr_scale": config.mu_lr_factor},
        ],
        lr=recipe.learning_rate,
    )


def _train_step(network, optimizer, images, recipe, config, step, device) -> float:
    rng = torch.Generator().manual_seed(recipe.seed * 1_000_003 + step)
    noisy, clean = make_batch(images, config.batch_size, config.patch_size, rng)
    fraction = step / recipe.total_steps
    factor = 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * fraction))
    for group in optimizer.param_groups:
        group["lr"] = recipe.learning_rate * factor * group["lr_scale"]
    theta, x0 = None, None
    if step % 2:
        holes = random_lambda(noisy.shape, HOLE_FRACTION, rng)
        theta, x0 = ~holes, torch.where(holes, neighbour_values(noisy, rng), noisy)
    network.train()
    with autocast(device, config.precision):
        _, z = network(noisy, theta, x0)
    loss = torch.mean((z.float() - clean) ** 2)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def prior_model(state: dict, recipe: PriorRecipe, provenance: dict) -> TrainedModel:
    """Build the shippable model: the network, per-image normalisation, its provenance."""
    config = PRIOR_CONFIG.replace(seed=recipe.seed, steps=max(1, state["step"]))
    network = Denoiser(config)
    network.load_state_dict(state["network"])
    network.eval()
    history = {
        "normalisation": "per_image",
        "steps": state["step"],
        "seconds": state["seconds"],
        "start": "scratch",
        "prior": provenance,
    }
    return TrainedModel(network, config, [0.0], [1.0], history, {"shape": [], "dtype": "float32"})
