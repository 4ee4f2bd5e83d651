"""Measure napari's event-loop latency while the widget trains, and write docs/responsiveness.md.

A QTimer fires every 10 ms on the GUI thread; the gaps between its ticks show how long the
GUI could not react. Run under a virtual display::

    xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/python scripts/measure_responsiveness.py
"""

import os
import platform
import sys
import time
from pathlib import Path

import napari
import numpy as np
import torch
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication

from napari_noise2inpaint._widgets import jobs

PLUGIN = "napari-noise2inpaint"
OUT = Path(__file__).resolve().parent.parent / "docs" / "responsiveness.md"
CPU_THREADS = jobs.cpu_threads
SETTINGS = {
    "tiny (4 features, K=1, 16 px patches, batch 2, 20 steps)": (4, 1, 16, 2, 20),
    "sample-sized (16 features, K=2, 64 px patches, batch 8, 20 steps)": (16, 2, 64, 8, 20),
}


def load() -> str:
    """Return the 1, 5 and 15 minute load averages, as ``uptime`` shows them."""
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def measure(viewer, widget, settings, capped: bool) -> dict:
    """Train on the sample with ``settings`` and return tick-gap statistics in ms.

    ``capped``: the widget's torch thread cap (all cores but one) as shipped; otherwise the
    cap is lifted, which is how the widget behaved before it had one.
    """
    features, unrolls, patch, batch, steps = settings
    fields = widget.fields
    fields.features.value, fields.unrolls.value, fields.patch_size.value = features, unrolls, patch
    fields.batch_size.value, fields.length.value = batch, steps
    jobs.cpu_threads = CPU_THREADS if capped else (lambda: os.cpu_count() or 1)
    threads = set()
    ticks = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    start = time.perf_counter()
    timer.start()
    widget.train_button.click()
    while widget.state.value != "idle":
        if widget.state.value == "training":
            threads.add(torch.get_num_threads())
        QApplication.processEvents()
        time.sleep(0.001)
    timer.stop()
    gaps = np.diff(ticks) * 1000
    return {
        "seconds": time.perf_counter() - start,
        "median": float(np.median(gaps)),
        "p99": float(np.percentile(gaps, 99)),
        "max": float(gaps.max()),
        "ticks": len(ticks),
        "threads": "/".join(str(t) for t in sorted(threads)),
    }


def main() -> int:
    """Run each setting without and with the widget's thread cap and write the table."""
    viewer = napari.Viewer()
    viewer.open_sample(PLUGIN, "noisy_fluorescence")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Noise2Inpaint")
    widget.fields.device.value = "cpu"
    widget.preview_interval_s = 1.0
    torch.set_num_threads(os.cpu_count() or 1)  # torch's default, before any cap
    load_before = load()
    rows = []
    for name, settings in SETTINGS.items():
        for capped in (False, True):
            result = measure(viewer, widget, settings, capped)
            label = "capped (after)" if capped else "uncapped (before)"
            rows.append(
                f"| {name} | {label}: {result['threads']} | {result['seconds']:.1f} "
                f"| {result['median']:.1f} | {result['p99']:.1f} | {result['max']:.1f} |"
            )
            print(rows[-1], flush=True)
    load_after = load()
    viewer.close()
    OUT.write_text(
        "# GUI responsiveness during training\n\n"
        "Measured by `scripts/measure_responsiveness.py`: a 10 ms QTimer runs on napari's GUI\n"
        "thread while the Noise2Inpaint widget trains on the 5x256x256 sample (live preview\n"
        "every second, loss plot redrawn every 0.5 s) and then denoises the whole stack. The\n"
        "gap between ticks is the event-loop latency (ideal: 10 ms).\n\n"
        f"Machine: {platform.processor() or platform.machine()}, "
        f"{len(__import__('os').sched_getaffinity(0))} CPU cores, Xvfb, torch "
        f"{torch.__version__}, CPU only. Load average (1, 5, 15 min) before: {load_before}; "
        f"after: {load_after}.\n\n"
        "| training | torch threads during training | wall s | median gap ms | p99 gap ms "
        "| max gap ms |\n"
        "|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
