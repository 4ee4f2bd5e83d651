import subprocess
import sys
from pathlib import Path

from widget_helpers import PLUGIN


def test_npe2_validate_imports_every_command():
    npe2 = Path(sys.executable).with_name("npe2")
    done = subprocess.run(
        [str(npe2), "validate", "--imports", PLUGIN], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_sample_data_opens_in_the_viewer(viewer):
    layers = viewer.open_sample(PLUGIN, "noisy_fluorescence")
    assert layers[0].data.shape == (5, 256, 256)
    assert tuple(layers[0].axis_labels) == ("z", "y", "x")
