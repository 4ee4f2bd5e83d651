"""What the built-in prior learns from, how it is checked, and the model that ships.

The prior is the product's N2I network (K=2 unrolls of a 16-feature U-Net with data
consistency) trained supervised on clean images with synthetic noise drawn from the physics
(:mod:`.physics`), by the engine's own training loop with a :class:`.source.SyntheticNoiseSource`.
Evaluation data (bsd68, set12, the microscopy pairs, W2S, the sample's seeds below 10000 and
the validation scenes below) is never read.
"""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

import numpy as np
import torch

from napari_noise2inpaint.config import Noise2InpaintConfig
from napari_noise2inpaint.engine.network import Denoiser
from napari_noise2inpaint.model import TrainedModel, uses_bfloat16
from napari_noise2inpaint.noise import (
    CorrelatedNoise,
    GaussianNoise,
    NoiseModel,
    PoissonGaussianNoise,
)
from napari_noise2inpaint.noise.estimation import autocorrelation_of_filter
from napari_noise2inpaint.prior.physics import gaussian_filter
from napari_noise2inpaint.prior.scenes import confocal_scene, unit_range, widefield_scene

PRIOR_CONFIG = Noise2InpaintConfig(
    unrolls=2,
    features=16,
    batch_size=16,
    patch_size=64,
    steps=8000,
    keep_weights="last",
    val_interval=250,
    seed=0,
    precision="auto",
)
SYNTHETIC_SCENES = 200
CONFOCAL_SEEDS = 10_000  # the sample and the benchmarks use seeds below this
WIDEFIELD_SEEDS = 20_000
VALIDATION_SEEDS = 30_000


def load_clean_images(data_dir: str | Path) -> tuple[list[np.ndarray], list[str]]:
    """Read the clean training images: train400, one nuclei image, synthetic scenes.

    Returns
    -------
    tuple
        The float32 images in [0, 1] and a list of one-line source descriptions.
    """
    import tifffile
    from PIL import Image

    root = Path(data_dir)
    train400 = sorted((root / "train400").glob("*.png"))
    images = [np.asarray(Image.open(p), dtype=np.float32) / 255 for p in train400]
    nuclei = tifffile.imread(root / "microscopy" / "dsb2018_stardist" / "img2d.tif")
    images.append(unit_range(nuclei.astype(np.float32)))
    shape = (256, 256)
    images += [confocal_scene(shape, CONFOCAL_SEEDS + i) for i in range(SYNTHETIC_SCENES)]
    images += [widefield_scene(shape, WIDEFIELD_SEEDS + i) for i in range(SYNTHETIC_SCENES)]
    sources = [
        f"train400: {len(train400)} BSD crops 180x180 (Berkeley Segmentation Dataset via "
        "cszn/DnCNN; non-commercial research and education)",
        "dsb2018_stardist/img2d.tif: 1 nuclei image 512x512 (Kaggle DSB 2018 via stardist, BSD-3)",
        f"confocal-like synthetic scenes: {SYNTHETIC_SCENES} of 256x256 (seeds {CONFOCAL_SEEDS}+)",
        f"widefield-like synthetic scenes (PSF blur, out-of-focus haze, uneven background): "
        f"{SYNTHETIC_SCENES} of 256x256 (seeds {WIDEFIELD_SEEDS}+)",
    ]
    return images, sources


def validation_set() -> list[tuple[str, np.ndarray, np.ndarray, NoiseModel]]:
    """Return twelve held-out scenes with fixed noise: ``(kind, clean, noisy, noise model)``.

    Confocal-like and widefield-like scenes (seeds never trained on), each with one of white
    Gaussian (sigma 25/255), Poisson-Gaussian (20 peak photons, read noise 2), correlated 3x3
    (Gaussian blur 0.8 px, std 20/255) and correlated 1x5 (a line along X, std 20/255).
    """
    noises = {
        "white": GaussianNoise(25 / 255),
        "poisson_gaussian": PoissonGaussianNoise(1 / 20, (2 / 20) ** 2, relative=False),
        "correlated_3x3": CorrelatedNoise(
            autocorrelation_of_filter(_unit(gaussian_filter(0.8, 0.8)), 20 / 255)
        ),
        "correlated_1x5": CorrelatedNoise(
            autocorrelation_of_filter(_unit(np.ones((1, 5))), 20 / 255)
        ),
    }
    cases = []
    for index in range(12):
        scene = confocal_scene if index % 2 == 0 else widefield_scene
        clean = torch.as_tensor(scene((192, 192), VALIDATION_SEEDS + index))
        kind = list(noises)[index % 4]
        rng = torch.Generator().manual_seed(VALIDATION_SEEDS + index)
        noisy = noises[kind].sample(clean, rng)
        cases.append((kind, clean.numpy(), noisy.numpy(), noises[kind]))
    return cases


