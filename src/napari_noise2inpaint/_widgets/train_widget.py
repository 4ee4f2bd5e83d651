"""The "Noise2Inpaint" dock widget: denoise at once, train on a layer, watch it, get the result."""

from __future__ import annotations

import time

from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QEvent
from qtpy.QtWidgets import QWidget

from napari_noise2inpaint import InputError, PreviewSource, PreviewUpdate
from napari_noise2inpaint._widgets import model_info, train_layout
from napari_noise2inpaint._widgets.denoising import add_result, start_denoise
from napari_noise2inpaint._widgets.fields import TrainFields
from napari_noise2inpaint._widgets.jobs import Job, error_message
from napari_noise2inpaint._widgets.loss_plot import LossPlot
from napari_noise2inpaint._widgets.model_actions import ModelFileActions
from napari_noise2inpaint._widgets.preview import RunPreview
from napari_noise2inpaint._widgets.progress_panel import ProgressPanel
from napari_noise2inpaint._widgets.runs import (
    Phase,
    PhaseChange,
    Progress,
    RunClock,
    State,
    train_run,
)
from napari_noise2inpaint._widgets.snapshot import LayerSnapshot
from napari_noise2inpaint._widgets.units_notice import say_units_once
from napari_noise2inpaint.tasks.train import TrainOutcome

#: Largest fraction of the training time that live previews may take.
PREVIEW_BUDGET = 0.1


