"""The "Noise2Inpaint" dock widget: train on a layer, watch the loss and preview, denoise."""

from __future__ import annotations

import time

from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QEvent
from qtpy.QtWidgets import QFileDialog, QGridLayout, QPushButton, QVBoxLayout, QWidget
from superqt import QCollapsible

from napari_noise2inpaint import (
    InputError,
    PreviewSource,
    PreviewUpdate,
    iter_train,
    load_model,
    save_model,
)

from . import jobs, model_info
from .chunked_output import start_chunked_denoise
from .fields import TrainFields
from .loss_plot import LossPlot
from .preview import current_plane, current_slab, data_index, show_preview

MODEL_FILTER = "Noise2Inpaint model (*.safetensors);;All files (*)"
LOAD_FILTER = "Noise2Inpaint model or BioImage package (*.safetensors *.zip);;All files (*)"


class TrainWidget(QWidget):
    """Train Noise2Inpaint on an Image layer and add the denoised result as a new layer.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer holding the layers.
    """

    #: Seconds between live previews during training.
    preview_interval_s = 3.0
    #: Seconds between redraws of the loss curve.
    plot_interval_s = 0.5

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.model = None
        self.config = None
        self.phase = "idle"
        self.job = jobs.Job()
        self.snapshot: jobs.LayerSnapshot | None = None
        self.preview: PreviewSource | None = None
        self._last_plot = 0.0
        self.fields = TrainFields(napari_viewer)
        self.plot = LossPlot()

        self.train_button = QPushButton("Train")
        self.stop_button = QPushButton("Stop")
        self.denoise_button = QPushButton("Denoise with model")
        self.save_button = QPushButton("Save model...")
        self.load_button = QPushButton("Load model...")
        self.export_button = QPushButton("Export to BioImage Model Zoo...")
        self.summary = model_info.ModelSummary()
        self.noise_label, self.card_label = self.summary.noise, self.summary.card
        self.train_button.clicked.connect(self.train)
        self.stop_button.clicked.connect(self.stop)
        self.denoise_button.clicked.connect(self.denoise)
        self.save_button.clicked.connect(self._ask_save)
        self.load_button.clicked.connect(self._ask_load)
        self.export_button.clicked.connect(self._ask_export)

        advanced = QCollapsible("Advanced")
        advanced.addWidget(self.fields.advanced.native)
        buttons = QGridLayout()
        buttons.addWidget(self.train_button, 0, 0)
        buttons.addWidget(self.stop_button, 0, 1)
        buttons.addWidget(self.save_button, 1, 0)
        buttons.addWidget(self.load_button, 1, 1)
        buttons.addWidget(self.export_button, 2, 0, 1, 2)
        buttons.addWidget(self.denoise_button, 3, 0, 1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.fields.basic.native)
        layout.addWidget(advanced)
        layout.addLayout(buttons)
        layout.addWidget(self.summary)
        layout.addWidget(self.plot)
        layout.addStretch()
        self.destroyed.connect(self.job.close)
        self.reset_choices()
        self._set_phase("idle")

    # -- napari hooks ------------------------------------------------------------------
    def reset_choices(self, *_args) -> None:
        """Refresh the layer picker; napari calls this when layers change."""
        self.fields.reset_choices()

    def event(self, event) -> bool:
        """Stop training when the widget is taken out of its dock (closed by the user)."""
        if event.type() == QEvent.Type.ParentChange and self.parent() is None:
            self.job.close()
        return super().event(event)

    # -- actions -------------------------------------------------------------------
    def train(self) -> None:
        """Copy the selected layer, build the config and start training in a worker."""
        try:
            config = self.fields.config()
            snapshot = jobs.LayerSnapshot.of(self.fields.image.value)
        except InputError as exc:
            show_error(str(exc))
            return
        self.config, self.snapshot, self.job = config, snapshot, jobs.Job()
        self.destroyed.connect(self.job.close)
        self.job.on_close.append(self._stop_following_dims)
        self.preview = PreviewSource(self.preview_interval_s)
        self._follow_dims()
        self.viewer.dims.events.current_step.connect(self._follow_dims)
        self.plot.clear()
        self._set_phase("training")
        self.job.cap_threads(config.device)
        jobs.start(
            self.job,
            iter_train,
            snapshot.data,
            config,
            stop_event=self.job.stop_event,
            preview=self.preview,
            desc="Noise2Inpaint training",
            doing="training",
            on_yield=self._on_train_event,
            on_return=self._on_trained,
            on_done=self._on_train_done,
        )

    def stop(self) -> None:
        """Stop training (the model so far is kept and used) or cancel the denoising."""
        if self.phase == "training":
            self.job.stop_event.set()
        elif self.phase == "denoising":
            self.job.cancel()

    def denoise(self) -> None:
        """Denoise the selected layer with the current (trained or loaded) model."""
        try:
            snapshot = jobs.LayerSnapshot.of(self.fields.image.value)
        except InputError as exc:
            show_error(str(exc))
            return
        self.snapshot, self.job = snapshot, jobs.Job()
        self.destroyed.connect(self.job.close)
        self._start_denoise()

    def save(self, path: str) -> None:
        """Write the current model to ``path`` (a ``.safetensors`` file)."""
        try:
            save_model(self.model, path)
        except (InputError, OSError) as exc:
            show_error(jobs.error_message(exc, "saving the model"))
            return
        show_info(f"Model saved to {path}.")

    def load(self, path: str) -> None:
        """Load a model from ``path`` to denoise with it."""
        try:
            self.model = load_model(path)
        except (InputError, OSError) as exc:
            show_error(jobs.error_message(exc, "loading the model"))
            return
        self._set_phase("idle")
        self.summary.show_model(self.model, trained=False)
        show_info(f"Model loaded from {path}.")

    def export(self, path: str) -> None:
        """Export the current model to ``path`` (a BioImage Model Zoo ``.zip``) in a worker.

        The plane of the selected layer in view is the package's example image.
        """
        if self.model is None or self.phase != "idle":
            show_error(
                "No model yet: train one or load a model file first."
                if self.model is None
                else f"Wait until {self.phase} has finished."
            )
            return
        axis = self.model.config.channel_axis
        image = model_info.plane_in_view(self.fields.image.value, self.viewer, axis)
        self.job = jobs.Job()
        self.destroyed.connect(self.job.close)
        self._set_phase("exporting")
        self.job.cap_threads("cpu")
        jobs.start(
            self.job,
            model_info.export_job,
            self.model,
            path,
            image,
            desc="BioImage Model Zoo export",
            doing="exporting the model",
            on_yield=lambda *_: None,
            on_return=lambda written: show_info(f"Model exported to {written}."),
            on_done=self._end_job,
        )

    # -- worker callbacks ------------------------------------------------------------
    def _on_train_event(self, event) -> None:
        if isinstance(event, PreviewUpdate):
            channel = self._current_channel()
            show_preview(self.viewer, self.snapshot, event.image, channel)
            return
        eta = f", ETA {event.eta_s:.0f} s" if event.eta_s is not None else ""
        text = f"step {event.step}, loss {event.loss:.4g}{eta}"
        jobs.advance(self.job.worker, event.step, event.total_steps, text)
        self.plot.add(event.step, event.loss, event.val_loss)
        now = time.perf_counter()
        if now - self._last_plot >= self.plot_interval_s:
            self._last_plot = now
            self.plot.redraw()

    def _on_trained(self, model) -> None:
        self.model = model
        self.summary.show_model(model, trained=True)
        if model.history.get("stopped_early"):
            show_info(f"Training stopped after {model.history['steps']} steps; model kept.")
        self._start_denoise()

    def _on_train_done(self) -> None:
        self._stop_following_dims()
        self.plot.redraw()
        if self.phase == "training":  # error or abort: no denoising follows
            self._end_job()

    def _start_denoise(self) -> None:
        if self.model is None:
            show_error("No model yet: train one or load a model file first.")
            return
        self._set_phase("denoising")
        self.job.cap_threads(self.model.config.device)
        if self.snapshot.lazy:
            start_chunked_denoise(
                self.viewer,
                self.job,
                self.snapshot,
                self.model,
                self.model.config.device,
                self._end_job,
            )
            return
        jobs.start(
            self.job,
            jobs.denoise_job,
            self.model,
            self.snapshot.data,
            self.model.config.channel_axis,
            self.model.config.device,
            desc="Noise2Inpaint denoising",
            doing="denoising",
            on_yield=lambda p: jobs.advance(self.job.worker, p.done, p.total, "denoising"),
            on_return=self._on_denoised,
            on_done=self._end_job,
        )

    def _on_denoised(self, result) -> None:
        image, limits = result
        self.viewer.add_image(image, **self.snapshot.layer_kwargs("N2I", contrast_limits=limits))

    # -- helpers -------------------------------------------------------------------
    def _end_job(self) -> None:
        self.job.restore_threads()
        self._set_phase("idle")

    def _stop_following_dims(self) -> None:
        """Stop sending the plane in view to the training thread (idempotent)."""
        self.viewer.dims.events.current_step.disconnect(self._follow_dims)

    def _follow_dims(self, *_args) -> None:
        """Give the training thread the plane the user is looking at (a slab around it in 3D)."""
        index = data_index(self.snapshot, self.viewer.dims.point)
        axis = self.config.channel_axis
        if self.config.spatial_dims == 3:
            slab_depth = self.preview.slab_depth
            self.preview.set_plane(*current_slab(self.snapshot, index, axis, slab_depth))
        else:
            self.preview.set_plane(current_plane(self.snapshot, index, axis))

    def _current_channel(self) -> int:
        axis = self.config.channel_axis
        return 0 if axis is None else data_index(self.snapshot, self.viewer.dims.point)[axis]

    def _set_phase(self, phase: str) -> None:
        """Enable the buttons that make sense in ``phase``.

        ``phase`` is "idle", "training", "denoising" or "exporting".
        """
        self.phase = phase
        busy = phase != "idle"
        self.train_button.setEnabled(not busy)
        self.stop_button.setEnabled(phase in ("training", "denoising"))
        self.denoise_button.setEnabled(not busy and self.model is not None)
        self.save_button.setEnabled(not busy and self.model is not None)
        self.export_button.setEnabled(not busy and self.model is not None)
        self.load_button.setEnabled(not busy)

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
