"""Which plane the user looks at, and the preview layer that shows it denoised."""

from __future__ import annotations

import numpy as np

from .jobs import LayerSnapshot


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
