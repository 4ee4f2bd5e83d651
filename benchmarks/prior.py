"""The built-in prior against BM3D, from-scratch N2I and Noise2Void, end to end on a CPU.

Cases: set12 images with white Gaussian noise (sigma 15 / 25 / 50), a synthetic
Poisson-Gaussian fluorescence scene (a sample seed the prior never saw) and real FMD pairs.
Rows per case: the noisy input; BM3D with an estimated noise level (sigma from
``skimage.restoration.estimate_sigma``, or the generalized Anscombe transform with our
Poisson-Gaussian estimate) and with the oracle level; the prior alone; the prior + adaptation;
N2I from scratch; Noise2Void. Times are end to end: training (set up included) + denoising.

    python benchmarks/prior.py --data /work/shared/data --precision float32 --threads 1
"""

from __future__ import annotations

import time

import common
import numpy as np

from napari_noise2inpaint import (
    Snapshot,
    denoise,
    iter_train,
    load_model,
    noisy_fluorescence,
    run_to_end,
    train,
)
from napari_noise2inpaint.config import start_config
from napari_noise2inpaint.noise.estimation import estimate_poisson_gaussian
from napari_noise2inpaint.prior import config_for_init

SET12_SIGMAS = (15, 25, 50)
SETUP_S = 3.0  # seconds reserved for set-up before the first step (measured 2-5 s)


def build_parser():
    parser = common.base_parser(__doc__.splitlines()[0], "prior")
    parser.add_argument(
        "--cases",
        default="set12_s15,set12_s25,set12_s50,synthetic_pg,fmd_confocal_fish,fmd_bpae_r",
        help="comma-separated case names",
    )
    parser.add_argument("--set12-image", default="02.png", help="set12 image of the cases")
    parser.add_argument("--budgets", default="60", help="end-to-end seconds of the runs")
    parser.add_argument(
        "--long", default="", help="cases that also get a 300-s run, scored at 120 s and 300 s"
    )
    parser.add_argument("--methods", default="bm3d,prior,adapt,scratch,n2v")
    parser.add_argument("--n2v-cases", default="set12_s25,synthetic_pg")
    parser.add_argument(
        "--prior-sweep",
        action="store_true",
        help="also: prior vs BM3D (estimated sigma) on the seven 256x256 set12 "
        "images at each sigma",
    )
    common.add_precision_arg(parser)
    return parser


# ----------------------------------------------------------------------------- cases
def load_case(name: str, args) -> dict:
    """Noisy image, clean image, PSNR range, noise kind and oracle noise parameters."""
    if name.startswith("set12_s"):
        sigma = float(name.removeprefix("set12_s"))
        clean = common.load_gray(args.data / "set12" / args.set12_image)
        noisy = common.add_noise([clean], sigma, args.seed)[0]
        return {
            "noisy": noisy,
            "clean": clean,
            "range": 255.0,
            "kind": "gaussian",
            "oracle": {"sigma": sigma},
        }
    if name == "synthetic_pg":
        noisy, clean = noisy_fluorescence((256, 256), seed=1, return_clean=True)
        # counts = Poisson(clean - 100) + N(100, 2^2): var = 1 * clean - 100 + 4
        return {
            "noisy": noisy.astype(np.float32),
            "clean": clean,
            "range": float(clean.max() - clean.min()),
            "kind": "poisson_gaussian",
            "oracle": {"gain": 1.0, "offset": -96.0},
        }
    files = {
        "fmd_confocal_fish": ("Confocal_FISH_3.png", "gt_Confocal_FISH_3.png"),
        "fmd_bpae_r": ("BPAE_R_Channel_noisy_image.png", "BPAE_R_Channel_gt_image.png"),
        "fmd_image_r1": ("image_R_1_001.png", "image_R_1_avg50.png"),
    }[name]
    folder = args.data / "microscopy_pairs" / "fmd"
    noisy, clean = (common.load_gray(folder / f) for f in files)
    residual = noisy.astype(np.float64) - clean
    gain, offset = np.polyfit(clean.ravel(), residual.ravel() ** 2, 1)
    return {
        "noisy": noisy,
        "clean": clean,
        "range": 255.0,
        "kind": "poisson_gaussian",
        "oracle": {"gain": float(gain), "offset": float(offset)},
    }


# ----------------------------------------------------------------------------- BM3D
def bm3d_gaussian(noisy: np.ndarray, sigma: float) -> np.ndarray:
    import bm3d

    return np.asarray(bm3d.bm3d(noisy, sigma_psd=sigma), dtype=np.float32)


