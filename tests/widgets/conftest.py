import pytest
import torch
from napari.utils.notifications import notification_manager
from widget_helpers import PLUGIN


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    # Two cores: one intra-op thread keeps tiny models fast and leaves a core to the GUI.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def notices(monkeypatch):
    """Messages shown to the user (errors and infos), instead of napari's pop-ups."""
    shown = []
    monkeypatch.setattr(notification_manager, "dispatch", lambda n: shown.append(n))
    return shown


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


@pytest.fixture
def train_widget(viewer):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Noise2Inpaint")
    fields = widget.fields
    fields.start_from.value = "scratch"  # first: a starting model decides K and features
    fields.features.value = 4
    fields.unrolls.value = 1
    fields.length.value = 4
    fields.batch_size.value = 2
    fields.patch_size.value = 16
    fields.device.value = "cpu"
    fields.time_limit.value = 0  # tests end by steps or Stop, never by the machine's speed
    widget.preview_interval_s = 0.0
    return widget
