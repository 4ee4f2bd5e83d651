"""The training settings as magicgui fields, and the one config object they describe."""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, Container, FloatSpinBox, Label, SpinBox
from napari.layers import Image

from napari_noise2inpaint import InputError, Noise2InpaintConfig, available_devices
from napari_noise2inpaint.config import start_config
from napari_noise2inpaint.names import METHOD_NAMES, picker_choices
from napari_noise2inpaint.noise import AUTO
from napari_noise2inpaint.prior import ADAPT_LEARNING_RATE, config_for_init, fixed_fields

from .noise_fields import NoiseFields
from .start_fields import StartFields
from .tooltips import NOISE_TOOLTIPS, TOOLTIPS, apply_tooltips

#: Fields that a starting model decides (its architecture); disabled while one is chosen.
ARCHITECTURE_FIELDS = ("unrolls", "features", "mode", "method")
CAMERA_HINT = "Integer camera data: the Poisson-Gaussian noise model (Advanced) may suit it better."


def image_combo(viewer) -> ComboBox:
    """Make a picker of the viewer's Image layers, refreshed by ``reset_choices``."""

    def choices(_widget):
        return [(layer.name, layer) for layer in viewer.layers if isinstance(layer, Image)]

    return ComboBox(label="image", choices=choices, nullable=False)


