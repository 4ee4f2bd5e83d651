"""Noise2Inpaint: self-supervised denoising by unrolled inpainting, for napari and scripts.

Examples
--------
>>> import numpy as np
>>> from napari_noise2inpaint import Noise2InpaintConfig, train, denoise
>>> noisy = np.random.default_rng(0).normal(100, 10, (64, 64)).astype("float32")
>>> model = train(noisy, Noise2InpaintConfig(steps=2, features=4, unrolls=1, batch_size=2))
>>> denoise(model, noisy).shape
(64, 64)
"""

from ._version import __version__
from .batch import BatchItem, iter_batch
from .checkpoint import read_metadata, save_model
from .chunked import denoise_lazy, iter_denoise_chunks, plan_chunks
from .config import Noise2InpaintConfig
from .crops import training_crops
from .devices import available_devices
from .errors import InputError, ModelFileError
from .events import DenoiseProgress, PreviewUpdate, Snapshot, TrainProgress
from .inference import denoise, iter_denoise
from .loading import load_model
from .model import TrainedModel
from .noise_report import NoiseReport, noise_report
from .preview import PreviewSource
from .residual import ResidualCheck, check_residual
from .training import iter_train, train
from .uncertainty import denoise_with_uncertainty, iter_denoise_with_uncertainty

__all__ = [
    "__version__",
    "BatchItem",
    "DenoiseProgress",
    "InputError",
    "ModelFileError",
    "NoiseReport",
    "Noise2InpaintConfig",
    "PreviewSource",
    "PreviewUpdate",
    "ResidualCheck",
    "Snapshot",
    "TrainProgress",
    "TrainedModel",
    "available_devices",
    "check_residual",
    "denoise",
    "denoise_lazy",
    "denoise_with_uncertainty",
    "iter_batch",
    "iter_denoise",
    "iter_denoise_chunks",
    "iter_denoise_with_uncertainty",
    "iter_train",
    "load_model",
    "noise_report",
    "plan_chunks",
    "read_metadata",
    "save_model",
    "train",
    "training_crops",
]
