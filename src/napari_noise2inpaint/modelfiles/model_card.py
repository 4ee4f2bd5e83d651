"""Models that explain themselves: a card (method, settings, training data, validation loss).

The card is shown by ``noise2inpaint info`` and written as the documentation page of exported
BioImage Model Zoo packages.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PIL import Image

from napari_noise2inpaint._version import __version__
from napari_noise2inpaint.names import METHOD_FULL_NAMES
from napari_noise2inpaint.noise import noise_class

VALIDATION_LOSSES = {
    "n2i": "self-supervised: loss on held-out Lambda pixels of validation data",
    "n2v": "self-supervised: loss on masked (blind-spot) pixels of validation data",
    "supervised": "supervised: loss against clean validation targets",
}
METHOD_TEXT = {
    "n2i": (
        "Noise2Inpaint trains an unrolled network of K blocks, each a U-Net regulariser "
        "followed by a data-consistency step solved for the noise model, on noisy images "
        "alone: a fraction rho of the pixels (Lambda) is held out of the data-consistency "
        "step and the loss compares the prediction with the noisy values there. The "
        "exported network includes all K regulariser and data-consistency steps."
    ),
    "n2v": (
        "Noise2Void trains a U-Net on noisy images alone: masked pixels are replaced by "
        "neighbours and the loss compares the prediction with their noisy values."
    ),
    "supervised": "A U-Net trained on pairs of noisy and clean images.",
}
CITATION = (
    "Yaman B, Hosseini SAH, Akcakaya M. Noise2Inpaint: Learning Referenceless Denoising by "
    "Inpainting Unrolling. arXiv:2006.09450 (2020)."
)
CITATION_DOI = "10.48550/arXiv.2006.09450"


def model_card(model, package_version: str | None = None) -> dict[str, Any]:
    """Summarise what a model is and how it was trained, as a JSON-able dict.

    Parameters
    ----------
    model : TrainedModel
        A trained or loaded model.
    package_version : str, optional
        Version of napari-noise2inpaint that trained the model; read from the model's history
        when stored there, else the running version.

    Returns
    -------
    dict
        ``method``, ``rho``, ``unrolls`` (K), ``noise_model``, ``mu``, ``inference_output``,
        ``training`` (steps, epochs, validation loss and what it measures), ``data`` (shape,
        dtype, planes) and ``package_version``.
    """
    config, history, data = model.config, model.history, model.data_info
    unrolled = config.method == "n2i"
    output = config.inference_output
    return {
        "method": config.method,
        "method_name": METHOD_FULL_NAMES[config.method],
        "rho": config.rho if config.method == "n2i" else None,
        "rho_effective": 1 / config.n_sets if config.method == "n2i" else None,
        "unrolls": config.unrolls if unrolled else None,
        "shared_regularizer": config.shared_regularizer if unrolled else None,
        "mu": model.mu,
        "noise_model": _noise(config),
        "inference_output": output,
        "network": {
            "features": config.features,
            "depth": config.depth,
            "spatial_dims": config.spatial_dims,
        },
        "training": {
            "steps": history.get("steps"),
            "epochs": _number(history.get("epochs")),
            "batch_size": config.batch_size,
            "patch_size": history.get("patch_size", config.patch_size),
            "loss": config.loss,
            "validation_loss": _number(history.get("best_val_loss")),
            "validation_loss_kind": VALIDATION_LOSSES[config.method],
            "kept_weights": history.get("kept_weights"),
            "adaptation": history.get("adaptation"),
            "stopped_early": history.get("stopped_early"),
        },
        "data": {
            "shapes": data.get("shapes"),
            "dtype": data.get("dtype"),
            "planes": data.get("planes"),
            "channel_axis": data.get("channel_axis"),
        },
        "normalization": {
            "per_image": model.normalises_each_image,
            "means": list(model.means),
            "stds": list(model.stds),
        },
        "package_version": package_version or history.get("package_version") or __version__,
    }


def _pipeline_text(normalization: dict) -> tuple[str, str]:
    """How the pipeline normalises, and which weights the package holds."""
    if normalization.get("per_image"):
        return (
            "Each image is normalised by its own mean and standard deviation, and its noise "
            "estimated, inside the pipeline",
            "PyTorch state-dict weights (no TorchScript: a trace would fix one image's noise "
            "estimate)",
        )
    means = ", ".join(f"{m:.6g}" for m in normalization["means"])
    stds = ", ".join(f"{s:.6g}" for s in normalization["stds"])
    return (
        f"Normalisation is part of the network (means {means}; standard deviations {stds})",
        "TorchScript weights and PyTorch state-dict weights",
    )


def _noise(config) -> dict[str, Any]:
    return {"model": config.noise_model, **noise_class(config.noise_model).card_fields(config)}


def _number(value) -> float | None:
    """Return a finite number from a model's history, None for anything else (untrusted)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        value = float(value)
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def card_markdown(card: dict[str, Any], notes: list[str] = ()) -> str:
    """Render a :func:`model_card` as the markdown documentation page of a package.

    Parameters
    ----------
    card : dict
        Output of :func:`model_card`.
    notes : list of str
        Extra sentences for the usage section (e.g. on input sizes).

    Returns
    -------
    str
    """
    training = card["training"]
    loss = training["validation_loss"]
    rows = _table_rows(card)
    output_text = _output_text(card["inference_output"])
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    normalisation, weights = _pipeline_text(card["normalization"])
    extra = "".join(f"\n- {note}" for note in notes)
    return f"""# Noise2Inpaint denoiser

Self-supervised denoiser trained with napari-noise2inpaint: {card["method_name"]}.

| Property | Value |
|---|---|
{table}

## Usage

- Input: one noisy image in **raw intensity units** (float32, axes batch, channel, y, x).
- Output: the denoised image in the same raw units and shape.
- {normalisation}; no pre- or post-processing is needed.
- {output_text}{extra}

The package holds {weights} whose architecture is
`napari_noise2inpaint.bioimageio_arch.Noise2InpaintPipeline` (install `napari-noise2inpaint`).
napari-noise2inpaint loads it with `load_model("package.zip")`.

## Validation

Best validation loss {_or_dash(loss, ".5g")} after {_or_dash(training["steps"])} training steps
({training["validation_loss_kind"]}). This is a self-consistency measure on noisy data, not an
error against ground truth; inspect results on your own images.

## Method

{METHOD_TEXT[card["method"]]}

## Citation

{CITATION} doi:{CITATION_DOI}
"""