def bm3d_anscombe(noisy: np.ndarray, gain: float, offset: float) -> np.ndarray:
    """BM3D after the generalized Anscombe transform for ``var = gain * x + offset``."""
    gain = max(gain, 1e-6)
    variance = offset / gain**2  # of noisy / gain, beyond its Poisson part
    counts = noisy.astype(np.float64) / gain
    forward = 2 * np.sqrt(np.maximum(counts + 3 / 8 + variance, 0))
    smooth = bm3d_gaussian(forward.astype(np.float32), 1.0).astype(np.float64)
    d = np.maximum(smooth, 0.8)
    inverse = (
        d**2 / 4
        + np.sqrt(1.5) / (4 * d)
        - 11 / (8 * d**2)
        + 5 * np.sqrt(1.5) / (8 * d**3)
        - 1 / 8
        - variance
    )
    return (gain * inverse).astype(np.float32)


def bm3d_rows(case: dict) -> list[dict]:
    from skimage.restoration import estimate_sigma

    noisy, rows = case["noisy"], []
    if case["kind"] == "gaussian":
        variants = {"estimated": {"sigma": float(estimate_sigma(noisy))}, "oracle": case["oracle"]}
        run = lambda p: bm3d_gaussian(noisy, p["sigma"])  # noqa: E731
    else:
        gain, offset = estimate_poisson_gaussian([noisy])
        variants = {"estimated": {"gain": gain, "offset": offset}, "oracle": case["oracle"]}
        run = lambda p: bm3d_anscombe(noisy, p["gain"], p["offset"])  # noqa: E731
    for label, params in variants.items():
        start = time.perf_counter()
        out = run(params)
        case["outputs"][f"BM3D {label}"] = out
        rows.append(
            {
                "method": f"BM3D ({label} noise)",
                "seconds": time.perf_counter() - start,
                "psnr": common.psnr(out, case["clean"], case["range"]),
                "params": params,
            }
        )
    return rows


# ----------------------------------------------------------------------------- networks
def run_config(case: dict, args, method: str, init=None) -> object:
    config = start_config("cpu").replace(
        precision=args.precision, seed=args.seed, method=method, steps=None, device="cpu"
    )
    if case["kind"] == "poisson_gaussian" and method == "n2i":
        config = config.replace(noise_model="poisson_gaussian")
    return config_for_init(config, init) if init is not None else config


def timed_run(case: dict, args, label: str, method: str, budget: float, init=None) -> dict:
    """Train for ``budget`` seconds end to end (denoising time reserved), then denoise."""
    reserve = case.get("denoise_s", 1.0) * 1.2 + SETUP_S
    config = run_config(case, args, method, init).replace(time_limit=max(1.0, budget - reserve))
    start = time.perf_counter()
    model = train(case["noisy"], config, init=init)
    out = denoise(model, case["noisy"])
    seconds = time.perf_counter() - start
    case["outputs"][label] = out
    return {
        "method": label,
        "budget_s": budget,
        "seconds": seconds,
        "steps": model.history["steps"],
        "kept": model.history["kept_weights"],
        "psnr": common.psnr(out, case["clean"], case["range"]),
    }


def long_runs(case: dict, args, label: str, method: str, init=None) -> list[dict]:
    """One 300-s run, scored at 120 s (a snapshot, learning rate not yet annealed) and 300 s."""
    reserve = case.get("denoise_s", 1.0) * 1.2
    config = run_config(case, args, method, init).replace(time_limit=300.0 - reserve)
    rows, start = [], time.perf_counter()

    def score_snapshot(event) -> None:
        if not isinstance(event, Snapshot):
            return
        out = denoise(event.model, case["noisy"])
        rows.append(
            {
                "method": f"{label} 120 s (snapshot of the 300-s run)",
                "budget_s": 120.0,
                "seconds": event.elapsed_s + reserve,
                "steps": event.step,
                "psnr": common.psnr(out, case["clean"], case["range"]),
            }
        )

    generator = iter_train(case["noisy"], config, init=init, snapshot_at_s=[120.0 - reserve])
    model = run_to_end(generator, score_snapshot)
    out = denoise(model, case["noisy"])
    rows.append(
        {
            "method": f"{label} 300 s",
            "budget_s": 300.0,
            "seconds": time.perf_counter() - start,
            "steps": model.history["steps"],
            "kept": model.history["kept_weights"],
            "psnr": common.psnr(out, case["clean"], case["range"]),
        }
    )
    return rows


