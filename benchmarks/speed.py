"""CPU throughput: training steps/s, patches/s and Mpix/s; inference Mpix/s; peak memory.

Each measurement runs in its own Python process (peak RSS = that process's VmHWM), one after
the other, so that they do not share memory or cores.

    python benchmarks/speed.py --data /work/shared/data --seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import common
import numpy as np
import torch

from napari_noise2inpaint import iter_train, train
from napari_noise2inpaint.engine.unet import UNet

CAREAMICS = {"train_mpix_s": "0.38-0.47", "predict_tiled_mpix_s": 0.21,
             "predict_whole_image_mpix_s": 0.9}
WARMUP_STEPS = 3


def build_parser():
    parser = common.base_parser(__doc__.splitlines()[0], "speed")
    parser.add_argument("--seconds", type=float, default=20.0, help="training time per config")
    parser.add_argument("--train-images", type=int, default=400)
    parser.add_argument("--features", type=int, nargs=3, default=[32, 96, 32],
                        help="features of: N2I default, N2I wide, N2V")
    parser.add_argument("--unrolls", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--patch-size", type=int, default=64)
    common.add_precision_arg(parser)
    parser.add_argument("--infer-size", type=int, default=2048, help="side of the 2D image")
    parser.add_argument("--stack", type=int, nargs=3, default=[16, 512, 512], help="Z Y X")
    parser.add_argument("--other-threads", type=int, default=None,
                        help="thread count of the two comparison rows (default: 2 if running "
                             "with 1 thread, else 1; 0 leaves them out)")
    parser.add_argument("--inline", action="store_true",
                        help="measure in this process (quick checks; peak RSS is then shared)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return parser


def measurements(args) -> list[dict]:
    f_default, f_wide, f_n2v = args.features
    k = args.unrolls
    side, stack = args.infer_size, list(args.stack)
    stack_text = "x".join(map(str, stack))
    other = args.other_threads
    if other is None:
        other = 2 if torch.get_num_threads() == 1 else 1
    specs = [
        {"kind": "train", "label": f"N2I K={k}, {f_default} features", "method": "n2i",
         "features": f_default},
        {"kind": "train", "label": f"N2I K={k}, {f_wide} features", "method": "n2i",
         "features": f_wide},
        {"kind": "train", "label": f"N2V, {f_n2v} features", "method": "n2v",
         "features": f_n2v},
        {"kind": "raw", "label": f"plain U-Net, {f_n2v} features, no engine (reference)",
         "method": "n2v", "features": f_n2v},
        {"kind": "train", "label": f"N2I K={k}, {f_default} features, {other} threads",
         "method": "n2i", "features": f_default, "threads": other},
        {"kind": "train", "label": f"N2V, {f_n2v} features, {other} threads", "method": "n2v",
         "features": f_n2v, "threads": other},
        {"kind": "infer", "label": f"N2I K={k}, {f_default} f, z, {side}x{side}",
         "method": "n2i", "features": f_default, "shape": [side, side]},
        {"kind": "infer", "label": f"N2I K={k}, {f_default} f, z, stack {stack_text}",
         "method": "n2i", "features": f_default, "shape": stack},
        {"kind": "infer", "label": f"N2V, {f_n2v} f, {side}x{side}", "method": "n2v",
         "features": f_n2v, "shape": [side, side]},
        {"kind": "infer", "label": f"N2I K={k}, {f_default} f, z, 321x481 (BSD68 size)",
         "method": "n2i", "features": f_default, "shape": [321, 481]},
        {"kind": "infer", "label": f"N2V, {f_n2v} f, 321x481 (BSD68 size)", "method": "n2v",
         "features": f_n2v, "shape": [321, 481]},
    ]
    return [spec for spec in specs if spec.get("threads", 1) > 0]


def vm_hwm_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def config_for(args, spec, **changes):
    return common.model_config(args, spec["method"], features=spec["features"], **changes)


def measure_train(args, spec) -> dict:
    clean = common.load_folder(args.data / "train400", args.train_images)
    noisy = common.add_noise(clean, 25.0, args.seed)
    rss_before = vm_hwm_mb()
    config = config_for(args, spec, steps=None, time_limit=args.seconds)
    marks = []
    generator = iter_train(noisy, config)
    start = time.perf_counter()
    try:
        while True:
            event = next(generator)
            if hasattr(event, "step"):
                marks.append((event.step, time.perf_counter() - start))
    except StopIteration:
        pass
    (s0, t0), (s1, t1) = marks[min(WARMUP_STEPS, len(marks) - 1)], marks[-1]
    steps_per_s = (s1 - s0) / max(t1 - t0, 1e-9) if s1 > s0 else s1 / max(t1, 1e-9)
    patch_pixels = args.batch_size * args.patch_size**2
    return {"steps": marks[-1][0], "seconds": round(t1, 2), "steps_per_s": steps_per_s,
            "patches_per_s": steps_per_s * args.batch_size,
            "mpix_per_s": steps_per_s * patch_pixels / 1e6,
            "rss_before_mb": rss_before}


def measure_infer(args, spec) -> dict:
    rng = np.random.default_rng(args.seed)
    image = rng.normal(128.0, 25.0, spec["shape"]).astype(np.float32)
    small = rng.normal(128.0, 25.0, (64, 64)).astype(np.float32)
    model = train(small, config_for(args, spec, steps=2, patch_size=32, batch_size=2))
    model.denoise(small)  # warm-up
    rss_before = vm_hwm_mb()
    start = time.perf_counter()
    model.denoise(image, output="z")
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 3), "mpix": image.size / 1e6,
            "mpix_per_s": image.size / 1e6 / seconds, "rss_before_mb": rss_before}


def measure_raw(args, spec) -> dict:
    """The U-Net's forward + backward + Adam step alone, on a fixed random batch."""
    net = UNet(spec["features"], 2)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    batch = torch.randn(args.batch_size, 1, args.patch_size, args.patch_size)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        loss = (net(batch) - batch).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += 1
        if steps == WARMUP_STEPS:
            start = time.perf_counter()
    seconds = time.perf_counter() - start
    steps_per_s = (steps - WARMUP_STEPS) / seconds
    return {"steps": steps, "seconds": round(seconds, 2), "steps_per_s": steps_per_s,
            "patches_per_s": steps_per_s * args.batch_size,
            "mpix_per_s": steps_per_s * args.batch_size * args.patch_size**2 / 1e6}


