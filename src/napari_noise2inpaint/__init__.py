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

__version__ = "0.1.0"

from .checkpoint import load_model, read_metadata, save_model  # noqa: E402
from .chunked import denoise_lazy, iter_denoise_chunks, plan_chunks  # noqa: E402
from .config import Noise2InpaintConfig  # noqa: E402
from .crops import training_crops  # noqa: E402
from .errors import InputError, ModelFileError  # noqa: E402
from .events import DenoiseProgress, PreviewUpdate, Snapshot, TrainProgress  # noqa: E402
from .inference import denoise, iter_denoise  # noqa: E402
from .model import TrainedModel, available_devices  # noqa: E402
from .preview import PreviewSource  # noqa: E402
from .training import iter_train, train  # noqa: E402

__all__ = [
    "DenoiseProgress",
    "InputError",
    "ModelFileError",
    "Noise2InpaintConfig",
    "PreviewSource",
    "PreviewUpdate",
    "Snapshot",
    "TrainProgress",
    "TrainedModel",
    "available_devices",
    "denoise",
    "denoise_lazy",
    "iter_denoise",
    "iter_denoise_chunks",
    "iter_train",
    "load_model",
    "plan_chunks",
    "read_metadata",
    "save_model",
    "train",
    "training_crops",
]
