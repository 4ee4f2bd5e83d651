"""Say "Inconsistent units" once, not at every layer the plugin adds.

napari (0.9) repeats its warning "Inconsistent units across layers; ..." each time a layer is
added while the viewer mixes layers with and without physical units (for example the sample,
in micrometres, and a Shapes layer in pixels). Each training then raised two more pop-ups
(preview and result), each batch layer up to three. :func:`say_units_once` lets the first one
through and holds back repeats until the units agree again.
"""

from __future__ import annotations

import weakref

from napari.utils.notifications import notification_manager

#: The start of napari's message (``napari._vispy.canvas.VispyCanvas._update_world_units``).
UNITS_WARNING = "Inconsistent units across layers"

_NOTICES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _UnitsNotice:
    """Holds back repeats of the units warning while ``viewer``'s units stay inconsistent."""

    def __init__(self, viewer):
        self._viewer = weakref.ref(viewer)
        self.shown = False
        viewer.layers.events.removed.connect(self._forget_when_consistent)
        notification_manager.notification_ready.connect(self._filter, position="first")

    def _consistent(self, viewer) -> bool:
        return len(viewer.layers) == 0 or viewer.layers.extent.units is not None

    def _forget_when_consistent(self, _event=None) -> None:
        viewer = self._viewer()
        if viewer is not None and self._consistent(viewer):
            self.shown = False

    def _filter(self, notification) -> None:
        viewer = self._viewer()
        if viewer is None or not str(notification.message).startswith(UNITS_WARNING):
            return
        if self._consistent(viewer):
            return  # another viewer's warning
        if self.shown:
            notification.blocked = True  # no pop-up and no console line
        self.shown = True


def say_units_once(viewer) -> None:
    """Show napari's units warning once per inconsistency of ``viewer`` (idempotent)."""
    if viewer not in _NOTICES:
        _NOTICES[viewer] = _UnitsNotice(viewer)
