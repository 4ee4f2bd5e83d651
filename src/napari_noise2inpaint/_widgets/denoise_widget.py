"""The "Denoise with a trained model" widget: the built-in prior or a model file + Image layer."""

from __future__ import annotations

from magicgui.widgets import ComboBox, Container, Label, PushButton
from napari.utils.notifications import show_error
from qtpy.QtWidgets import QSizePolicy

from napari_noise2inpaint import InputError, available_devices
from napari_noise2inpaint._widgets import model_info
from napari_noise2inpaint._widgets.denoising import start_denoise
from napari_noise2inpaint._widgets.fields import image_combo
from napari_noise2inpaint._widgets.jobs import Job, error_message
from napari_noise2inpaint._widgets.model_choice import FILE, ModelChoice, chosen_path
from napari_noise2inpaint._widgets.progress_panel import ProgressPanel
from napari_noise2inpaint._widgets.snapshot import LayerSnapshot
from napari_noise2inpaint._widgets.tooltips import DENOISE_TOOLTIPS, apply_tooltips
from napari_noise2inpaint._widgets.units_notice import say_units_once

#: Longest card text shown; longer texts (an error) are cut, the whole text is the tooltip.
CARD_CHARS = 400


class DenoiseWidget(Container):
    """Denoise an Image layer with the built-in prior or a saved model, into a new layer.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer holding the layers.
    """

    def __init__(self, napari_viewer):
        self.viewer = napari_viewer
        say_units_once(napari_viewer)
        self.job = Job()
        self.model_choice = ModelChoice(napari_viewer)
        self.model_source, self.model_file = self.model_choice.widgets
        self.card = Label(label="model")
        self.card.visible = False
        # a long text (an error about a path) wraps and never widens the dock
        self.card.native.setWordWrap(True)
        self.card.native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.image = image_combo(napari_viewer)
        self.device = ComboBox(label="device", choices=["auto", *available_devices()])
        self.run_button = PushButton(text="Denoise")
        self.panel = ProgressPanel()
        super().__init__(
            widgets=[
                self.model_source, self.model_file, self.card, self.image, self.device,
                self.run_button,
            ]
        )  # fmt: skip
        self.native.layout().addWidget(self.panel)
        apply_tooltips(self, DENOISE_TOOLTIPS)
        self.run_button.changed.connect(self.run)
        self.model_source.changed.connect(self._show_card)
        self.model_file.changed.connect(self._show_card)
        self.native.destroyed.connect(self.job.close)
        self.reset_choices()
        self._show_card()

    def run(self) -> None:
        """Load the model, copy the selected layer and denoise it in a worker."""
        if self.job.running:
            show_error("Wait until the denoising has finished.")
            return
        try:
            snapshot = LayerSnapshot.of(self.image.value)
            model = self._model()
        except (InputError, OSError) as exc:
            show_error(error_message(exc, "loading the model"))
            return
        self.job = Job()
        self.native.destroyed.connect(self.job.close)
        self.run_button.enabled = False
        start_denoise(
            self.viewer,
            self.job,
            snapshot,
            model,
            device=self.device.value,
            suffix=model_info.result_suffix(model),
            panel=self.panel,
            on_done=self._on_done,
        )

    def _on_done(self) -> None:
        self.panel.finish()
        self.run_button.enabled = True

    def _model(self):
        """Return the chosen model (a model file is read again: it may have been rewritten)."""
        return self.model_choice.model()

    def _show_card(self, *_args) -> None:
        """Show the model card of the chosen model, or why it cannot be read."""
        if self.model_source.value == FILE and chosen_path(self.model_file) is None:
            self.card.visible = False
            return
        try:
            text = model_info.card_text(self._model())
        except (InputError, OSError) as exc:
            text = error_message(exc, "loading the model")
        self.card.value = text if len(text) <= CARD_CHARS else f"{text[: CARD_CHARS - 1]}…"
        self.card.tooltip = text
        self.card.visible = True
