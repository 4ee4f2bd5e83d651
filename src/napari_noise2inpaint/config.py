"""The one configuration object, validated on creation and stored inside every model file."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from napari_noise2inpaint.config_rules import check_choice, check_config

METHODS = ("n2i", "n2v", "supervised")
LOSSES = ("mse", "l1l2")
HOLE_FILLS = ("zero", "neighbour")
INFERENCE_OUTPUTS = ("z", "x", "masks")
KEEP_WEIGHTS = ("best", "last")
NOISE_MODELS = ("gaussian", "poisson_gaussian", "correlated", "auto")
NORMALISATIONS = ("dataset", "per_image")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "float32", "bfloat16")
SPATIAL_DIMS = (2, 3)
# the fields that take one of a few values, and those values
CHOICES = {
    "method": METHODS,
    "loss": LOSSES,
    "hole_fill": HOLE_FILLS,
    "inference_output": INFERENCE_OUTPUTS,
    "keep_weights": KEEP_WEIGHTS,
    "noise_model": NOISE_MODELS,
    "normalisation": NORMALISATIONS,
    "device": DEVICES,
    "precision": PRECISIONS,
    "spatial_dims": SPATIAL_DIMS,
}


@dataclass
class Noise2InpaintConfig:
    """Everything that defines a model and how it is trained.

    Every config is checked when it is created (:func:`.config_rules.check_config`): numbers
    must be finite, counts whole, the ranges below hold, and sizes, mu and the seed have
    upper bounds (:data:`.config_rules.LIMITS`); a refusal is an :class:`InputError` in one
    sentence.

    Parameters
    ----------
    method : {"n2i", "n2v", "supervised"}
        Noise2Inpaint, Noise2Void (blind-spot baseline) or supervised training on clean targets.
        All three train the same U-Net.
    rho : float
        Fraction of pixels in the loss set Lambda, from 0.004 to 0.5. Pixels are partitioned
        into L = ``round(1 / rho)`` equal random sets (:attr:`n_sets`), so training and
        mask-averaged denoising both hide a fraction ``1 / L`` of the pixels.
    unrolls : int
        Number K of regulariser + data-consistency blocks (N2I only).
    shared_regularizer : bool
        One U-Net shared by all unrolls (default) or one per unroll.
    mu_init : float
        Initial data-consistency penalty mu (kept positive through a softplus).
    mu_lr_factor : float
        Learning rate of mu relative to the network's; mu barely moves at the network's rate.
    hole_fill : {"zero", "neighbour"}
        What the network sees at Lambda pixels in x0: zero (the normalised mean) or a random
        neighbour's value.
    loss : {"mse", "l1l2"}
        Loss on Lambda pixels: mean squared error or the normalised L1 + L2 loss.
    features : int
        Feature maps in the U-Net's first layer (doubled at each level).
    depth : int
        Number of pooling levels of the U-Net.
    patch_size : int
        Side of the square training patches, a multiple of ``2 ** depth``.
    spatial_dims : {2, 3}
        2 denoises plane by plane; 3 treats the last three axes (Z, Y, X) of every stack as a
        volume (3D U-Net, 3D masks and patches), for Z stacks whose planes are correlated.
    patch_depth : int
        Z side of 3D training patches (``patch_depth x patch_size x patch_size``), a multiple
        of ``2 ** depth``; shrunk with a note for thinner volumes.
    batch_size : int
        Patches per optimisation step.
    learning_rate : float
        Adam's learning rate before cosine decay.
    steps : int or None
        Training length in optimisation steps.
    epochs : float or None
        Training length in passes over the data (one epoch sees as many patch pixels as there
        are training pixels). Used when ``steps`` is None.
    time_limit : float or None
        Most seconds of training (wall clock); training stops at the first limit reached.
        Counted from the first step: preparing the data before and denoising after are not.
        The API, the command line and the widget (in minutes there) all mean this.
    val_fraction : float
        Fraction of planes (or, with few planes, of an extra patch batch) held out for validation.
    val_interval : int
        Steps between validation passes.
    keep_weights : {"best", "last"}
        Return the weights with the best validation loss, or the last weights.
    n2v_fraction : float
        Fraction of patch pixels replaced in Noise2Void training.
    inference_output : {"z", "x", "masks"}
        Test-time output: the last regulariser output z, the data-consistency output x with all
        pixels as data, or x averaged over ``inference_masks`` random masks.
    inference_masks : int
        Number of random masks averaged when ``inference_output == "masks"``.
    noise_model : {"gaussian", "poisson_gaussian", "correlated", "auto"}
        Noise statistics of the data-fidelity term: white Gaussian, signal-dependent
        ``var = gain * x + offset``, stationary correlated Gaussian, or "auto": estimated from
        each image when it is denoised (models with ``normalisation="per_image"``, such as
        the built-in prior; see :mod:`napari_noise2inpaint.noise`).
    noise_gain, noise_offset : float or None
        Poisson-Gaussian parameters in intensity units (variance = gain * intensity + offset);
        estimated from the training data when None.
    noise_kernel : list of list of float or None
        Autocorrelation kernel of correlated noise (odd sides, centre = variance, intensity
        units); estimated from ``noise_region`` (or the whole first plane) when None.
    noise_region : list of int or None
        ``[y0, y1, x0, x1]`` background rectangle of the first training plane for the kernel
        estimate.
    noise_sigma : float or None
        Standard deviation of white noise in the training data (estimated when None); used to
        rescale mu when denoising data with another noise level.
    cg_iterations : int
        Conjugate gradient iterations of the correlated data-consistency step.
    normalisation : {"dataset", "per_image"}
        "dataset": images are normalised with the training data's mean and std, and the data
        term weighs white and Poisson-Gaussian noise relative to the noise at the mean.
        "per_image" (the built-in prior and models adapted from it): each plane is normalised
        by its own mean and std, and the data term weighs pixels by their absolute inverse
        noise variance, so noisier images lean more on the regulariser.
    channel_axis : int or None
        Axis of the training data holding channels; every other leading axis is a stack of planes.
    seed : int
        Seed of every random choice (weights, patches, masks).
    device : {"auto", "cpu", "cuda", "mps"}
        Where to train; auto picks CUDA, then MPS, then CPU.
    precision : {"auto", "float32", "bfloat16"}
        Arithmetic of the network (training and denoising). "auto" is bfloat16 autocast on
        CUDA GPUs that support it and on CPUs with bf16 matrix units (Intel AMX), where it is
        2-3x faster; float32 elsewhere. bf16 results differ from float32 ones by a few percent
        of what the network changes, so use "float32" to compare runs across machines. MPS
        always runs float32.
    """

    method: str = "n2i"
    rho: float = 0.05
    unrolls: int = 5
    shared_regularizer: bool = True
    mu_init: float = 1.0
    mu_lr_factor: float = 20.0
    hole_fill: str = "neighbour"
    loss: str = "mse"
    features: int = 32
    depth: int = 2
    patch_size: int = 64
    spatial_dims: int = 2
    patch_depth: int = 16
    batch_size: int = 16
    learning_rate: float = 1e-3
    steps: int | None = 400
    epochs: float | None = None
    time_limit: float | None = None
    val_fraction: float = 0.1
    val_interval: int = 50
    keep_weights: str = "best"
    n2v_fraction: float = 0.002
    inference_output: str = "z"
    inference_masks: int = 8
    noise_model: str = "gaussian"
    noise_gain: float | None = None
    noise_offset: float | None = None
    noise_kernel: list[list[float]] | None = None
    noise_region: list[int] | None = None
    noise_sigma: float | None = None
    cg_iterations: int = 10
    normalisation: str = "dataset"
    channel_axis: int | None = None
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"

    def __post_init__(self) -> None:
        check_config(self, CHOICES)

    @property
    def n_sets(self) -> int:
        """Number L of loss sets Lambda that partition the pixels: ``round(1 / rho)``."""
        return round(1 / self.rho)

    def to_json(self) -> str:
        """Serialise to a JSON string (stored in model files)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Noise2InpaintConfig:
        """Rebuild a config from :meth:`to_json` output, ignoring unknown keys."""
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def replace(self, **changes: Any) -> Noise2InpaintConfig:
        """Return a validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)


# Lighter start values for machines without an accelerator: K=2 with 16 features and a 2-minute
# limit gives a visible result in minutes on a CPU (benchmarks/results/single_image.md: +6.9 dB in
# 60 s where K=5 gave +2.5 dB).
CPU_START = {"unrolls": 2, "features": 16, "batch_size": 8, "steps": 1000, "time_limit": 120}


def start_config(device: str = "auto") -> Noise2InpaintConfig:
    """Return the start values for training on ``device``: the defaults, lighter on a CPU.

    The widget's fields, the command line's ``train`` and the API share these start values;
    explicitly chosen settings replace them.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "mps"}
        Where training will run; "auto" looks at what this machine has (CUDA, then MPS, then
        the CPU).

    Returns
    -------
    Noise2InpaintConfig
        ``Noise2InpaintConfig(device=device)`` with an accelerator; on a CPU, K=2 unrolls,
        16 features, batches of 8 and 1000 steps within 2 minutes.

    Raises
    ------
    InputError
        ``device`` is not one of the names above.
    """
    check_choice("device", device, DEVICES)
    config = Noise2InpaintConfig(device=device)
    if device == "auto":
        from napari_noise2inpaint.engine import devices  # torch, imported only when asked

        device = devices.available_devices()[0]
    return config.replace(**CPU_START) if device == "cpu" else config
