"""Noise physics: the registry of noise models, their estimation from images, the report."""

from napari_noise2inpaint.noise.batch import BatchNoise
from napari_noise2inpaint.noise.models import (
    AUTO,
    REGISTRY,
    CorrelatedNoise,
    GaussianNoise,
    NoiseModel,
    PerImageNoise,
    PoissonGaussianNoise,
    build_noise_model,
    from_config,
    label_of,
    noise_class,
)
from napari_noise2inpaint.noise.solvers import check_kernel, conjugate_gradient, data_consistency

__all__ = [
    "AUTO",
    "REGISTRY",
    "BatchNoise",
    "CorrelatedNoise",
    "GaussianNoise",
    "NoiseModel",
    "PerImageNoise",
    "PoissonGaussianNoise",
    "build_noise_model",
    "check_kernel",
    "conjugate_gradient",
    "data_consistency",
    "from_config",
    "label_of",
    "noise_class",
]
