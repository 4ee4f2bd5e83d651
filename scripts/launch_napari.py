"""Open napari with the noisy sample loaded and the Noise2Inpaint widget docked.

On a machine without a display (Linux with neither DISPLAY nor WAYLAND_DISPLAY set) no window
can open; the script then does the main job without one: it denoises the sample with the
built-in prior, writes a before/after PNG and the result TIFF into ``--out``, says where, and
says how to open napari on a machine with a screen.

Usage: ``python scripts/launch_napari.py [--out FOLDER]``
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

PLUGIN = "napari-noise2inpaint"
DEFAULT_OUT = "noise2inpaint-demo"
GAP = 8  # pixels between the two halves of the PNG


def main(argv: list[str] | None = None) -> int:
    """Open napari, or without a display denoise the sample into ``--out``; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="folder for the results (no display)")
    args = parser.parse_args(argv)
    if not has_display():
        return denoise_without_display(Path(args.out))
    open_napari()
    return 0


def has_display(environ=os.environ, platform: str = sys.platform) -> bool:
    """Whether a window can open: always on macOS and Windows, with an X or Wayland display else."""
    if platform in ("darwin", "win32"):
        return True
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def open_napari() -> None:
    """Start napari, load the sample, dock the widget and run the event loop."""
    import napari

    viewer = napari.Viewer()
    viewer.open_sample(PLUGIN, "noisy_fluorescence")
    viewer.window.add_plugin_dock_widget(PLUGIN, "Noise2Inpaint")
    napari.run()


def denoise_without_display(out: Path) -> int:
    """Denoise the sample with the built-in prior and write a before/after PNG and a TIFF.

    Parameters
    ----------
    out : pathlib.Path
        Folder for ``sample_before_after.png`` and ``sample_denoised.tif`` (created if
        missing; these two files of an earlier run are replaced).

    Returns
    -------
    int
        0.
    """
    from napari_noise2inpaint import denoise, load_model
    from napari_noise2inpaint._sample_data import noisy_fluorescence
    from napari_noise2inpaint.images.io import write_tiff

    noisy = noisy_fluorescence()
    result = denoise(load_model("builtin"), noisy)
    out.mkdir(parents=True, exist_ok=True)
    png = write_png(out / "sample_before_after.png", side_by_side(noisy, result))
    tiff = write_tiff(out / "sample_denoised.tif", result)
    print(f"No display: denoised the sample with the built-in prior: {png} (before/after), {tiff}")
    print(
        "To open napari with the sample and the widget, run `bash scripts/launch.sh` "
        "on a machine with a screen (or set DISPLAY, e.g. through ssh -X)."
    )
    return 0


def side_by_side(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Return the middle planes of ``before`` and ``after`` as one 8-bit image, same contrast."""
    planes = [np.asarray(image, np.float32) for image in (before, after)]
    planes = [plane[plane.shape[0] // 2] if plane.ndim == 3 else plane for plane in planes]
    low, high = np.percentile(planes[0], (1, 99.5))
    scaled = [np.clip((plane - low) / max(high - low, 1e-6), 0, 1) * 255 for plane in planes]
    gap = np.full((planes[0].shape[0], GAP), 255.0)
    return np.concatenate([scaled[0], gap, scaled[1]], axis=1).astype(np.uint8)


def write_png(path: Path, image: np.ndarray) -> Path:
    """Write an 8-bit image to ``path`` through a temporary file (never half-written)."""
    from PIL import Image

    from napari_noise2inpaint.images.files import new_temp_file

    tmp = new_temp_file(path)
    try:
        Image.fromarray(image).save(tmp, format="PNG")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
