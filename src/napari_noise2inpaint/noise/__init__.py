"""Noise physics: the registry of noise models, their estimation from images, the report."""

from .batch import BatchNoise
from .models import (
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
from .solvers import check_kernel, conjugate_gradient, data_consistency

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
