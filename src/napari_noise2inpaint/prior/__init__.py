"""The built-in prior and starting training from a model (adaptation and resume).

The prior (``load_model("builtin")``) is an N2I network trained on clean images with synthetic
noise of many levels (see :mod:`napari_noise2inpaint.prior_training` and
``priors/n2i_prior.md``). It denoises at once; :func:`napari_noise2inpaint.iter_train` with
``init=`` adapts it (or any saved model) to the user's data, self-supervised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from napari_noise2inpaint.errors import InputError

if TYPE_CHECKING:
    from napari_noise2inpaint.config import Noise2InpaintConfig
    from napari_noise2inpaint.engine.model_parts import ModelParts

#: Adam's learning rate when training starts from a model (measured on set12 02, sigma 25, 150
#: steps from an early prior: 3e-4 gained 0.65 dB, 1e-3 0.4 dB).
ADAPT_LEARNING_RATE = 3e-4
#: What a starting model decides: its architecture and how it normalises images.
NETWORK_FIELDS = (
    "method",
    "unrolls",
    "features",
    "depth",
    "spatial_dims",
    "shared_regularizer",
    "normalisation",
)


def fixed_fields(init: ModelParts) -> tuple[str, ...]:
    """Return the settings a starting model decides.

    A model that normalises each image (the built-in prior) learned its data consistency
    across the noise physics, so adapting it takes any noise model. Other models also fix the
    noise model they learned with (another one there changed the first prior's output:
    31.6 -> 30.3 dB on the synthetic Poisson-Gaussian scene).
    """
    if init.config.normalisation == "per_image":
        return NETWORK_FIELDS
    return (*NETWORK_FIELDS, "noise_model")


def config_for_init(
    config: Noise2InpaintConfig,
    init: ModelParts,
    learning_rate: float | None = ADAPT_LEARNING_RATE,
    given: dict | None = None,
) -> Noise2InpaintConfig:
    """Return ``config`` with the architecture of the model that training starts from.

    The one builder of a run's settings from a starting model: the API (without a config),
    the command line and the widget all call it. It does not check the result:
    :func:`~napari_noise2inpaint.iter_train` runs :func:`check_init` once, when the run starts.

    Parameters
    ----------
    config : Noise2InpaintConfig
        The training settings (rho, length, learning rate, noise model, ...).
    init : TrainedModel
        The starting model; its method, unrolls, features, depth, spatial dimensions,
        regulariser sharing, normalisation and noise model replace the config's (a noise
        model of the user's may replace it again for models that take any, see
        :func:`fixed_fields`).
    learning_rate : float or None
        Adam's learning rate for adapting a trained network (lower than from scratch); None
        keeps the config's.
    given : dict, optional
        Settings chosen explicitly (command-line options), applied last: they replace the
        model's; an architecture that differs from the model's is refused when the run starts.

    Returns
    -------
    Noise2InpaintConfig
    """
    changes = {name: getattr(init.config, name) for name in (*NETWORK_FIELDS, "noise_model")}
    if learning_rate is not None:
        changes["learning_rate"] = learning_rate
    return config.replace(**{**changes, **(given or {})})


def check_init(config: Noise2InpaintConfig, init: ModelParts) -> None:
    """Raise InputError when ``config`` asks for another architecture than ``init`` has."""
    differences = [
        f"{name} {getattr(init.config, name)!r} (settings: {getattr(config, name)!r})"
        for name in fixed_fields(init)
        if getattr(config, name) != getattr(init.config, name)
    ]
    if differences:
        raise InputError(
            "The starting model does not match the settings: it has "
            + ", ".join(differences)
            + "; start from scratch or use the model's architecture."
        )


def start_name(init: ModelParts | None) -> str:
    """How a run started, for histories and layer names: "scratch", "prior" or "model"."""
    if init is None:
        return "scratch"
    return "prior" if init.normalises_each_image else "model"
