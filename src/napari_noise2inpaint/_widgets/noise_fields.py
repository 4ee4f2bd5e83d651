"""The noise-model settings of the train widget: model choice, gain/offset, background region."""

from __future__ import annotations

import math

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, FloatSpinBox
from napari.layers import Shapes

from napari_noise2inpaint import InputError
from napari_noise2inpaint.names import NOISE_NAMES, picker_choices
from napari_noise2inpaint.noise import noise_class

NOISE_MODELS = picker_choices(NOISE_NAMES)
WHOLE_IMAGE = "whole image"


class NoiseFields:
    """Noise model picker and the settings of the chosen model (the others are hidden).

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer whose Shapes layers can mark a background region.
    """

    def __init__(self, viewer):
        self.viewer = viewer
        self.model = ComboBox(label="noise model", choices=NOISE_MODELS, value="gaussian")
        self.estimate = CheckBox(text="estimate gain and offset from data", value=True)
        self.gain = FloatSpinBox(label="gain", min=0, max=1e9, step=0.1, value=1.0)
        self.offset = FloatSpinBox(label="offset", min=-1e9, max=1e9, step=1, value=0.0)
        for box in (self.gain, self.offset):
            box.native.setDecimals(4)
        self.region = ComboBox(label="background region", choices=self._region_choices)
        self.widgets = [self.model, self.estimate, self.gain, self.offset, self.region]
        self.model.changed.connect(self.update_visibility)
        self.estimate.changed.connect(self.update_visibility)
        self.update_visibility()

    def _region_choices(self, _widget):
        shapes = [(layer.name, layer) for layer in self.viewer.layers if isinstance(layer, Shapes)]
        return [(WHOLE_IMAGE, None), *shapes]

    def update_visibility(self, *_args) -> None:
        """Show only the settings of the chosen noise model."""
        kind = noise_class(self.model.value)
        self.estimate.visible = kind.signal_dependent
        self.gain.visible = self.offset.visible = kind.signal_dependent and not self.estimate.value
        self.region.visible = kind.background_region

    def values(self, image_layer) -> dict:
        """Config fields of the chosen noise model (None where they are to be estimated).

        Raises
        ------
        InputError
            The chosen Shapes layer has no rectangle, or it lies outside the image.
        """
        kind = noise_class(self.model.value)
        values = {"noise_model": self.model.value}
        if kind.signal_dependent and not self.estimate.value:
            values.update(noise_gain=self.gain.value, noise_offset=self.offset.value)
        if kind.background_region and self.region.value is not None:
            values["noise_region"] = rectangle_region(self.region.value, image_layer)
        return values


def rectangle_region(shapes: Shapes, image_layer) -> list[int]:
    """Return the first rectangle of ``shapes`` as ``[y0, y1, x0, x1]`` image pixels.

    The rectangle is mapped through world coordinates into the data coordinates of
    ``image_layer``'s last two axes; it covers the pixels whose centres lie in it (half-open
    bounds, so corners at whole numbers 10 and 20 give pixels 10 to 19), clipped to the image.

    Raises
    ------
    InputError
        There is no image, no rectangle, or the rectangle does not overlap the image.
    """
    if image_layer is None:
        raise InputError("No image selected: add or open an Image layer first.")
    rectangles = [
        vertices
        for vertices, kind in zip(shapes.data, shapes.shape_type, strict=True)
        if kind == "rectangle"
    ]
    if not rectangles:
        raise InputError(
            f"Shapes layer {shapes.name!r} has no rectangle; draw one on a background area."
        )
    points = np.array(
        [image_layer.world_to_data(shapes.data_to_world(v)) for v in rectangles[0]], dtype=float
    )[:, -2:]
    data = image_layer.data[0] if image_layer.multiscale else image_layer.data
    shape = data.shape[-2:]
    region = []
    for axis in range(2):
        low, high = points[:, axis].min(), points[:, axis].max()
        region += [min(max(math.ceil(v), 0), shape[axis]) for v in (low, high)]
    if region[1] <= region[0] or region[3] <= region[2]:
        raise InputError(
            f"The rectangle in {shapes.name!r} does not cover any pixel of {image_layer.name!r}."
        )
    return region