class TrainFields:
    """Basic and advanced training settings; :meth:`config` turns them into a config.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer whose Image layers can be picked.
    """

    def __init__(self, viewer):
        defaults = start_config("auto")
        self.image = image_combo(viewer)
        self.start = StartFields()
        self.start_from, self.start_file = self.start.start_from, self.start.start_file
        self.mode = ComboBox(
            label="mode", choices=[("2D planes", 2), ("3D", 3)], value=defaults.spatial_dims
        )
        self.rho = FloatSpinBox(
            label="rho (loss-set fraction)", min=0.01, max=0.5, step=0.01, value=defaults.rho
        )
        self.unrolls = SpinBox(label="unrolls K", min=1, max=10, value=defaults.unrolls)
        self.length_unit = ComboBox(label="train for", choices=["steps", "epochs"], value="steps")
        self.length = FloatSpinBox(label="length", min=0.01, max=1e6, step=10, value=defaults.steps)
        self.time_limit = FloatSpinBox(
            label="time limit (min)",
            min=0,
            max=1e5,
            step=1,
            value=(defaults.time_limit or 0) / 60,
        )
        self.camera_hint = Label(value=CAMERA_HINT)
        self.camera_hint.native.setWordWrap(True)
        self.basic = Container(
            widgets=[
                self.image,
                self.camera_hint,
                *self.start.widgets,
                self.mode,
                self.rho,
                self.unrolls,
                self.length_unit,
                self.length,
                self.time_limit,
            ]
        )
        self.method = ComboBox(
            label="method", choices=picker_choices(METHOD_NAMES, ("n2i", "n2v")), value="n2i"
        )
        self.patch_size = SpinBox(
            label="patch size", min=8, max=512, step=8, value=defaults.patch_size
        )
        self.patch_depth = SpinBox(
            label="patch depth (3D)", min=4, max=256, step=4, value=defaults.patch_depth
        )
        self.batch_size = SpinBox(label="batch size", min=1, max=256, value=defaults.batch_size)
        self.learning_rate = FloatSpinBox(
            label="learning rate", min=1e-6, max=1.0, step=1e-4, value=defaults.learning_rate
        )
        self.learning_rate.native.setDecimals(6)
        self.features = SpinBox(label="U-Net features", min=1, max=256, value=defaults.features)
        self.seed = SpinBox(label="seed", min=0, max=2**31 - 1, value=defaults.seed)
        self.val_fraction = FloatSpinBox(
            label="validation fraction", min=0, max=0.9, step=0.05, value=defaults.val_fraction
        )
        self.device = ComboBox(label="device", choices=["auto", *available_devices()])
        self.channel_axis = ComboBox(label="channel axis", choices=self._axis_choices)
        self.noise = NoiseFields(viewer)
        self.advanced = Container(
            widgets=[
                self.method,
                self.patch_size,
                self.patch_depth,
                self.batch_size,
                self.learning_rate,
                self.features,
                self.seed,
                self.val_fraction,
                self.device,
                self.channel_axis,
                *self.noise.widgets,
            ]
        )
        apply_tooltips(self, TOOLTIPS)
        apply_tooltips(self.noise, NOISE_TOOLTIPS)
        self._scratch_values = self._remembered_values()
        self.image.changed.connect(self.channel_axis.reset_choices)
        self.image.changed.connect(self._enable_mode)
        self.image.changed.connect(self._show_camera_hint)
        self.noise.model.changed.connect(self._show_camera_hint)
        self.mode.changed.connect(self._enable_mode)
        self.start_from.changed.connect(self._follow_start_model)
        self.start_file.changed.connect(self._follow_start_model)
        self._follow_start_model()
        self._show_camera_hint()

    def start_model(self):
        """Return the model that training starts from, or None for scratch."""
        return self.start.model()

    def _follow_start_model(self, *_args) -> None:
        """Show a starting model's architecture in its (disabled) fields; free them for scratch."""
        try:
            model = self.start_model()
        except (InputError, OSError):
            model = None  # reported when the user presses Train or Denoise now
        if model is not None and self.unrolls.enabled:  # leaving scratch: remember its values
            self._scratch_values = self._remembered_values()
        if model is None:
            for widget, value in self._scratch_values.items():
                widget.value = value
        else:
            config = model.config
            self.unrolls.value, self.features.value = config.unrolls, config.features
            self.method.value = config.method
            self.mode.value = config.spatial_dims
            self.noise.model.value = config.noise_model
            self.learning_rate.value = ADAPT_LEARNING_RATE
        for name in ARCHITECTURE_FIELDS:
            getattr(self, name).enabled = model is None
        self.noise.model.enabled = model is None or "noise_model" not in fixed_fields(model)
        self._enable_mode()
        self._show_camera_hint()

    def noise_override(self, model) -> dict | None:
        """Return the noise settings that replace ``model``'s own estimate, or None.

        Models that estimate each image's noise (the built-in prior) take the noise model
        chosen here instead, with its gain/offset or background region.

        Raises
        ------
        InputError
            The background region is not a rectangle over the image.
        """
        if model.config.noise_model != AUTO or self.noise.model.value == AUTO:
            return None
        return self.noise.values(self.image.value)

    def _remembered_values(self) -> dict:
        """Return the scratch settings that a starting model replaces (restored for scratch)."""
        widgets = [getattr(self, name) for name in ARCHITECTURE_FIELDS]
        return {w: w.value for w in [*widgets, self.learning_rate, self.noise.model]}

    def _show_camera_hint(self, *_args) -> None:
        """Suggest the Poisson-Gaussian model for integer data while white Gaussian is chosen."""
        layer = self.image.value
        integer = layer is not None and np.issubdtype(layer.dtype, np.integer)
        scratch = self.start_from.value == "scratch"
        self.camera_hint.visible = integer and scratch and self.noise.model.value == "gaussian"

    def _enable_mode(self, *_args) -> None:
        """Offer 3D only for layers with a Z axis (3 or more axes, not RGB), when from scratch."""
        layer = self.image.value
        stack = layer is not None and layer.data.ndim >= 3 and not layer.rgb
        self.mode.enabled = stack and self.start_from.value == "scratch"
        self.patch_depth.enabled = self.spatial_dims == 3

    @property
    def spatial_dims(self) -> int:
        """2 or 3: the mode chosen (or the starting model's), 2 when the layer has no Z axis."""
        layer = self.image.value
        stack = layer is not None and layer.data.ndim >= 3 and not layer.rgb
        return self.mode.value if stack else 2

    def _axis_choices(self, _widget):
        layer = self.image.value
        shape = layer.data.shape if layer is not None else ()
        return [("none", None)] + [(f"{i} (size {n})", i) for i, n in enumerate(shape[:-2])]

    def reset_choices(self) -> None:
        """Refresh the layer and channel-axis pickers (napari calls this on layer changes)."""
        self.basic.reset_choices()
        self.channel_axis.reset_choices()
        self._enable_mode()
        self.noise.region.reset_choices()

    def config(self, init=None) -> Noise2InpaintConfig:
        """Build a validated config from the settings (the architecture of ``init`` if given).

        Raises
        ------
        InputError
            A setting is invalid (for example a patch size the U-Net cannot use, or a
            background region that does not overlap the image).
        """
        steps = self.length_unit.value == "steps"
        config = Noise2InpaintConfig(
            method=self.method.value,
            rho=self.rho.value,
            unrolls=self.unrolls.value,
            features=self.features.value,
            patch_size=self.patch_size.value,
            spatial_dims=self.spatial_dims,
            patch_depth=self.patch_depth.value,
            batch_size=self.batch_size.value,
            learning_rate=self.learning_rate.value,
            steps=max(1, round(self.length.value)) if steps else None,
            epochs=None if steps else self.length.value,
            time_limit=self.time_limit.value * 60 or None,
            val_fraction=self.val_fraction.value,
            channel_axis=self.channel_axis.value,
            seed=self.seed.value,
            device=self.device.value,
            **self.noise.values(self.image.value),
        )
        return config if init is None else config_for_init(config, init, learning_rate=None)
