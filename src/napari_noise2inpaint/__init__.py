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

from napari_noise2inpaint._version import __version__

# Names are imported on first use (PEP 562), so that `import napari_noise2inpaint` (and the
# command line's start, which Ctrl-C may interrupt) does not load torch before it is needed.
_EXPORTS = {
    "BatchItem": "tasks.batch",
    "BatchOutcome": "tasks.batch",
    "iter_batch": "tasks.batch",
    "read_metadata": "modelfiles.checkpoint",
    "save_model": "modelfiles.checkpoint",
    "denoise_lazy": "images.chunked",
    "iter_denoise_chunks": "images.chunked",
    "plan_chunks": "images.chunked",
    "Noise2InpaintConfig": "config",
    "training_crops": "images.crops",
    "available_devices": "engine.devices",
    "InputError": "errors",
    "ModelFileError": "errors",
    "DenoiseProgress": "engine.events",
    "PreviewUpdate": "engine.events",
    "Snapshot": "engine.events",
    "run_to_end": "engine.events",
    "TrainProgress": "engine.events",
    "denoise": "engine.inference",
    "iter_denoise": "engine.inference",
    "load_model": "modelfiles.loading",
    "TrainedModel": "model",
    "NoiseReport": "noise.report",
    "noise_report": "noise.report",
    "PreviewSource": "engine.preview",
    "noisy_fluorescence": "_sample_data",
    "ResidualCheck": "trust.residual",
    "check_residual": "trust.residual",
    "iter_train": "engine.training",
    "train": "engine.training",
    "denoise_with_uncertainty": "trust.uncertainty",
    "iter_denoise_with_uncertainty": "trust.uncertainty",
}


def __getattr__(name: str):
    """Import an exported name from its module the first time it is asked for."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "__version__",
    "BatchItem",
    "BatchOutcome",
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
    "noisy_fluorescence",
    "noise_report",
    "plan_chunks",
    "read_metadata",
    "run_to_end",
    "save_model",
    "train",
    "training_crops",
]
