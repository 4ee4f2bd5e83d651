"""Open napari with the noisy sample loaded and the Noise2Inpaint widget docked.

Usage: ``python scripts/launch_napari.py``
"""

import napari

PLUGIN = "napari-noise2inpaint"


def main() -> None:
    """Start napari, load the sample, dock the widget and run the event loop."""
    viewer = napari.Viewer()
    viewer.open_sample(PLUGIN, "noisy_fluorescence")
    viewer.window.add_plugin_dock_widget(PLUGIN, "Noise2Inpaint")
    napari.run()


if __name__ == "__main__":
    main()
