"""Saving, loading and exporting the train widget's model (a mixin of :class:`TrainWidget`)."""

from __future__ import annotations

from napari.utils.notifications import show_error, show_info
from qtpy.QtWidgets import QFileDialog

from napari_noise2inpaint import InputError, load_model, save_model
from napari_noise2inpaint._widgets import model_choice, model_info
from napari_noise2inpaint._widgets.jobs import error_message
from napari_noise2inpaint._widgets.runs import State

MODEL_FILTER = "Noise2Inpaint model (*.safetensors);;All files (*)"
LOAD_FILTER = "Noise2Inpaint model or BioImage package (*.safetensors *.zip);;All files (*)"


class ModelFileActions:
    """Save, load and export the current model.

    The widget provides ``summary``, ``fields``, ``viewer``, ``_idle``, ``_new_job``,
    ``_set_state`` and ``_end_job``.
    """

    _model = None
    #: The model that "Denoise now" last used (the starting model when there is no other).
    used_model = None

    @property
    def model(self):
        """The current model (trained or loaded), offered to the other widgets too."""
        return self._model

    @model.setter
    def model(self, model) -> None:
        self._model = model
        model_choice.publish(self.viewer, model)

    @property
    def savable_model(self):
        """What Save and Export write: the current model, else the one Denoise now used."""
        return self._model if self._model is not None else self.used_model

    def save(self, path: str) -> None:
        """Write :attr:`savable_model` to ``path`` (a ``.safetensors`` file)."""
        try:
            save_model(self.savable_model, path)
        except (InputError, OSError) as exc:
            show_error(error_message(exc, "saving the model"))
            return
        show_info(f"Model saved to {path}.")

    def load(self, path: str) -> None:
        """Load a model from ``path`` to denoise with it."""
        try:
            self.model = load_model(path)
        except (InputError, OSError) as exc:
            show_error(error_message(exc, "loading the model"))
            return
        self._set_state(State.IDLE)
        self.summary.show_model(self.model, trained=False)
        show_info(f"Model loaded from {path}.")

    def export(self, path: str) -> None:
        """Export :attr:`savable_model` to ``path`` (a BioImage Model Zoo ``.zip``) in a worker.

        The plane of the selected layer in view is the package's example image.
        """
        model = self.savable_model
        if model is None:
            show_error("No model yet: train one or load a model file first.")
            return
        if not self._idle():
            return
        axis = model.config.channel_axis
        image = model_info.plane_in_view(self.fields.image.value, self.viewer, axis)
        self._set_state(State.EXPORTING)
        self._new_job().start(
            model_info.export_job,
            model,
            path,
            image,
            doing="exporting the model",
            on_yield=lambda *_: None,
            on_return=lambda written: show_info(f"Model exported to {written}."),
            on_done=self._end_job,
        )

    def _ask_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save model", "model.safetensors", MODEL_FILTER)
        if path:
            self.save(path)

    def _ask_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load model", "", LOAD_FILTER)
        if path:
            self.load(path)

    def _ask_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export to BioImage Model Zoo", "model.zip", model_info.ZIP_FILTER
        )
        if path:
            self.export(path if path.lower().endswith(".zip") else f"{path}.zip")