class TrainWidget(ModelFileActions, QWidget):
    """Train Noise2Inpaint on an Image layer and add the denoised result as a new layer.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer holding the layers.
    """

    #: Shortest seconds between live previews during training.
    preview_interval_s = 3.0
    #: Seconds between redraws of the loss curve.
    plot_interval_s = 1.0

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        say_units_once(napari_viewer)
        self.model = None
        self.config = None
        self.state = State.IDLE
        self.job = Job()
        self.snapshot: LayerSnapshot | None = None
        self.preview: PreviewSource | None = None
        self.run_preview: RunPreview | None = None
        self._suffix = "N2I"
        self._lazy_next = None  # the model that denoises a lazy layer once training has ended
        self._last_plot = 0.0
        self.fields = TrainFields(napari_viewer)
        self.plot = LossPlot()
        self.panel = ProgressPanel()
        self.summary = model_info.ModelSummary()
        self.noise_label, self.card_label = self.summary.noise, self.summary.card
        train_layout.make_buttons(self)
        train_layout.lay_out(self)
        self.fields.start_from.changed.connect(self._set_state)
        self.reset_choices()
        self._set_state(State.IDLE)

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
        """Copy the selected layer, build the config and train, then denoise, in a worker."""
        if not self._idle():
            return
        try:
            init = self.fields.start_model()
            config = self.fields.config(init)
            snapshot = LayerSnapshot.of(self.fields.image.value)
            snapshot.check_not_constant()
        except (InputError, OSError) as exc:
            show_error(error_message(exc, "preparing the training"))
            return
        self.config, self.snapshot = config, snapshot
        self.preview = PreviewSource(self.preview_interval_s, budget=PREVIEW_BUDGET)
        self.run_preview = RunPreview(
            self.viewer, snapshot, self.preview, config.channel_axis, config.spatial_dims
        )
        job = self._new_job()
        job.on_close.append(self._stop_following_dims)
        self._follow_dims()
        self.viewer.dims.events.current_step.connect(self._follow_dims)
        self.plot.clear()
        self._set_state(State.TRAINING)
        self.panel.start(Phase.PREPARING.value)
        job.start(
            train_run,
            snapshot.data,
            config,
            init=init,
            stop_event=job.stop_event,
            preview=self.preview,
            clock=RunClock(snapshot.data.size),
            denoise=not snapshot.lazy,
            doing="training",
            on_yield=self._on_run_event,
            on_return=self._on_run_result,
            on_done=self._on_run_done,
            device=config.device,
        )

    def stop(self) -> None:
        """Stop training (the model so far is kept and used) or cancel the denoising."""
        if self.state is State.TRAINING:
            self.job.stop()
        elif self.state is State.DENOISING:
            self.job.cancel()

    def denoise(self) -> None:
        """Denoise the selected layer now: with the current model, else the starting model."""
        if not self._idle():
            return
        try:
            model = self.model or self.fields.start_model()
            if model is None:
                raise InputError(
                    "No model yet: start from the built-in prior, load a model or train one."
                )
            snapshot = LayerSnapshot.of(self.fields.image.value)
            if model.normalises_each_image:
                snapshot.check_not_constant()
            noise_settings = self.fields.noise_override(model)
        except (InputError, OSError) as exc:
            show_error(error_message(exc, "loading the model"))
            return
        self.snapshot, self.used_model = snapshot, model
        self._set_state(State.DENOISING)
        suffix = model_info.result_suffix(model)
        start_denoise(
            self.viewer,
            self._new_job(),
            snapshot,
            model,
            device=self.fields.device.value,
            suffix=suffix,
            panel=self.panel,
            on_done=self._end_job,
            noise_settings=noise_settings,
        )

    # -- worker callbacks ------------------------------------------------------------
    def _on_run_event(self, event) -> None:
        if isinstance(event, Progress):
            for step in event.steps:
                self.plot.add(step.step, step.loss, step.val_loss)
            self.panel.update_progress(event.fraction, event.left_s)
            now = time.perf_counter()
            if now - self._last_plot >= self.plot_interval_s:
                self._last_plot = now
                self.plot.redraw()
        elif isinstance(event, PreviewUpdate):
            self.run_preview.show(event.image)
        elif isinstance(event, PhaseChange) and event.phase.value != self.panel.phase:
            self.panel.next_phase(event.phase.value)
            if event.phase is Phase.DENOISING:
                self._set_state(State.DENOISING)
        elif isinstance(event, TrainOutcome):
            self._on_trained(event)

    def _on_trained(self, outcome: TrainOutcome) -> None:
        self._stop_following_dims()
        self.plot.redraw()
        self._lazy_next = outcome.model if self.snapshot.lazy else None
        history = outcome.trained.history
        if outcome.nothing_trained:
            self._suffix = model_info.result_suffix(outcome.model) if outcome.model else "N2I"
            show_info(self._nothing_trained_text(outcome))
            return
        self.model = outcome.model
        self.summary.show_model(self.model, trained=True)
        method = model_info.METHODS.get(self.model.config.method, "N2I")
        kept = f"{method}, {history['start']}"
        self._suffix = kept if outcome.kept_start else model_info.result_suffix(self.model)
        line = model_info.adaptation_line(history)
        if line:
            show_info(line)
        elif self.job.stopped_by_user:
            show_info(f"Training stopped after {history['steps']} steps; model kept.")
        note = model_info.too_short_note(self.plot.val_steps, self.plot.val_losses)
        if note and not outcome.kept_start:
            show_info(note)

    def _nothing_trained_text(self, outcome: TrainOutcome) -> str:
        text = "Stopped before the first training step: nothing was trained"
        if outcome.model is not None:
            return f"{text}; the starting model is used as it was."
        return f"{text}; the previous model is kept." if self.model else f"{text}."

    def _on_run_result(self, result) -> None:
        if result is not None:
            add_result(self.viewer, self.snapshot, result, self._suffix, self.run_preview)

    def _on_run_done(self) -> None:
        self._stop_following_dims()
        self.plot.redraw()
        self.panel.finish()
        self.run_preview.remove()  # not replaced by a result: the run failed, or is lazy
        model, self._lazy_next = self._lazy_next, None
        if model is None or self.job.closed:
            self._end_job()
            return
        self._set_state(State.DENOISING)  # a lazy layer: chunk by chunk, in a job of its own
        start_denoise(
            self.viewer,
            self._new_job(),
            self.snapshot,
            model,
            device=self.config.device,
            suffix=self._suffix,
            panel=self.panel,
            on_done=self._end_job,
        )

    # -- helpers -------------------------------------------------------------------
    def _idle(self) -> bool:
        """Whether nothing runs; otherwise say so (a second job never starts)."""
        if self.state is State.IDLE:
            return True
        show_error(f"Wait until {self.state.value} has finished.")
        return False

    def _new_job(self) -> Job:
        self.job = Job()
        self.destroyed.connect(self.job.close)
        return self.job

    def _end_job(self) -> None:
        self.panel.finish()
        self._set_state(State.IDLE)

    def _stop_following_dims(self) -> None:
        """Stop sending the plane in view to the training thread (idempotent)."""
        self.viewer.dims.events.current_step.disconnect(self._follow_dims)

    def _follow_dims(self, *_args) -> None:
        """Give the training thread the plane the user is looking at (a slab around it in 3D)."""
        self.run_preview.follow()

    def _set_state(self, state: State | object = None) -> None:
        """Enable the buttons that make sense in ``state`` (default: the current one)."""
        self.state = state if isinstance(state, State) else self.state
        idle = self.state is State.IDLE
        has_model = self.model is not None
        self.train_button.setEnabled(idle)
        self.stop_button.setEnabled(self.state in (State.TRAINING, State.DENOISING))
        start = self.fields.start_from.current_choice
        self.denoise_button.setEnabled(idle and (has_model or start != "scratch"))
        self.denoise_button.setText(
            "Denoise now (current model)" if has_model else f"Denoise now ({start})"
        )
        for button in (self.save_button, self.export_button):
            button.setEnabled(idle and self.savable_model is not None)
        self.load_button.setEnabled(idle)