def case_rows(name: str, args, prior) -> list[dict]:
    case = load_case(name, args)
    case["outputs"] = {}
    rows = [
        {
            "method": "noisy input",
            "seconds": 0.0,
            "psnr": common.psnr(case["noisy"], case["clean"], case["range"]),
        }
    ]
    methods = args.methods.split(",")
    if "bm3d" in methods:
        rows += bm3d_rows(case)
    if "prior" in methods:
        start = time.perf_counter()
        out = denoise(prior, case["noisy"])
        case["denoise_s"] = time.perf_counter() - start
        case["outputs"]["prior alone"] = out
        rows.append(
            {
                "method": "prior alone",
                "seconds": case["denoise_s"],
                "psnr": common.psnr(out, case["clean"], case["range"]),
            }
        )
    for budget in [float(b) for b in args.budgets.split(",")]:
        if "adapt" in methods:
            rows.append(timed_run(case, args, f"prior + {budget:.0f} s", "n2i", budget, prior))
        if "scratch" in methods:
            rows.append(timed_run(case, args, f"N2I scratch {budget:.0f} s", "n2i", budget))
        if "n2v" in methods and name in args.n2v_cases.split(","):
            rows.append(timed_run(case, args, f"N2V scratch {budget:.0f} s", "n2v", budget))
    if name in args.long.split(","):
        if "adapt" in methods:
            rows += long_runs(case, args, "prior +", "n2i", prior)
        if "scratch" in methods:
            rows += long_runs(case, args, "N2I scratch", "n2i")
    crops_figure(name, case, args.out)
    for row in rows:
        print(
            f"{name:18s} {row['method']:28s} {row['psnr']:6.2f} dB {row['seconds']:7.1f} s",
            flush=True,
        )
    return rows


def prior_sweep(args, prior) -> list[dict]:
    """Prior alone vs BM3D with estimated sigma over the 256x256 set12 images."""
    from skimage.restoration import estimate_sigma

    cleans = [common.load_gray(args.data / "set12" / f"{i:02d}.png") for i in range(1, 8)]
    rows = []
    for sigma in SET12_SIGMAS:
        noisys = common.add_noise(cleans, sigma, args.seed)
        ours = [denoise(prior, n) for n in noisys]
        theirs = [bm3d_gaussian(n, float(estimate_sigma(n))) for n in noisys]
        rows.append(
            {
                "sigma": sigma,
                "prior": common.scores(ours, cleans, False)["psnr"],
                "bm3d_estimated": common.scores(theirs, cleans, False)["psnr"],
            }
        )
        print(rows[-1], flush=True)
    return rows


def crops_figure(name: str, case: dict, out) -> None:
    """Noisy, BM3D, the prior, the prior + 60 s and the clean image: a 128x128 crop of each."""
    panels = {"noisy": case["noisy"], **case["outputs"], "clean": case["clean"]}
    wanted = ["noisy", "BM3D oracle", "prior alone", "prior + 60 s", "clean"]
    panels = {k: panels[k] for k in wanted if k in panels}
    clean = case["clean"]
    top, left = (max(0, (s - 128) // 2) for s in clean.shape)
    low, high = np.percentile(clean, (0.5, 99.5))
    plt = common.figure()
    fig, axes = plt.subplots(1, len(panels), figsize=(2.2 * len(panels), 2.5))
    for axis, (label, image) in zip(np.atleast_1d(axes), panels.items(), strict=True):
        crop = image[top : top + 128, left : left + 128]
        axis.imshow(crop, cmap="gray", vmin=low, vmax=high)
        title = label if label in ("noisy", "clean") else label.replace("BM3D oracle", "BM3D")
        if label != "clean":
            title += f"\n{common.psnr(image, clean, case['range']):.2f} dB"
        axis.set_title(title, fontsize=8)
        axis.axis("off")
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / f"prior_{name}_crops.png", dpi=100)
    plt.close(fig)


def markdown(results: dict, args) -> str:
    lines = [
        "# The built-in prior vs BM3D, N2I from scratch and Noise2Void (CPU)",
        "",
        f"Arithmetic {args.precision}; {common.environment()['torch_threads']} torch "
        "thread(s) per run. Seconds are end to end (training with its set-up, then "
        "denoising). PSNR in dB (8-bit range; the synthetic scene: its clean range).",
        "",
    ]
    for name, rows in results["cases"].items():
        lines += [
            f"## {name}",
            "",
            common.md_table(
                ["method", "PSNR", "seconds", "steps"],
                [[r["method"], r["psnr"], r["seconds"], r.get("steps", "")] for r in rows],
            ),
            "",
        ]
    if results.get("sweep"):
        lines += [
            "## Prior alone vs BM3D (estimated sigma), set12 01-07",
            "",
            common.md_table(
                ["sigma", "prior", "BM3D estimated"],
                [[r["sigma"], r["prior"], r["bm3d_estimated"]] for r in results["sweep"]],
            ),
            "",
        ]
    return "\n".join(lines)


def main(argv=None) -> None:
    args = common.parse(build_parser(), argv)
    prior = load_model("builtin").with_precision(args.precision)
    results = {"environment": common.environment(), "args": vars(args), "cases": {}}
    for name in args.cases.split(","):
        results["cases"][name] = case_rows(name, args, prior)
    if args.prior_sweep:
        results["sweep"] = prior_sweep(args, prior)
    common.write_results(args.out, args.name or "prior", results, markdown(results, args))


if __name__ == "__main__":
    main()
