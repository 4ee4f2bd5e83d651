"""Which plane the user looks at, and the preview layer that shows it denoised."""

from __future__ import annotations

import numpy as np

from .snapshot import LayerSnapshot


def data_index(snapshot: LayerSnapshot, world_point) -> tuple[int, ...]:
    """Return the index in the snapshot's array of ``world_point`` (``viewer.dims.point``)."""
    point = np.asarray(world_point[-snapshot.data.ndim :], dtype=float)
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


def show_preview(viewer, snapshot: LayerSnapshot, image: np.ndarray, channel: int) -> None:
    """Create or update the ``"<name> (N2I preview)"`` layer with a denoised plane.

    A multichannel plane ``(Y, X, C)`` shows the channel the user is looking at.
    """
    if image.ndim == 3:
        image = image[..., min(channel, image.shape[-1] - 1)]
    name = f"{snapshot.name} (N2I preview)"
    if name in viewer.layers:
        viewer.layers[name].data = image
        return
    viewer.add_image(
        image,
        name=name,
        scale=snapshot.scale[-2:],
        translate=snapshot.translate[-2:],
        axis_labels=snapshot.axis_labels[-2:],
        units=snapshot.units[-2:],
    )
