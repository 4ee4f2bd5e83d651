"""Noise models in the data-fidelity step: correlated and Poisson-Gaussian noise (paper Sec. 4.5).

Every method trains self-supervised on the noisy test images themselves for the same wall-clock
``--budget`` (the single-dataset setting of a microscopist), with our engine and the same U-Net:

A. correlated Gaussian noise (white noise convolved with a 3x3 Gaussian or a 1x5 line, scaled to
   sigma 25) on set12: N2I with the correlated model (kernel known / estimated), N2I white, N2V;
B. Poisson-Gaussian noise: synthetic fluorescence scenes with known (gain, offset) and the real
   FMD Confocal_FISH_3 pair: N2I Poisson-Gaussian (estimated parameters), N2I Gaussian, N2V;
C. the estimators: estimated vs true (gain, offset) and autocorrelation kernels;
D. noise-level-aware inference: an N2I model trained at sigma 25 applied at sigma 15..50 with and
   without rescaling mu.

    python benchmarks/noise_models.py --data /work/shared/data --budget 60
"""

from __future__ import annotations

from pathlib import Path

import common
import numpy as np
from scipy.ndimage import convolve

from napari_noise2inpaint import denoise
from napari_noise2inpaint.noise.estimation import (
    autocorrelation_of_filter,
    estimate_noise_kernel,
    estimate_poisson_gaussian,
)

KERNELS = {
    "gaussian3x3": np.outer([0.25, 0.5, 0.25], [0.25, 0.5, 0.25]),
    "line1x5": np.full((1, 5), 0.2),
}
PG_SETTINGS = [(2.0, 25.0), (5.0, 100.0), (0.5, 4.0)]


def build_parser():
    parser = common.base_parser(__doc__.splitlines()[0], "noise_models")
    common.add_model_args(parser)
    parser.add_argument("--budget", type=float, default=60.0, help="training seconds per run")
    parser.add_argument("--images", type=int, default=12, help="set12 images used")
    parser.add_argument("--sigma", type=float, default=25.0)
    parser.add_argument("--gen-sigmas", type=float, nargs="+", default=[15, 25, 35, 50])
    parser.add_argument("--parts", default="ABCD", help="parts to run, e.g. A for correlated")
    parser.add_argument("--kernels", nargs="+", default=list(KERNELS), choices=list(KERNELS))
    return parser


def coloured_noise(shape, kernel, sigma, rng) -> np.ndarray:
    """White noise convolved with ``kernel`` and scaled to standard deviation ``sigma``."""
    unit = kernel / np.sqrt((kernel**2).sum())
    return sigma * convolve(rng.normal(0, 1, shape), unit, mode="wrap")


