"""The "Denoise with a trained model" widget: model file + Image layer -> new layer."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import dask.array as da
from magicgui.widgets import ComboBox, Container, FileEdit, Label, PushButton
from napari.utils.notifications import show_error, show_info

from napari_noise2inpaint import InputError, available_devices, load_model
from napari_noise2inpaint.chunked import plan_chunks
from napari_noise2inpaint.ome_zarr import create_ome_zarr, default_axes

from . import jobs, model_info
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
            self._run_chunked(snapshot, model)
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

    def _run_chunked(self, snapshot: jobs.LayerSnapshot, model) -> None:
        """Denoise a large lazy layer chunk by chunk into a new OME-Zarr in a temp folder.

        The result layer is added at once and fills in as chunks finish.
        """
        axis = model.config.channel_axis
        try:
            plan = plan_chunks(model, snapshot.data.shape, channel_axis=axis)
            folder = Path(tempfile.mkdtemp(prefix="noise2inpaint-"))
            out = folder / f"{_safe(snapshot.name)}_n2i.zarr"
            axes = default_axes(snapshot.data.ndim, axis)
            target = create_ome_zarr(
                out,
                snapshot.data.shape,
                plan.chunk_shape,
                axes,
                list(snapshot.scale),
                name=snapshot.name,
            )
        except (InputError, OSError) as exc:
            show_error(jobs.error_message(exc, "preparing the output"))
            self._on_done()
            return
        layer = self.viewer.add_image(
            da.from_zarr(target),
            **snapshot.layer_kwargs(
                "N2I", contrast_limits=snapshot.contrast, metadata={"path": str(out)}
            ),
        )
        show_info(f"Denoising chunk by chunk into {out}; the layer fills in as chunks finish.")

        def advance(progress) -> None:
            jobs.advance(self.job.worker, progress.done, progress.total, "denoising")
            layer.refresh()

        jobs.start(
            self.job,
            jobs.chunked_denoise_job,
            model,
            snapshot.data,
            target,
            axis,
            self.device.value,
            desc="Noise2Inpaint denoising (chunks)",
            doing="denoising",
            on_yield=advance,
            on_return=lambda _result: layer.refresh(),
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


def _safe(name: str) -> str:
    """Return a file-name-safe version of a layer name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "image"
