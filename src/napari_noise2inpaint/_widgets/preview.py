"""Which plane the user looks at, and the preview layer that shows it denoised.

The user may do anything to the layers while a run trains: the plane always comes from the
run's own copy of the input (a :class:`LayerSnapshot`), and the preview layer is ours, found by
identity and never by name.
"""

from __future__ import annotations

import numpy as np

from napari_noise2inpaint._widgets.snapshot import LayerSnapshot


def data_index(snapshot: LayerSnapshot, world_point) -> tuple[int, ...]:
    """Return the index in the snapshot's array of ``world_point`` (``viewer.dims.point``).

    Raises ValueError when the viewer has fewer dimensions than the snapshot (its layer and
    every layer as deep were removed).
    """
    ndim = snapshot.data.ndim
    if len(world_point) < ndim:
        raise ValueError(f"the viewer has {len(world_point)} dimensions, the image {ndim}")
    point = np.asarray(world_point[-ndim:], dtype=float)
    coords = (point - np.asarray(snapshot.translate)) / np.asarray(snapshot.scale)
    shape = np.asarray(snapshot.data.shape)
    return tuple(int(i) for i in np.clip(np.round(coords), 0, shape - 1))


def current_plane(snapshot: LayerSnapshot, index, channel_axis: int | None) -> np.ndarray:
    """Return the 2D plane at ``index``: ``(Y, X)``, or ``(Y, X, C)`` with all channels kept."""
    ndim = snapshot.data.ndim
    keep = {ndim - 2, ndim - 1, channel_axis}
    plane = snapshot.data[tuple(slice(None) if a in keep else index[a] for a in range(ndim))]
    if channel_axis is None:
        return plane
    return np.moveaxis(plane, sum(a in keep for a in range(channel_axis)), -1)


def current_slab(
    snapshot: LayerSnapshot, index, channel_axis: int | None, depth: int
) -> tuple[np.ndarray, int]:
    """Return up to ``depth`` planes along Z around ``index`` and the plane in view's position.

    The slab is ``(Z, Y, X)``, or ``(Z, Y, X, C)`` with all channels kept; Z is the last axis
    before Y and X that is not the channel axis.
    """
    ndim = snapshot.data.ndim
    z_axis = max(a for a in range(ndim - 2) if a != channel_axis)
    size = snapshot.data.shape[z_axis]
    start = min(max(0, index[z_axis] - depth // 2), max(0, size - depth))
    keep = {ndim - 2, ndim - 1, channel_axis}
    slab = snapshot.data[
        tuple(
            slice(start, start + depth) if a == z_axis else slice(None) if a in keep else index[a]
            for a in range(ndim)
        )
    ]
    if channel_axis is not None:
        slab = np.moveaxis(slab, sum(a in keep or a == z_axis for a in range(channel_axis)), -1)
    return slab, index[z_axis] - start


class RunPreview:
    """One training run's live preview: the plane in view, and the layer showing it denoised.

    While the viewer lacks the snapshot's dimensions (its layer was removed, or its data made
    flatter), the last plane is kept. The preview layer is found by identity: renaming it, or a
    user layer taking its name, changes nothing; once the user deleted it, the run shows no
    more previews.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer whose dimensions say which plane is in view.
    snapshot : LayerSnapshot
        The run's copy of the input layer.
    source : PreviewSource
        Where the training thread reads the plane (a slab for a 3D model) to preview.
    channel_axis : int or None
        The snapshot's channel axis.
    spatial_dims : int
        2, or 3 for a model that needs a slab of ``source.slab_depth`` planes around the plane.
    """

    def __init__(self, viewer, snapshot: LayerSnapshot, source, channel_axis, spatial_dims):
        self.viewer = viewer
        self.snapshot = snapshot
        self.source = source
        self.channel_axis = channel_axis
        self.spatial_dims = spatial_dims
        self.layer = None
        self._index: tuple[int, ...] | None = None
        self._ended = False

    def follow(self, *_args) -> None:
        """Give the training thread the plane in view (never raises: it runs in napari events)."""
        try:
            index = data_index(self.snapshot, self.viewer.dims.point)
        except ValueError:
            return  # the input's dimensions left the viewer: keep the last plane
        self._index = index
        axis = self.channel_axis
        if self.spatial_dims == 3:
            depth = self.source.slab_depth
            self.source.set_plane(*current_slab(self.snapshot, index, axis, depth))
        else:
            self.source.set_plane(current_plane(self.snapshot, index, axis))

    def show(self, image: np.ndarray) -> None:
        """Create or update the preview layer; a plane ``(Y, X, C)`` shows the channel in view."""
        if self._ended or (self.layer is not None and self.layer not in self.viewer.layers):
            return  # the run is over, or the user deleted the preview
        if image.ndim == 3:
            image = image[..., min(self._channel(), image.shape[-1] - 1)]
        if self.layer is not None:
            self.layer.data = image
            return
        snapshot = self.snapshot
        self.layer = self.viewer.add_image(
            image,
            name=f"{snapshot.name} (N2I preview)",
            scale=snapshot.scale[-2:],
            translate=snapshot.translate[-2:],
            axis_labels=snapshot.axis_labels[-2:],
            units=snapshot.units[-2:],
        )

    def remove(self) -> None:
        """End the preview: remove its layer if it is still there (idempotent)."""
        self._ended = True
        layer, self.layer = self.layer, None
        if layer is not None and layer in self.viewer.layers:
            self.viewer.layers.remove(layer)

    def _channel(self) -> int:
        if self.channel_axis is None or self._index is None:
            return 0
        return self._index[self.channel_axis]