def run_one(args, spec) -> dict:
    threads = torch.get_num_threads()
    torch.set_num_threads(spec.get("threads") or threads)
    load_before = os.getloadavg()
    measure = {"train": measure_train, "raw": measure_raw, "infer": measure_infer}[spec["kind"]]
    try:
        result = measure(args, spec)
        result.update(spec, peak_rss_mb=vm_hwm_mb(), loadavg_before=load_before,
                      loadavg_after=os.getloadavg(), torch_threads=torch.get_num_threads())
    finally:
        torch.set_num_threads(threads)
    return result


def run_subprocess(args, spec, argv) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), *argv, "--worker", json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"measurement {spec['label']} failed:\n{done.stderr[-3000:]}")


def main(argv=None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = common.parse(build_parser(), argv)
    if args.worker:
        print("RESULT " + json.dumps(run_one(args, json.loads(args.worker))), flush=True)
        return {}
    name = args.name or "speed"
    env = common.environment()
    results = []
    for spec in measurements(args):
        result = run_one(args, spec) if args.inline else run_subprocess(args, spec, argv)
        print(f"{spec['label']}: {result['mpix_per_s']:.3f} Mpix/s", flush=True)
        results.append(result)
    payload = {"environment": env, "args": vars(args), "results": results,
               "careamics_cpu_reference": CAREAMICS, "inline": args.inline}
    common.write_results(args.out, name, payload, markdown(payload, args))
    return payload


def markdown(payload, args) -> str:
    train_rows = [[r["label"], r["torch_threads"], r["steps_per_s"], r["patches_per_s"],
                   r["mpix_per_s"], r["steps"], r["peak_rss_mb"], _load(r)]
                  for r in payload["results"] if r["kind"] != "infer"]
    infer_rows = [[r["label"], r["mpix"], r["seconds"], r["mpix_per_s"], r["peak_rss_mb"],
                   _load(r)] for r in payload["results"] if r["kind"] == "infer"]
    rss_note = ("measured in one process (--inline): peak RSS is cumulative"
                if args.inline else "each row in its own process")
    return "\n".join([
        "# CPU throughput", "",
        f"Training: batch {args.batch_size} of {args.patch_size}x{args.patch_size}, "
        f"{args.seconds:g} s per config (steps/s after {WARMUP_STEPS} warm-up steps, "
        f"validation every 50 steps included), train400 + sigma 25 noise; engine precision "
        f"{args.precision}. Peak RSS: {rss_note}.",
        "", common.md_table(["training config", "threads", "steps/s", "patches/s", "Mpix/s",
                             "steps", "peak RSS MB", "load 1 min"], train_rows), "",
        "Inference (default tile 1024 on CPU, one warm-up call first):", "",
        common.md_table(["inference", "Mpix", "seconds", "Mpix/s", "peak RSS MB", "load 1 min"],
                        infer_rows), "",
        "CAREamics Noise2Void 0.3.5 on this machine type (calibration notes, same U-Net size): "
        f"training {CAREAMICS['train_mpix_s']} Mpix/s (5.8-7.2 steps/s, peak RAM ~2 GB), "
        f"tiled prediction {CAREAMICS['predict_tiled_mpix_s']} Mpix/s, whole padded image "
        f"{CAREAMICS['predict_whole_image_mpix_s']} Mpix/s."])


def _load(result) -> str:
    return f"{result['loadavg_before'][0]:.2f} -> {result['loadavg_after'][0]:.2f}"


if __name__ == "__main__":
    main()