def _unit(kernel: np.ndarray) -> np.ndarray:
    return kernel / np.sqrt((kernel**2).sum())


@torch.no_grad()
def validation_psnr(model: TrainedModel) -> dict[str, float]:
    """Return the mean PSNR (range 1) of the prior's output on the validation set, by kind.

    Each image is normalised by its own mean and std and denoised with its true noise model
    in the data consistency (the estimate is checked separately, by the benchmarks).
    """
    network = model.network.eval()
    scores: dict[str, list[float]] = {}
    for kind, clean, noisy, noise in validation_set():
        mean, std = float(noisy.mean()), float(noisy.std())
        y = torch.as_tensor((noisy - mean) / std)[None, None]
        _, z = network(y, noise=noise.normalised(mean, std, absolute=True))
        result = z[0, 0].numpy() * std + mean
        mse = float(np.mean((result - clean) ** 2))
        scores.setdefault(kind, []).append(10 * np.log10(1 / mse))
    means = {kind: round(float(np.mean(v)), 3) for kind, v in scores.items()}
    means["mean"] = round(float(np.mean(list(means.values()))), 3)
    return means


def prior_model(model: TrainedModel, prov: dict) -> TrainedModel:
    """Build the shippable model: the trained network, per-image normalisation, its provenance."""
    config = model.config.replace(
        time_limit=None,
        steps=max(1, prov["steps"]),
        noise_model="auto",
        normalisation="per_image",
    )
    network = Denoiser(config)
    network.load_state_dict(model.network.state_dict())
    network.eval()
    history = {
        "steps": prov["steps"],
        "seconds": prov["seconds"],
        "start": "scratch",
        "prior": prov,
    }
    return TrainedModel(network, config, [0.0], [1.0], history, {"shape": [], "dtype": "float32"})


def provenance(state, sources: list[str], threads: int) -> dict:
    """Describe the data, noise, schedule, curve, arithmetic, machine and commit."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    bf16 = uses_bfloat16(torch.device("cpu"), PRIOR_CONFIG.precision)
    return {
        "training": "supervised N2I through the engine's training loop (iter_train with the "
        "synthetic-noise source): clean images + noise drawn from the physics, each sample's "
        "noise model in the data consistency (absolute inverse variances)",
        "data": list(sources),
        "evaluation_data_excluded": "bsd68, set12, microscopy_pairs (FMD, W2S), sample seeds "
        f"< {CONFOCAL_SEEDS}, validation scenes {VALIDATION_SEEDS}+",
        "noise": "white Gaussian sigma 2-55 (8-bit), Poisson-Gaussian 2-300 peak photons + "
        "read noise 0-3, correlated std 5-50 from Gaussian blurs 0.5-2 px, 1x3-1x7 lines "
        "(Y or X) and anisotropic Gaussians; variance jitter exp(N(0, 0.15)) in the data "
        "consistency; random gamma 0.6-1.6; per-region normalisation; every other batch "
        "hides 1/20 of the pixels (N2I's training input)",
        "architecture": f"N2I K={PRIOR_CONFIG.unrolls}, {PRIOR_CONFIG.features} features, "
        f"depth {PRIOR_CONFIG.depth}, shared U-Net",
        "init": state.record.get("init", "random"),
        "steps": state.step,
        "schedule": state.record.get("schedule"),
        "validation_curve": state.record.get("curve", []),
        "batch": f"{PRIOR_CONFIG.batch_size} x {PRIOR_CONFIG.patch_size}^2",
        "seconds": round(state.seconds),
        "arithmetic": "bfloat16 autocast" if bf16 else "float32",
        "machine": f"{platform.processor() or platform.machine()}, {threads} thread(s)",
        "commit": commit,
        "torch": torch.__version__,
    }


def card(prov: dict) -> str:
    """Write the model card in markdown."""
    lines = [
        "# Built-in Noise2Inpaint prior (v2: physics-aware)",
        "",
        'Loaded with `load_model("builtin")`; used by *Denoise now* and as the default start',
        "of training. Trained by `scripts/train_prior.py`.",
        "",
    ]
    for key, value in prov.items():
        if isinstance(value, list):
            lines.append(f"- **{key}**:")
            lines.extend(f"  - {item}" for item in value)
        else:
            lines.append(f"- **{key}**: {value}")
    lines += [
        "",
        "Licences: the BSD images are offered for non-commercial research and "
        "education; weights derived from them carry that caveat.",
    ]
    return "\n".join(lines) + "\n"