def _output_text(output: str) -> str:
    if output == "masks":
        return (
            "The model was configured to average over random inpainting masks at test time; "
            "this random procedure cannot be exported, so the package returns the last "
            "regulariser output **z** instead."
        )
    return {
        "z": "The package returns the last regulariser output **z**.",
        "x": "The package returns the last data-consistency output **x** (all pixels as data).",
    }[output]


def _table_rows(card: dict[str, Any]) -> list[tuple[str, Any]]:
    training, data, noise = card["training"], card["data"], card["noise_model"]
    noise_params = ", ".join(f"{k} = {_short(v)}" for k, v in noise.items() if k != "model") or "-"
    loss = training["validation_loss"]
    return [
        ("Method", card["method_name"]),
        ("rho (loss-set fraction)", _or_dash(card["rho"])),
        ("Effective rho", _or_dash(card["rho_effective"], ".4g")),
        ("K (unrolls)", _or_dash(card["unrolls"])),
        ("Learned mu", _or_dash(card["mu"], ".4g")),
        ("Noise model", f"{noise['model']} ({noise_params})"),
        ("U-Net", _network(card["network"])),
        ("Training steps", _or_dash(training["steps"])),
        ("Epochs", _or_dash(training["epochs"], ".3g")),
        ("Batch / patch", f"{training['batch_size']} patches of {training['patch_size']} px"),
        ("Training loss", training["loss"]),
        ("Validation loss", f"{_or_dash(loss, '.5g')} ({training['validation_loss_kind']})"),
        ("Training data shape(s)", _or_dash(data["shapes"])),
        ("Training data dtype", _or_dash(data["dtype"])),
        ("Training planes", _or_dash(data["planes"])),
        ("napari-noise2inpaint", card["package_version"]),
    ]


def _short(value) -> str:
    if isinstance(value, float):
        return format(value, ".4g")
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return str(value)


def _or_dash(value, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def cover_image(noisy: np.ndarray, denoised: np.ndarray) -> Image.Image:
    """Noisy and denoised planes side by side, both scaled by the noisy plane's percentiles.

    Parameters
    ----------
    noisy, denoised : numpy.ndarray
        2D arrays of the same shape.

    Returns
    -------
    PIL.Image.Image
        8-bit greyscale image with a 4-pixel white gap between the halves.
    """
    low, high = np.percentile(noisy, (1, 99))
    scale = 255.0 / max(float(high - low), 1e-12)
    halves = [
        np.clip((plane - low) * scale, 0, 255).astype(np.uint8) for plane in (noisy, denoised)
    ]
    gap = np.full((noisy.shape[0], 4), 255, dtype=np.uint8)
    image = Image.fromarray(np.concatenate([halves[0], gap, halves[1]], axis=1))
    if image.height < 128:  # bioimage.io shows covers at a few hundred pixels
        factor = -(-128 // image.height)
        image = image.resize((image.width * factor, image.height * factor), Image.NEAREST)
    return image


def _network(network: dict) -> str:
    text = f"{network['features']} features, depth {network['depth']}"
    return f"{text}, 3D (Z stacks as volumes)" if network.get("spatial_dims") == 3 else text
