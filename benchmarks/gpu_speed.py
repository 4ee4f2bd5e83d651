"""GPU throughput: training and inference Mpix/s, peak GPU memory, FLOP/s against the bf16 peak.

Measures the engine as users run it (on CUDA it trains and predicts under bf16 autocast with
channels-last tensors): training patches/s and Mpix/s for N2I (K unrolls) and Noise2Void at
batch 128 of 64x64 on train400 + sigma 25 noise, inference Mpix/s on a 2048x2048 image and a
16x512x512 stack, peak GPU memory (``torch.cuda.max_memory_allocated``) of each measurement,
and the achieved FLOP/s, counted analytically from the U-Net's convolutions, as a fraction of
the card's dense bf16 peak. Runs on the CPU too (then it reports cpu and no peak fraction).

    python benchmarks/gpu_speed.py --data /work/shared/data --seconds 20
"""

from __future__ import annotations

import time

import common
import numpy as np
import torch
from torch import nn

from napari_noise2inpaint import TrainProgress, iter_train, train
from napari_noise2inpaint.engine.network import Denoiser

WARMUP_STEPS = 10
# Dense bf16 tensor-core peaks (TFLOP/s, without sparsity) from NVIDIA's data sheets.
PEAKS = [("H100 PCIe", 756.0), ("H100", 989.4), ("H200", 989.4), ("A100", 312.0)]
# The throwaway prototype on one H100 (shared/notes/calibration.md), and the goals.
CALIBRATION = {
    "n2i_train_mpix_s": 20.0,
    "n2i_infer_mpix_s": 83.0,
    "unet_train_mpix_s": 92.0,
    "unet_infer_mpix_s": 419.0,
}
GOALS = {"train_mpix_s": 40.0, "infer_mpix_s": 200.0}


def build_parser():
    parser = common.base_parser(__doc__.splitlines()[0], "gpu_speed")
    common.add_model_args(parser)
    parser.set_defaults(batch_size=None)
    parser.add_argument("--seconds", type=float, default=20.0, help="training time per config")
    parser.add_argument("--train-images", type=int, default=400)
    parser.add_argument("--infer-size", type=int, default=2048, help="side of the 2D image")
    parser.add_argument("--stack", type=int, nargs=3, default=[16, 512, 512], help="Z Y X")
    parser.add_argument("--repeats", type=int, default=3, help="timed inference calls")
    parser.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    parser.add_argument(
        "--peak-tflops",
        type=float,
        default=None,
        help="dense bf16 peak of the card (default: from its name)",
    )
    parser.add_argument(
        "--cudnn-benchmark",
        action="store_true",
        help="set torch.backends.cudnn.benchmark (the engine does not)",
    )
    return parser


# ----------------------------------------------------------------------------- FLOPs
def conv_flops(module: nn.Module) -> float:
    """Multiply-adds x 2 of every Conv2d in ``module`` per output pixel."""
    return float(
        sum(
            2 * m.in_channels * m.out_channels * m.kernel_size[0] * m.kernel_size[1] / m.groups
            for m in module.modules()
            if isinstance(m, nn.Conv2d)
        )
    )


def unet_flops_per_pixel(unet) -> float:
    """Forward FLOPs of one U-Net per input pixel: each level's convolutions at its resolution.

    Level ``l`` has ``1 / 4**l`` of the input's pixels; batch norm, ReLU, pooling, upsampling,
    the residual add and reflection padding are not counted (a few percent at most).
    """
    total = sum(conv_flops(block) / 4**level for level, block in enumerate(unet.down))
    total += conv_flops(unet.bottom) / 4**unet.depth
    total += sum(
        conv_flops(block) / 4 ** (unet.depth - 1 - index) for index, block in enumerate(unet.up)
    )
    return total + conv_flops(unet.head)


def network_flops_per_pixel(network: Denoiser) -> float:
    """Forward FLOPs per pixel of the whole denoiser: its U-Net once per unroll.

    The data-consistency step (a few element-wise operations per pixel) is not counted.
    """
    nets = network.regularizers
    return sum(unet_flops_per_pixel(nets[k % len(nets)]) for k in range(network.unrolls))


