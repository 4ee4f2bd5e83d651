"""The "Batch and trust" widget: a model applied to several layers or a folder, with checks.

The model is chosen explicitly: the built-in prior, a model file, or the model of the
Noise2Inpaint training widget (trained or loaded there).

- **Apply to layers**: the chosen Image layers, one after the other, each into a new layer
  "<name> (N2I, ...)", with "<name> (N2I uncertainty)" and "<name> (N2I residual)" on request
  (placed like the input), and the residual check's verdict;
- **Apply to folder**: every image of a folder into float32 TIFFs (with the input's pixel
  sizes) in the output folder, by default a folder "N2I" inside the input folder; results
  already there stop the run, are skipped or are replaced, as chosen (never an input);
- **Noise report**: the noise estimated from the chosen layer, and the noise model it suggests.

Everything runs in napari's ``thread_worker`` with progress and **Stop**.
"""

from __future__ import annotations

from pathlib import Path

from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    Label,
    PushButton,
    Select,
    SpinBox,
)
from napari.layers import Image
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtWidgets import QSizePolicy

from napari_noise2inpaint import InputError, available_devices
from napari_noise2inpaint._widgets import existing, model_info
from napari_noise2inpaint._widgets.batch_runs import (
    folder_message,
    folder_run,
    layers_run,
    report_run,
)
from napari_noise2inpaint._widgets.fields import image_combo
from napari_noise2inpaint._widgets.jobs import Job, error_message
from napari_noise2inpaint._widgets.model_choice import ModelChoice
from napari_noise2inpaint._widgets.progress_panel import ProgressPanel
from napari_noise2inpaint._widgets.snapshot import LayerSnapshot, contrast_limits
from napari_noise2inpaint._widgets.tooltips import BATCH_TOOLTIPS, apply_tooltips
from napari_noise2inpaint._widgets.units_notice import say_units_once
from napari_noise2inpaint.tasks.batch import collect_inputs
from napari_noise2inpaint.trust.uncertainty import DEFAULT_MASKS, MAX_MASKS

DEFAULT_OUT = "N2I"


def _wrapping_label(label: str) -> Label:
    widget = Label(label=label)
    widget.native.setWordWrap(True)
    widget.native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    widget.visible = False
    return widget


def _folder(edit: FileEdit) -> Path | None:
    """Return the folder in a FileEdit, or None when it is empty."""
    text = str(edit.value).strip()
    return None if text in ("", ".") else Path(text)


