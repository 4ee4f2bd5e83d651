"""What the widgets tell about a model (card, noise estimate) and its BioImage Model Zoo export."""

from __future__ import annotations

import numpy as np
from napari.layers import Image
from napari.utils.notifications import show_info
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

from napari_noise2inpaint._widgets.preview import current_plane, data_index
from napari_noise2inpaint._widgets.snapshot import LayerSnapshot
from napari_noise2inpaint.modelfiles.model_card import model_card
from napari_noise2inpaint.names import METHOD_NAMES as METHODS
from napari_noise2inpaint.names import NOISE_NAMES
from napari_noise2inpaint.noise import noise_class

ZIP_FILTER = "BioImage Model Zoo package (*.zip);;All files (*)"
#: A run is called too short when validation loss fell more than this in its last quarter.
STILL_IMPROVING = 0.02


def noise_text(config) -> str:
    """Describe the noise parameters in a few words, e.g. ``"gain 2.07, offset 23.2"``."""
    return noise_class(config.noise_model).parameter_text(config) or "not estimated"


def estimate_notes(model) -> list[str]:
    """Return the training notes that report estimated noise parameters."""
    return [n for n in model.history.get("notes", []) if n.startswith("Estimated")]


def card_text(model) -> str:
    """Return a compact model card: method, rho, K, noise, steps, val loss, training data."""
    card = model_card(model)
    method = [f"method {METHODS.get(card['method'], card['method'])}"]
    if card["rho"] is not None:
        method.append(f"rho {card['rho']:g}")
    if card["unrolls"] is not None:
        method.append(f"K {card['unrolls']}")
    noise = f"noise: {NOISE_NAMES[model.config.noise_model]}, {noise_text(model.config)}"
    training = card["training"]
    loss = training["validation_loss"]
    trained = f"{training['steps'] or 0} steps, " + (
        f"val loss {loss:.4g}" if loss is not None else "no validation loss"
    )
    data = card["data"]
    shapes = [tuple(s) for s in data.get("shapes") or []]
    if len(shapes) == 1:
        on = f"trained on {shapes[0]} {data.get('dtype')}"
    else:
        on = f"trained on {len(shapes)} images, {data.get('dtype')}"
    return "\n".join([", ".join(method), noise, trained, on])


def result_suffix(model) -> str:
    """Name what made a result, for its layer: ``"N2I, prior + 412 steps"``, ``"N2I, prior"``.

    Runs from scratch read ``"N2I, 412 steps"``; the built-in prior itself reads ``"N2I, prior"``.
    """
    method = METHODS.get(model.config.method, model.config.method)
    history = model.history
    steps = history.get("steps") or 0
    start = history.get("start")
    if start in (None, "scratch") and model.normalises_each_image:  # the prior as shipped
        return f"{method}, prior"
    if start in (None, "scratch"):
        return f"{method}, {steps} steps"
    return f"{method}, {start} + {steps} steps"


def adaptation_line(history: dict) -> str | None:
    """One line on what adapting a starting model did (None for runs from scratch).

    ``"Kept the built-in model: adapting did not help this image (estimated -0.12 dB)."`` or
    ``"Adapted: estimated +0.41 dB over the built-in model."``, from the keep rule's record.
    """
    start = history.get("start")
    if start in (None, "scratch"):
        return None
    name = "the built-in model" if start == "prior" else "the starting model"
    record = history.get("adaptation") or {}
    gain = record.get("estimated_gain_db")
    estimate = "" if gain is None else f" (estimated {gain:+.2f} dB)"
    if history.get("kept_weights") == "start":
        reason = record.get("reason", "adapting did not help this image")
        return f"Kept {name}: {reason}{estimate}."
    if gain is None:
        return f"Adapted {name} to this image."
    return f"Adapted: estimated {gain:+.2f} dB over {name}."


def too_short_note(val_steps: list[int], val_losses: list[float]) -> str | None:
    """One line when validation loss still fell fast at the end of a run, else None.

    Fast: by more than 2 % between three quarters of the run and its end.
    """
    if len(val_losses) < 2 or val_steps[-1] <= 0:
        return None
    points = zip(val_steps, val_losses, strict=True)
    earlier = [loss for step, loss in points if step <= 0.75 * val_steps[-1]]
    if not earlier or not (earlier[-1] > 0):
        return None
    drop = 1 - val_losses[-1] / earlier[-1]
    if drop <= STILL_IMPROVING:
        return None
    return (
        f"Training was still improving when it ended (validation loss fell {drop:.0%} in the "
        "last quarter): a longer run would denoise better."
    )


class ModelSummary(QWidget):
    """Two labels: the noise estimate of the last training, and the current model's card."""

    def __init__(self):
        super().__init__()
        self.noise = QLabel()
        self.card = QLabel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for label in (self.noise, self.card):
            label.setWordWrap(True)
            label.setVisible(False)
            layout.addWidget(label)

    def show_model(self, model, trained: bool) -> None:
        """Show ``model``'s card; after training also its noise estimate (label and notice)."""
        self.card.setText(card_text(model))
        self.card.setVisible(True)
        if trained:
            for note in estimate_notes(model):
                show_info(note)
            self.noise.setText(f"noise: {noise_text(model.config)}")
        self.noise.setVisible(trained)


def plane_in_view(layer, viewer, channel_axis: int | None) -> np.ndarray | None:
    """Return a float32 copy of the plane of ``layer`` in view, ``(Y, X)`` or ``(C, Y, X)``.

    None when there is no usable Image layer (the export then synthesises an example).
    """
    if not isinstance(layer, Image) or layer.rgb:
        return None
    data = layer.data[0] if layer.multiscale else layer.data
    view = LayerSnapshot(layer.name, data, tuple(layer.scale), tuple(layer.translate), (), ())
    try:
        plane = current_plane(view, data_index(view, viewer.dims.point), channel_axis)
    except (IndexError, ValueError):
        return None
    plane = np.array(plane, dtype=np.float32, copy=True)
    return np.moveaxis(plane, -1, 0) if plane.ndim == 3 else plane


def export_job(model, path: str, image: np.ndarray | None):
    """Write a BioImage Model Zoo package in a worker; return its path."""
    from napari_noise2inpaint.modelfiles.bioimageio_export import export_bioimageio

    yield from ()  # a generator, like the other jobs; the export itself has no progress
    return export_bioimageio(model, path, image=image)