def fluorescence_scene(size: int, seed: int, background: float = 2.0) -> np.ndarray:
    """Smooth blobs on a dark background (intensity units ~ photons)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    image = np.full((size, size), background)
    for _ in range(14):
        cy, cx = rng.uniform(0, size, 2)
        radius, height = rng.uniform(4, 30), rng.uniform(30, 200)
        image += height * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2))
    return image.astype(np.float32)


def run_methods(args, noisy, clean, runs: dict, gallery: dict | None = None) -> list[list]:
    """Train every configured run on ``noisy`` and score it against ``clean``.

    ``gallery`` (when given) receives each run's result on the first image.
    """
    rows = []
    for label, config in runs.items():
        model, summary = common.timed_train(noisy, config)
        estimates, _ = common.timed_denoise(model, noisy)
        if gallery is not None:
            gallery[label] = estimates[0]
        result = common.scores(estimates, clean)
        rows.append([label, result["psnr"], result["ssim"], summary["steps"], summary["mu"]])
    return rows


def correlated_part(args, clean) -> dict:
    out = {}
    for name in args.kernels:
        blur = KERNELS[name]
        rng = np.random.default_rng(args.seed)
        noisy = [
            c + coloured_noise(c.shape, blur, args.sigma, rng).astype(np.float32) for c in clean
        ]
        unit = blur / np.sqrt((blur**2).sum())
        truth = autocorrelation_of_filter(unit, args.sigma)
        kernel = _crop_centre(truth, 5).tolist()
        budget = {"steps": None, "time_limit": args.budget}
        runs = {
            "N2I, correlated model (known kernel)": common.model_config(
                args, noise_model="correlated", noise_kernel=kernel, **budget
            ),
            "N2I, correlated model (estimated)": common.model_config(
                args, noise_model="correlated", **budget
            ),
            "N2I, white Gaussian model": common.model_config(args, **budget),
            "Noise2Void": common.model_config(args, "n2v", **budget),
            "structN2V (blind spot grown by the known kernel's support)": common.model_config(
                args, "n2v", noise_model="correlated", noise_kernel=kernel, **budget
            ),
        }
        rows = [["noisy", common.scores(noisy, clean)["psnr"], None, None, None]]
        gallery = {"clean": clean[0], "noisy": noisy[0]}
        rows += run_methods(args, noisy, clean, runs, gallery)
        out[name] = rows
        save_gallery(gallery, Path(args.out) / f"{args.name or 'noise_models'}_{name}.png")
    return out


def save_gallery(gallery: dict, path: Path, side: int = 128) -> None:
    """Centre crops of every result on one image, side by side (like the paper's Fig. 8)."""
    plt = common.figure()
    fig, axes = plt.subplots(1, len(gallery), figsize=(2.2 * len(gallery), 2.6))
    for axis, (label, image) in zip(axes, gallery.items(), strict=True):
        h, w = image.shape
        top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
        axis.imshow(image[top : top + side, left : left + side], cmap="gray", vmin=0, vmax=255)
        title = label.split(" (blind")[0].replace("correlated model ", "correlated\n")
        axis.set_title(title, fontsize=7)
        axis.axis("off")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def poisson_part(args) -> dict:
    gain, offset = PG_SETTINGS[0]
    rng = np.random.default_rng(args.seed)
    clean = [fluorescence_scene(256, args.seed + i) for i in range(4)]
    noisy = [
        (gain * rng.poisson(c / gain) + rng.normal(0, np.sqrt(offset), c.shape)).astype(np.float32)
        for c in clean
    ]
    budget = {"steps": None, "time_limit": args.budget}
    runs = {
        "N2I, Poisson-Gaussian model (estimated)": common.model_config(
            args, noise_model="poisson_gaussian", **budget
        ),
        "N2I, white Gaussian model": common.model_config(args, **budget),
        "Noise2Void": common.model_config(args, "n2v", **budget),
    }
    peak = max(float(c.max()) for c in clean)
    synthetic = [["noisy", _psnr(noisy, clean, peak), None, None, None]]
    synthetic += _rescore(run_methods_raw(args, noisy, runs), clean, peak)
    fmd_noisy = common.load_gray(args.data / "microscopy_pairs/fmd/Confocal_FISH_3.png")
    fmd_clean = common.load_gray(args.data / "microscopy_pairs/fmd/gt_Confocal_FISH_3.png")
    real = [["noisy", common.scores([fmd_noisy], [fmd_clean])["psnr"], None, None, None]]
    real += run_methods(args, [fmd_noisy], [fmd_clean], runs)
    return {
        "synthetic (gain 2, offset 25; PSNR w.r.t. peak)": synthetic,
        "FMD Confocal_FISH_3 (real)": real,
    }


def run_methods_raw(args, noisy, runs):
    """Train each run and return ``(label, estimates, summary)`` without scoring."""
    results = []
    for label, config in runs.items():
        model, summary = common.timed_train(noisy, config)
        results.append((label, [denoise(model, n) for n in noisy], summary))
    return results


def _rescore(results, clean, peak) -> list[list]:
    return [
        [label, _psnr(est, clean, peak), None, s["steps"], s["mu"]] for label, est, s in results
    ]


def _psnr(estimates, cleans, peak) -> float:
    return float(np.mean([common.psnr(e, c, peak) for e, c in zip(estimates, cleans, strict=True)]))


def estimator_part(args) -> dict:
    rows = []
    for index, (gain, offset) in enumerate(PG_SETTINGS):
        rng = np.random.default_rng(args.seed + index)
        clean = fluorescence_scene(256, args.seed + index)
        noisy = gain * rng.poisson(clean / gain) + rng.normal(0, np.sqrt(offset), clean.shape)
        est = estimate_poisson_gaussian([noisy])
        rows.append(
            [
                f"gain {gain}, offset {offset}",
                est[0],
                est[1],
                100 * (est[0] / gain - 1),
                100 * (est[1] / offset - 1),
            ]
        )
    kernels = []
    for name in args.kernels:
        blur = KERNELS[name]
        unit = blur / np.sqrt((blur**2).sum())
        rng = np.random.default_rng(args.seed)
        flat = 50 + coloured_noise((256, 256), blur, args.sigma, rng)
        truth = _crop_centre(autocorrelation_of_filter(unit, args.sigma), 5)
        est = estimate_noise_kernel(flat)
        error = np.abs(est - truth).max() / truth.max()
        kernels.append([name, truth[2, 2], est[2, 2], truth[2, 3], est[2, 3], 100 * error])
    return {"poisson_gaussian": rows, "kernels": kernels}


def generalisation_part(args, clean) -> list[list]:
    rng = np.random.default_rng(args.seed)
    noisy = [c + rng.normal(0, args.sigma, c.shape).astype(np.float32) for c in clean]
    model, _ = common.timed_train(
        noisy, common.model_config(args, steps=None, time_limit=args.budget)
    )
    rows = []
    for sigma in args.gen_sigmas:
        test = [
            c + np.random.default_rng(1).normal(0, sigma, c.shape).astype(np.float32) for c in clean
        ]
        plain = common.scores([denoise(model, t) for t in test], clean, False)["psnr"]
        known = common.scores([denoise(model, t, noise_sigma=sigma) for t in test], clean, False)[
            "psnr"
        ]
        estimated = common.scores(
            [denoise(model, t, noise_sigma="estimate") for t in test], clean, False
        )["psnr"]
        rows.append([sigma, common.scores(test, clean, False)["psnr"], plain, known, estimated])
    return rows


def _crop_centre(kernel: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros((size, size))
    kh, kw = kernel.shape
    r = size // 2
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            y, x = dy + kh // 2, dx + kw // 2
            if 0 <= y < kh and 0 <= x < kw:
                out[dy + r, dx + r] = kernel[y, x]
    return out


def main(argv=None) -> dict:
    args = common.parse(build_parser(), argv)
    name = args.name or "noise_models"
    env = common.environment()
    clean = common.load_folder(args.data / "set12", args.images)
    payload = {
        "environment": env,
        "budget_s": args.budget,
        "sigma": args.sigma,
        "correlated": correlated_part(args, clean) if "A" in args.parts else {},
        "poisson": poisson_part(args) if "B" in args.parts else {},
        "estimators": estimator_part(args) if "C" in args.parts else None,
        "generalisation": generalisation_part(args, clean) if "D" in args.parts else None,
    }
    common.write_results(args.out, name, payload, markdown(payload))
    return payload


def markdown(payload) -> str:
    head = ["method", "PSNR", "SSIM", "steps", "mu"]
    parts = [
        f"# Noise models (budget {payload['budget_s']:.0f} s per run, trained on the noisy "
        "test images themselves)\n"
    ]
    for name, rows in payload["correlated"].items():
        parts += [
            f"## A. Correlated noise, {name}, sigma {payload['sigma']:.0f}, set12\n",
            common.md_table(head, rows),
            "",
        ]
    for name, rows in payload["poisson"].items():
        parts += [f"## B. Poisson-Gaussian noise: {name}\n", common.md_table(head, rows), ""]
    est = payload["estimators"]
    if est is not None:
        parts += _estimator_markdown(est)
    if payload["generalisation"] is not None:
        parts += _generalisation_markdown(payload["generalisation"])
    return "\n".join(parts)


def _estimator_markdown(est) -> list[str]:
    return [
        "## C. Estimators\n",
        common.md_table(
            ["truth", "gain", "offset", "gain error %", "offset error %"], est["poisson_gaussian"]
        ),
        "",
        common.md_table(
            [
                "kernel",
                "true var",
                "est. var",
                "true right neighbour",
                "est. right neighbour",
                "max error % of peak",
            ],
            est["kernels"],
        ),
        "",
    ]


def _generalisation_markdown(rows) -> list[str]:
    return [
        "## D. Trained at sigma 25, tested at other levels (PSNR)\n",
        common.md_table(
            [
                "sigma",
                "noisy",
                "plain model",
                "mu rescaled (known sigma)",
                "mu rescaled (estimated sigma)",
            ],
            rows,
        ),
    ]


if __name__ == "__main__":
    main()