class BatchWidget(Container):
    """Apply a model to several layers or a folder; uncertainty, residual, noise report.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer holding the layers.
    """

    def __init__(self, napari_viewer):
        self.viewer = napari_viewer
        say_units_once(napari_viewer)
        self.job = Job()
        self.model_choice = ModelChoice(napari_viewer, trained=True)
        self.model_source, self.model_file = self.model_choice.widgets
        self.layers = Select(label="layers", choices=self._image_names)
        self.uncertainty = CheckBox(text="uncertainty layer", value=False)
        self.masks = SpinBox(label="masks", min=2, max=MAX_MASKS, value=DEFAULT_MASKS)
        self.residual = CheckBox(text="residual layer and check", value=False)
        self.device = ComboBox(label="device", choices=["auto", *available_devices()])
        self.apply_layers = PushButton(text="Apply to layers")
        self.in_folder = FileEdit(label="input folder", mode="d")
        self.out_folder = FileEdit(label="output folder", mode="d")
        self.existing = ComboBox(
            label="existing results", choices=existing.CHOICES, value=existing.STOP
        )
        self.apply_folder = PushButton(text="Apply to folder")
        self.stop_button = PushButton(text="Stop", enabled=False)
        self.verdict = _wrapping_label("residual")
        self.report_layer = image_combo(napari_viewer)
        self.report_button = PushButton(text="Noise report")
        self.report = _wrapping_label("noise")
        self.panel = ProgressPanel()
        super().__init__(
            widgets=[
                self.model_source, self.model_file, self.layers, self.uncertainty,
                self.masks, self.residual, self.device, self.apply_layers, self.in_folder,
                self.out_folder, self.existing,
                self.apply_folder, self.stop_button, self.verdict, self.report_layer,
                self.report_button, self.report,
            ]
        )  # fmt: skip
        self.native.layout().addWidget(self.panel)
        apply_tooltips(self, BATCH_TOOLTIPS)
        self.apply_layers.changed.connect(self.run_layers)
        self.apply_folder.changed.connect(self.run_folder)
        self.report_button.changed.connect(self.run_report)
        self.stop_button.changed.connect(lambda *_: self.job.stop())
        self.native.destroyed.connect(lambda *_: self.job.close())
        self.reset_choices()

    def _image_names(self, _widget=None) -> list[str]:
        return [layer.name for layer in self.viewer.layers if isinstance(layer, Image)]

    def run_layers(self, *_args) -> None:
        """Denoise the chosen layers in a worker, adding each result as it comes."""
        try:
            self._check_idle()
            if not self.layers.value:
                raise InputError("Choose one or more image layers first.")
            snapshots = [LayerSnapshot.of(self.viewer.layers[name]) for name in self.layers.value]
            model = self._model()
        except (InputError, OSError, KeyError) as exc:
            show_error(error_message(exc, "starting"))
            return
        self.verdict.visible = False
        suffix = model_info.result_suffix(model)
        self._start(
            layers_run,
            model,
            snapshots,
            self.device.value,
            uncertainty=self.uncertainty.value,
            masks=self.masks.value,
            residual=self.residual.value,
            device=self.device.value,
            doing="denoising the layers",
            on_yield=lambda value: self._on_layer_event(value, suffix),
            on_return=lambda _: None,
        )

    def run_folder(self, *_args) -> None:
        """Denoise every image of the input folder into the output folder, in a worker."""
        try:
            self._check_idle()
            folder = _folder(self.in_folder)
            if folder is None or not folder.is_dir():
                raise InputError("Choose an input folder first.")
            files = collect_inputs(folder)
            out = _folder(self.out_folder) or folder / DEFAULT_OUT
            if not out.parent.is_dir():
                raise InputError(f"Cannot write into {out}: {out.parent} does not exist.")
            if self.existing.value == existing.STOP:
                existing.check_nothing_exists(files, out, self.uncertainty.value)
            model = self._model()
        except (InputError, OSError) as exc:
            show_error(error_message(exc, "starting"))
            return
        model_file = self.model_choice.chosen_file()
        self._start(
            folder_run,
            model,
            files,
            out,
            self.device.value,
            uncertainty=self.uncertainty.value,
            masks=self.masks.value,
            reads=[model_file] if model_file is not None else [],
            **existing.batch_options(self.existing.value),
            device=self.device.value,
            doing="denoising the folder",
            on_yield=self._on_progress,
            on_return=lambda outcome: self._on_folder_done(out, outcome),
        )

    def run_report(self, *_args) -> None:
        """Estimate the noise of the chosen layer in a worker and show the report."""
        try:
            self._check_idle()
            snapshot = LayerSnapshot.of(self.report_layer.value)
        except InputError as exc:
            show_error(str(exc))
            return
        self._start(
            report_run,
            snapshot,
            None,
            doing="estimating the noise",
            on_yield=self._on_progress,
            on_return=self._show_report,
        )

    def _check_idle(self) -> None:
        if self.job.running:
            raise InputError("Wait until the current run has finished, or press Stop.")

    def _model(self):
        """Return the chosen model: the built-in prior, a model file or the trained one."""
        return self.model_choice.model()

    def _start(self, func, *args, doing, on_yield, on_return, device="cpu", **kwargs) -> None:
        self.job = Job()
        self._set_running(True)
        self.panel.start(doing.capitalize())
        self.job.start(
            func,
            *args,
            stop_event=self.job.stop_event,
            doing=doing,
            on_yield=on_yield,
            on_return=on_return,
            on_done=self._on_done,
            device=device,
            **kwargs,
        )

    def _set_running(self, running: bool) -> None:
        for button in (self.apply_layers, self.apply_folder, self.report_button):
            button.enabled = not running
        self.stop_button.enabled = running

    def _on_done(self) -> None:
        self.panel.finish()
        self._set_running(False)

    def _on_progress(self, progress) -> None:
        self.panel.update_progress(progress.fraction, None)
        self.panel.label.setText(f"{self.panel.phase}: {progress.text}")

    def _on_layer_event(self, value, suffix: str) -> None:
        if hasattr(value, "fraction"):
            self._on_progress(value)
            return
        snapshot = value.snapshot
        self.viewer.add_image(
            value.image, **snapshot.layer_kwargs(suffix, contrast_limits=value.limits)
        )
        for name, extra in (("uncertainty", value.uncertainty), ("residual", value.residual)):
            if extra is not None:
                limits = contrast_limits(extra)
                self.viewer.add_image(
                    extra, **snapshot.layer_kwargs(f"N2I {name}", contrast_limits=limits)
                )
        if value.check is not None:
            self.verdict.value = f"{snapshot.name}: {value.check.text()}"
            self.verdict.visible = True

    def _on_folder_done(self, out: Path, outcome) -> None:
        text = folder_message(out, outcome)
        if outcome.failed:
            failures = "; ".join(f"{path.name}: {error}" for path, error in outcome.failed.items())
            show_warning(f"{text}; {len(outcome.failed)} failed: {failures}")
        else:
            show_info(f"{text}.")

    def _show_report(self, report) -> None:
        self.report.value = report.text()
        self.report.visible = True
