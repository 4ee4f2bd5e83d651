"""Training speed in the napari widget vs the same configuration headless (issue 12, section 3).

Each measurement runs in its own process, pinned with ``taskset`` to the cores given, so that
the widget and the headless loop get exactly the same CPU: the widget under Xvfb trains on the
sample-like stack (``--shape``, uint16 Poisson-Gaussian counts) from scratch for ``--seconds``;
the headless run drives :func:`napari_noise2inpaint.iter_train` with the same config and the
same torch threads. Reported: time from pressing Train to the first step, steps/s between the
first and the last step, and the wall time from pressing Train to the result layer::

    .venv/bin/python benchmarks/widget_speed.py --seconds 40 --precision float32 \
        --cores 0 --cores 0,1 --out benchmarks/results/widget_speed/widget_speed.md

This is a benchmark, not a test: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0, help="time limit of each run")
    parser.add_argument("--shape", default="3,400,400", help="stack shape, comma-separated")
    parser.add_argument("--unrolls", type=int, default=2)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--patch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--precision", default="float32", choices=["auto", "float32", "bfloat16"])
    parser.add_argument("--cores", action="append", help="CPU list for taskset, repeatable")
    parser.add_argument("--out", default=None, help="write a Markdown table here")
    parser.add_argument("--note", default="", help="a line about the machine's load")
    parser.add_argument("--repeat", type=int, default=1, help="alternating pairs per CPU list")
    parser.add_argument("--measure", choices=["widget", "headless"], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def make_config(args):
    from napari_noise2inpaint import Noise2InpaintConfig

    return Noise2InpaintConfig(
        unrolls=args.unrolls,
        features=args.features,
        batch_size=args.batch_size,
        patch_size=args.patch_size,
        steps=10**6,
        time_limit=args.seconds,
        device="cpu",
        precision=args.precision,
    )


def make_data(args):
    from napari_noise2inpaint import noisy_fluorescence

    return noisy_fluorescence(tuple(int(n) for n in args.shape.split(",")))


def measure_headless(args) -> dict:
    """Train with the same config as the widget, timing every step from the call."""
    import torch

    from napari_noise2inpaint import TrainProgress, denoise, iter_train, run_to_end

    torch.set_num_threads(args.threads)
    data, config = make_data(args), make_config(args)
    times = []
    start = time.perf_counter()

    def mark_step(event) -> None:
        if isinstance(event, TrainProgress):
            times.append((time.perf_counter(), time.process_time()))

    model = run_to_end(iter_train(data, config), mark_step)
    denoise(model, data, device="cpu")
    return summary(start, times, time.perf_counter(), torch.get_num_threads())


def measure_widget(args) -> dict:
    """Press Train in the docked widget and time every step the widget shows."""
    import napari  # noqa: TID251 (the widget is what is measured)
    import torch
    from qtpy.QtCore import QEventLoop, QTimer  # noqa: TID251

    torch.set_num_threads(args.threads)
    viewer = napari.Viewer()
    viewer.add_image(make_data(args), name="stack")
    _, widget = viewer.window.add_plugin_dock_widget("napari-noise2inpaint", "Noise2Inpaint")
    config = make_config(args)
    fields = widget.fields
    if hasattr(fields, "start_from"):
        fields.start_from.value = "scratch"
    fields.unrolls.value, fields.features.value = config.unrolls, config.features
    fields.batch_size.value, fields.patch_size.value = config.batch_size, config.patch_size
    fields.length_unit.value, fields.length.value = "steps", config.steps
    fields.time_limit.value = args.seconds / 60
    fields.device.value = "cpu"
    build = fields.config
    fields.config = lambda *init: build(*init).replace(precision=args.precision)
    times, threads = [], set()
    add = widget.plot.add

    def record(step, *rest):
        times.extend([(time.perf_counter(), time.process_time())] * (step - len(times)))
        threads.add(torch.get_num_threads())
        add(step, *rest)

    widget.plot.add = record
    results = []
    viewer.layers.events.inserted.connect(
        lambda e: results.append(time.perf_counter()) if "preview" not in e.value.name else None
    )
    loop, timer = QEventLoop(), QTimer()
    finished = lambda: results and widget.train_button.isEnabled()  # noqa: E731
    timer.timeout.connect(lambda: loop.quit() if finished() else None)
    timer.start(100)  # napari's own event loop runs meanwhile, as it does for a user
    start = time.perf_counter()
    widget.train_button.click()
    loop.exec()
    timer.stop()
    end = results[0]
    viewer.close()
    return summary(start, times, end, "/".join(map(str, sorted(threads))))


def summary(start: float, times: list[tuple], end: float, threads) -> dict:
    """Steps per wall second and per CPU second of the process, between first and last step."""
    nan = float("nan")
    span = times[-1][0] - times[0][0] if len(times) > 1 else nan
    cpu = times[-1][1] - times[0][1] if len(times) > 1 else nan
    return {
        "first_step_s": times[0][0] - start if times else nan,
        "steps": len(times),
        "steps_per_s": (len(times) - 1) / span if span > 0 else nan,
        "steps_per_cpu_s": (len(times) - 1) / cpu if cpu > 0 else nan,
        "wall_s": end - start,
        "threads": threads,
    }


def run_pinned(args, mode: str, cores: str) -> dict:
    """Run one measurement in a fresh process pinned to ``cores``."""
    command = ["taskset", "-c", cores, sys.executable, __file__, "--measure", mode]
    for name in ("seconds", "shape", "unrolls", "features", "batch_size", "patch_size",
                 "threads", "precision"):
        command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    if mode == "widget":
        command = ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24", *command]
    output = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if output.returncode:
        raise RuntimeError(f"{mode} run failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def machine() -> str:
    import torch

    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in flags.splitlines()
                  if line.startswith("model name")), platform.processor() or platform.machine())
    wanted = ("avx2", "avx512f", "amx_bf16")
    present = [f for f in wanted if f" {f}" in flags]
    return (f"{model}, {os.cpu_count()} logical CPUs, flags: {', '.join(present) or 'none'}; "
            f"torch {torch.__version__}; Python {platform.python_version()}")


def table(args, rows) -> str:
    lines = [
        "# Training speed: napari widget vs headless",
        "",
        "Measured by `benchmarks/widget_speed.py` (each run in a fresh process pinned with "
        "`taskset`; the widget under Xvfb).",
        f"Command: `{' '.join(sys.argv)}`",
        "",
        f"Machine: {machine()}.",
        f"Data: uint16 Poisson-Gaussian stack {args.shape.replace(',', 'x')} (the sample's "
        f"generator); from scratch, K={args.unrolls}, {args.features} features, batch "
        f"{args.batch_size}, patch {args.patch_size}, precision {args.precision}, "
        f"{args.threads} torch thread(s), time limit {args.seconds:g} s.",
        f"Load: {args.note or 'not noted'}; load average at the end "
        f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}.",
        "",
        "| cores | run | first step s | steps | steps/s | widget / headless | steps per CPU s "
        "| widget / headless (CPU) | Train to result s | torch threads |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cores, headless, widget in rows:
        ratio = widget["steps_per_s"] / headless["steps_per_s"]
        cpu_ratio = widget["steps_per_cpu_s"] / headless["steps_per_cpu_s"]
        for name, result in (("headless", headless), ("widget", widget)):
            mine = name == "widget"
            lines.append(
                f"| {cores} | {name} | {result['first_step_s']:.1f} | {result['steps']} "
                f"| {result['steps_per_s']:.2f} | {f'{ratio:.0%}' if mine else ''} "
                f"| {result['steps_per_cpu_s']:.2f} | {f'{cpu_ratio:.0%}' if mine else ''} "
                f"| {result['wall_s']:.1f} | {result['threads']} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.measure:
        result = measure_widget(args) if args.measure == "widget" else measure_headless(args)
        print(json.dumps(result))
        return 0
    rows = []
    for cores in args.cores or ["0"]:
        for _ in range(args.repeat):  # alternate, so that a change in load hits both alike
            headless = run_pinned(args, "headless", cores)
            widget = run_pinned(args, "widget", cores)
            rows.append((cores, headless, widget))
            print(cores, headless, widget, flush=True)
    text = table(args, rows)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
