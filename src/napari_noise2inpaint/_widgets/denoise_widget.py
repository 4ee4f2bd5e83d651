"""The "Denoise with a trained model" widget: model file + Image layer -> new layer."""

from __future__ import annotations

from pathlib import Path

from magicgui.widgets import ComboBox, Container, FileEdit, Label, PushButton
from napari.utils.notifications import show_error

from napari_noise2inpaint import InputError, available_devices, load_model

from . import jobs, model_info
from .chunked_output import start_chunked_denoise
from .fields import image_combo


class DenoiseWidget(Container):
    """Denoise an Image layer with a saved model; the result is added as a new layer.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer holding the layers.
    """

    def __init__(self, napari_viewer):
        self.viewer = napari_viewer
        self.job = jobs.Job()
        self.model_file = FileEdit(label="model file", mode="r", filter="*.safetensors *.zip")
        self.card = Label(label="model")
        self.card.visible = False
        self.image = image_combo(napari_viewer)
        self.device = ComboBox(label="device", choices=["auto", *available_devices()])
        self.run_button = PushButton(text="Denoise")
        super().__init__(
            widgets=[self.model_file, self.card, self.image, self.device, self.run_button]
        )
        self.run_button.changed.connect(self.run)
        self.model_file.changed.connect(self._show_card)
        self.native.destroyed.connect(self.job.close)
        self.reset_choices()

    def run(self) -> None:
        """Load the model, copy the selected layer and denoise it in a worker."""
        try:
            snapshot = jobs.LayerSnapshot.of(self.image.value)
            model = self._model()
        except (InputError, OSError) as exc:
            show_error(jobs.error_message(exc, "loading the model"))
            return
        self.job = jobs.Job()
        self.native.destroyed.connect(self.job.close)
        self.run_button.enabled = False
        self.job.cap_threads(self.device.value)
        if snapshot.lazy:
            start_chunked_denoise(
                self.viewer, self.job, snapshot, model, self.device.value, self._on_done
            )
            return
        jobs.start(
            self.job,
            jobs.denoise_job,
            model,
            snapshot.data,
            model.config.channel_axis,
            self.device.value,
            desc="Noise2Inpaint denoising",
            doing="denoising",
            on_yield=lambda p: jobs.advance(self.job.worker, p.done, p.total, "denoising"),
            on_return=lambda result: self.viewer.add_image(
                result[0], **snapshot.layer_kwargs("N2I", contrast_limits=result[1])
            ),
            on_done=self._on_done,
        )

    def _on_done(self) -> None:
        self.job.restore_threads()
        self.run_button.enabled = True

    def _model(self):
        """Load the chosen model file (read again each time: it may have been rewritten)."""
        if Path(self.model_file.value).is_dir():  # an empty FileEdit holds a folder
            raise InputError("Choose a model file first.")
        return load_model(self.model_file.value)

    def _show_card(self, *_args) -> None:
        """Show the model card of the chosen file, or why it cannot be read."""
        if Path(self.model_file.value).is_dir():
            self.card.visible = False
            return
        try:
            self.card.value = model_info.card_text(self._model())
        except (InputError, OSError) as exc:
            self.card.value = jobs.error_message(exc, "loading the model")
        self.card.visible = True
