"""The training settings as magicgui fields, and the one config object they describe."""

from __future__ import annotations

import math

import numpy as np
from magicgui.widgets import ComboBox, Container, FloatSpinBox, Label, SpinBox
from napari.layers import Image

from napari_noise2inpaint import InputError, Noise2InpaintConfig, available_devices
from napari_noise2inpaint._widgets.noise_fields import NoiseFields
from napari_noise2inpaint._widgets.start_fields import StartFields
from napari_noise2inpaint._widgets.tooltips import NOISE_TOOLTIPS, TOOLTIPS, apply_tooltips
from napari_noise2inpaint.config import start_config
from napari_noise2inpaint.config_rules import bounds
from napari_noise2inpaint.names import METHOD_NAMES, picker_choices
from napari_noise2inpaint.noise import AUTO, noise_class
from napari_noise2inpaint.prior import ADAPT_LEARNING_RATE, config_for_init, fixed_fields

#: Fields that a starting model decides (its architecture); disabled while one is chosen.
ARCHITECTURE_FIELDS = ("unrolls", "features", "mode", "method")
CAMERA_HINT = "Integer camera data: the Poisson-Gaussian noise model (Advanced) may suit it better."
#: Where a spin box is narrower than the config's rules (:func:`.config_rules.bounds`): a
#: ``(floor, cap)`` per config field, None where the rule's end is kept.
UI_BOUNDS = {
    # positive, with no upper rule: the smallest length the box shows (2 decimals); a box
    # needs an end
    "epochs": (0.01, 1e6),
    # no upper rule: a box needs an end (about 70 days, in seconds)
    "time_limit": (None, 6e6),
    # positive, with no upper rule: a floor the box shows (6 decimals); a box needs an end
    "learning_rate": (1e-6, 1.0),
    # the rule only keeps 1 out: keep at least a tenth of the data for training
    "val_fraction": (None, 0.9),
}


def spin_box(kind, name: str, label: str, value, *, step=1, scale=1.0):
    """Make a spin box for the config field ``name``, bounded by its rules.

    Parameters
    ----------
    kind : type
        ``SpinBox`` or ``FloatSpinBox``.
    name : str
        The config field; its range is :func:`.config_rules.bounds`, narrowed by
        :data:`UI_BOUNDS`.
    label, value, step
        As magicgui takes them.
    scale : float
        Config units per unit shown (60 for a time in minutes).
    """
    low, high = bounds(name)
    floor, cap = UI_BOUNDS.get(name, (None, None))
    low = (low if floor is None else max(low, floor)) / scale
    high = (high if cap is None else min(high, cap)) / scale
    widget = kind(label=label, min=low, max=high, step=step, value=value)
    if kind is FloatSpinBox and 0 < low < 1:  # Qt rounds the bounds to the decimals shown
        widget.native.setDecimals(max(widget.native.decimals(), math.ceil(-math.log10(low))))
        widget.min = low
    return widget


def patch_box(name: str, label: str, defaults: Noise2InpaintConfig):
    """Make a patch side box in steps of the sides that the default U-Net takes (``2 ** depth``).

    A starting model of another depth has its patch sides checked when Train is pressed.
    """
    multiple = 2**defaults.depth
    box = spin_box(SpinBox, name, label, getattr(defaults, name), step=multiple)
    box.min = max(box.min, multiple)
    return box


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
        self.rho = spin_box(FloatSpinBox, "rho", "rho (loss-set fraction)", defaults.rho, step=0.01)
        self.unrolls = spin_box(SpinBox, "unrolls", "unrolls K", defaults.unrolls)
        self.length_unit = ComboBox(label="train for", choices=["steps", "epochs"], value="steps")
        # one box for steps and epochs: both positive, steps rounded to whole ones
        self.length = spin_box(FloatSpinBox, "epochs", "length", defaults.steps, step=10)
        # the rule keeps 0 out: 0 here means no limit (None)
        self.time_limit = spin_box(
            FloatSpinBox,
            "time_limit",
            "training time limit (min)",
            (defaults.time_limit or 0) / 60,
            scale=60,
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
        self.patch_size = patch_box("patch_size", "patch size", defaults)
        self.patch_depth = patch_box("patch_depth", "patch depth (3D)", defaults)
        self.batch_size = spin_box(SpinBox, "batch_size", "batch size", defaults.batch_size)
        self.learning_rate = spin_box(
            FloatSpinBox, "learning_rate", "learning rate", defaults.learning_rate, step=1e-4
        )
        self.features = spin_box(SpinBox, "features", "U-Net features", defaults.features)
        self.seed = spin_box(SpinBox, "seed", "seed", defaults.seed)
        self.val_fraction = spin_box(
            FloatSpinBox, "val_fraction", "validation fraction", defaults.val_fraction, step=0.05
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
        white = noise_class(self.noise.model.value).white
        self.camera_hint.visible = integer and scratch and white

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