def peak_tflops(args) -> tuple[float | None, str]:
    if args.peak_tflops:
        return args.peak_tflops, f"{args.peak_tflops:g} TFLOP/s (given with --peak-tflops)"
    if args.device != "cuda":
        return None, "no peak assumed on the CPU"
    name = torch.cuda.get_device_name(0)
    for key, value in PEAKS:
        if key in name:
            return value, (
                f"{value:g} TFLOP/s: dense bf16 peak of the '{key}' data sheet, "
                f"matched in the device name '{name}' (an SXM H100 is assumed unless "
                "the name says PCIe)"
            )
    return None, f"unknown card '{name}': give --peak-tflops"


# ----------------------------------------------------------------------------- measurements
def config_for(args, method: str, **changes):
    return common.model_config(args, method, device=args.device, **changes)


def reset_memory(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def peak_memory_mb(device: str) -> float | None:
    if device != "cuda":
        return None
    return torch.cuda.max_memory_allocated() / 2**20


def measure_train(args, method: str, noisy) -> dict:
    config = config_for(args, method, steps=None, time_limit=args.seconds)
    reset_memory(args.device)
    marks = []
    generator = iter_train(noisy, config)
    try:
        while True:
            event = next(generator)
            if isinstance(event, TrainProgress):  # the engine reads the loss: GPU in step
                marks.append((event.step, time.perf_counter()))
    except StopIteration as done:
        model = done.value
    first = marks[min(WARMUP_STEPS, len(marks) - 1)]
    last = marks[-1]
    if last[0] > first[0]:
        steps_per_s = (last[0] - first[0]) / (last[1] - first[1])
    else:
        steps_per_s = last[0] / max(model.history["seconds"], 1e-9)
    patches_per_s = steps_per_s * args.batch_size
    pixels_per_s = patches_per_s * args.patch_size**2
    forward = network_flops_per_pixel(model.network)
    return {
        "kind": "train",
        "method": method,
        "steps": last[0],
        "seconds": round(model.history["seconds"], 2),
        "steps_per_s": steps_per_s,
        "patches_per_s": patches_per_s,
        "mpix_per_s": pixels_per_s / 1e6,
        "flops_per_pixel": 3 * forward,
        "tflop_per_s": 3 * forward * pixels_per_s / 1e12,
        "peak_memory_mb": peak_memory_mb(args.device),
    }


def measure_infer(args, method: str, shape) -> dict:
    rng = np.random.default_rng(args.seed)
    image = rng.normal(128.0, 25.0, shape).astype(np.float32)
    small = rng.normal(128.0, 25.0, (64, 64)).astype(np.float32)
    model = train(small, config_for(args, method, steps=2, patch_size=32, batch_size=2))
    model.denoise(image, output="z", device=args.device)  # warm-up on the same shape
    reset_memory(args.device)
    times = []
    for _ in range(max(1, args.repeats)):
        start = time.perf_counter()
        model.denoise(image, output="z", device=args.device)  # returns numpy: synchronised
        times.append(time.perf_counter() - start)
    seconds = float(np.median(times))
    forward = network_flops_per_pixel(model.network)
    return {
        "kind": "infer",
        "method": method,
        "shape": list(shape),
        "mpix": image.size / 1e6,
        "seconds": round(seconds, 4),
        "seconds_all": [round(t, 4) for t in times],
        "mpix_per_s": image.size / 1e6 / seconds,
        "flops_per_pixel": forward,
        "tflop_per_s": forward * image.size / seconds / 1e12,
        "peak_memory_mb": peak_memory_mb(args.device),
    }


def main(argv=None) -> dict:
    args = common.parse(build_parser(), argv)
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.batch_size is None:
        args.batch_size = 128 if args.device == "cuda" else 16
    if args.cudnn_benchmark:
        torch.backends.cudnn.benchmark = True
    name = args.name or "gpu_speed"
    env = common.environment()
    env.update(device_info(args.device))
    peak, assumption = peak_tflops(args)
    clean = common.load_folder(args.data / "train400", args.train_images)
    noisy = common.add_noise(clean, 25.0, args.seed)
    side, stack = args.infer_size, tuple(args.stack)
    k, f = args.unrolls, args.features
    specs = [
        (f"N2I K={k}, {f} features, train", lambda: measure_train(args, "n2i", noisy)),
        (f"N2V, {f} features, train", lambda: measure_train(args, "n2v", noisy)),
        (f"N2I K={k}, {f} f, z, {side}x{side}", lambda: measure_infer(args, "n2i", (side, side))),
        (
            f"N2I K={k}, {f} f, z, stack {'x'.join(map(str, stack))}",
            lambda: measure_infer(args, "n2i", stack),
        ),
        (f"N2V, {f} f, {side}x{side}", lambda: measure_infer(args, "n2v", (side, side))),
    ]
    results = []
    for label, measure in specs:
        result = measure()
        result["label"] = label
        result["fraction_of_peak"] = result["tflop_per_s"] / peak if peak else None
        print(
            f"{label}: {result['mpix_per_s']:.2f} Mpix/s, {result['tflop_per_s']:.2f} TFLOP/s",
            flush=True,
        )
        results.append(result)
    payload = {
        "environment": env,
        "args": vars(args),
        "results": results,
        "peak_tflops": peak,
        "peak_assumption": assumption,
        "calibration_prototype_h100": CALIBRATION,
        "goals": GOALS,
    }
    common.write_results(args.out, name, payload, markdown(payload, args))
    return payload


def device_info(device: str) -> dict:
    if device != "cuda":
        return {"device": f"cpu: {common.cpu_model()}"}
    props = torch.cuda.get_device_properties(0)
    return {
        "device": f"cuda: {props.name}",
        "gpu": props.name,
        "gpu_memory_gib": round(props.total_memory / 2**30, 1),
        "multiprocessors": props.multi_processor_count,
        "cuda_runtime": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
    }


def markdown(payload, args) -> str:
    def row(r):
        fraction = r["fraction_of_peak"]
        memory = r["peak_memory_mb"]
        return [
            r["label"],
            r["mpix_per_s"],
            r.get("patches_per_s", "-"),
            r["tflop_per_s"],
            "-" if fraction is None else f"{100 * fraction:.1f} %",
            "-" if memory is None else f"{memory:.0f}",
            r["flops_per_pixel"] / 1e6,
        ]

    rows = [row(r) for r in payload["results"]]
    first = {}
    for r in payload["results"]:
        first.setdefault((r["kind"], r["method"]), r)
    n2i_train = first[("train", "n2i")]["mpix_per_s"]
    n2i_infer = first[("infer", "n2i")]["mpix_per_s"]  # the 2D image
    cal, goals = CALIBRATION, GOALS
    return "\n".join(
        [
            f"# Throughput on {payload['environment']['device']}",
            "",
            f"Training: batch {args.batch_size} of {args.patch_size}x{args.patch_size}, "
            f"{args.seconds:g} s per config (steps/s after {WARMUP_STEPS} warm-up steps, "
            "validation every 50 steps included), train400 + sigma 25 noise. Inference: output "
            f"z, one warm-up call, median of {args.repeats}, host-device copies included. bf16 "
            "autocast and channels-last on CUDA (the engine's own). FLOPs: convolutions only, "
            "counted per "
            "pixel from the U-Net's layers at each level's resolution, times the unrolls; training "
            "= 3x forward; inference per output pixel (tile overlaps not counted). Peak: "
            f"{payload['peak_assumption']}.",
            "",
            common.md_table(
                [
                    "measurement",
                    "Mpix/s",
                    "patches/s",
                    "TFLOP/s",
                    "of bf16 peak",
                    "peak GPU MB",
                    "MFLOP/pixel",
                ],
                rows,
            ),
            "",
            f"Goals (issue, K={args.unrolls}, {args.features} features): training > "
            f"{goals['train_mpix_s']:g} Mpix/s (here {n2i_train:.1f}), inference > "
            f"{goals['infer_mpix_s']:g} Mpix/s (here {n2i_infer:.1f}). Prototype on one H100 "
            f"(calibration notes): N2I K=5 trains at {cal['n2i_train_mpix_s']:g} and infers at "
            f"{cal['n2i_infer_mpix_s']:g} Mpix/s; the U-Net alone at {cal['unet_train_mpix_s']:g} "
            f"and {cal['unet_infer_mpix_s']:g}.",
        ]
    )


if __name__ == "__main__":
    main()
