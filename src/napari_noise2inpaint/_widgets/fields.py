"""The training settings as magicgui fields, and the one config object they describe."""

from __future__ import annotations

from magicgui.widgets import ComboBox, Container, FloatSpinBox, SpinBox
from napari.layers import Image

from napari_noise2inpaint import Noise2InpaintConfig, available_devices

from .noise_fields import NoiseFields


def image_combo(viewer) -> ComboBox:
    """Make a picker of the viewer's Image layers, refreshed by ``reset_choices``."""

    def choices(_widget):
        return [(layer.name, layer) for layer in viewer.layers if isinstance(layer, Image)]

    return ComboBox(label="image", choices=choices, nullable=False)


def widget_defaults() -> Noise2InpaintConfig:
    """Start values of the fields: the config's defaults with a GPU, lighter ones without.

    On a CPU-only machine K=2 with 16 features and a 2-minute limit gives a visible result in
    minutes (benchmarks/results/single_image.md: +6.9 dB in 60 s where K=5 gave +2.5 dB).
    """
    defaults = Noise2InpaintConfig()
    if available_devices() == ["cpu"]:
        return defaults.replace(unrolls=2, features=16, batch_size=8, steps=1000, time_limit=120)
    return defaults


class TrainFields:
    """Basic and advanced training settings; :meth:`config` turns them into a config.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer whose Image layers can be picked.
    """

    def __init__(self, viewer):
        defaults = widget_defaults()
        self.image = image_combo(viewer)
        self.mode = ComboBox(
            label="mode", choices=[("2D planes", 2), ("3D", 3)], value=defaults.spatial_dims
        )
        self.mode.tooltip = (
            "2D planes: each plane is denoised on its own. 3D: the last three axes (Z, Y, X) "
            "are one volume (3D U-Net), for Z stacks whose planes are correlated."
        )
        self.rho = FloatSpinBox(
            label="rho (loss-set fraction)", min=0.01, max=0.5, step=0.01, value=defaults.rho
        )
        self.unrolls = SpinBox(label="unrolls K", min=1, max=10, value=defaults.unrolls)
        self.length_unit = ComboBox(label="train for", choices=["steps", "epochs"], value="steps")
        self.length = FloatSpinBox(label="length", min=0.01, max=1e6, step=10, value=defaults.steps)
        self.time_limit = FloatSpinBox(
            label="time limit (min, 0 = none)",
            min=0,
            max=1e5,
            step=1,
            value=(defaults.time_limit or 0) / 60,
        )
        self.basic = Container(
            widgets=[
                self.image,
                self.mode,
                self.rho,
                self.unrolls,
                self.length_unit,
                self.length,
                self.time_limit,
            ]
        )
        self.method = ComboBox(
            label="method", choices=[("N2I", "n2i"), ("Noise2Void", "n2v")], value="n2i"
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
        self.image.changed.connect(self.channel_axis.reset_choices)
        self.image.changed.connect(self._enable_mode)
        self.mode.changed.connect(self._enable_mode)
        self._enable_mode()

    def _enable_mode(self, *_args) -> None:
        """Offer 3D only for layers with a Z axis (3 or more axes, not RGB)."""
        layer = self.image.value
        self.mode.enabled = layer is not None and layer.data.ndim >= 3 and not layer.rgb
        self.patch_depth.enabled = self.spatial_dims == 3

    @property
    def spatial_dims(self) -> int:
        """2 or 3: the mode chosen, 2 when the layer has no Z axis."""
        return self.mode.value if self.mode.enabled else 2

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

    def config(self) -> Noise2InpaintConfig:
        """Build a validated config from the settings.

        Raises
        ------
        InputError
            A setting is invalid (for example a patch size the U-Net cannot use, or a
            background region that does not overlap the image).
        """
        steps = self.length_unit.value == "steps"
        return Noise2InpaintConfig(
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
