"""Trust: does the N2I uncertainty rank the errors, does the residual check catch over-smoothing?

On the synthetic fluorescence scene of the sample (blobs and filaments) with a known clean
image and three kinds of noise (white Gaussian, Poisson-Gaussian, correlated Gaussian), a small
N2I model trains on the noisy image with the matching noise model. Then:

1. uncertainty: Spearman correlation between the uncertainty and |output - clean| per pixel and
   between the block means of the uncertainty and the block RMS errors (8x8 blocks), for M masks
   (with the time of M passes); a calibration plot (binned uncertainty vs RMS error);
2. residual check: its verdict on the N2I result, on the Gaussian filter of the best width
   (chosen against the clean image) and on the same filter at twice that width;
3. noise report: estimated gain, offset and neighbour correlation against the truth, and the
   suggested noise model.

    python benchmarks/trust.py --steps 200 --precision float32 --threads 1
"""

from __future__ import annotations

import time
from pathlib import Path

import common
import numpy as np
import torch
from noise_models import KERNELS, coloured_noise
from scipy.ndimage import gaussian_filter
from scipy.stats import spearmanr

from napari_noise2inpaint import Noise2InpaintConfig, noisy_fluorescence, train
from napari_noise2inpaint.noise.estimation import autocorrelation_of_filter
from napari_noise2inpaint.noise.report import noise_report
from napari_noise2inpaint.trust.residual import check_residual
from napari_noise2inpaint.trust.uncertainty import denoise_with_uncertainty

MASK_COUNTS = (2, 4, 8, 16, 32)
NOTES = """## Reading

- The uncertainty is the standard deviation of the last regulariser output over M random masks
  and costs M forward passes on top of the ordinary one. Its ranking of the errors improves
  with M, steeply up to M = 8 (the default) and slowly after. It ranks errors; it is not
  calibrated in intensity units: the RMS error grows monotonically with it but is larger (the
  network's bias is not in the spread of its predictions).
- Residual check: smooth signal left in the residual raises its lag-1/2 correlation above pure
  noise's (white and Poisson-Gaussian noise, 2x best width); thin lines lost to a light filter
  and over-smoothing of correlated noise (whose residual is less correlated than the noise)
  show in the correlation with the result's edges instead. Either sign gives "structure".
- Gain and offset come from the block second-difference estimator, which thin filaments bias;
  the suggestion therefore uses the flat blocks only (neighbour correlation and the noise
  variance of bright against dark flat blocks)."""
BLOCK = 8
SIGMA = 10.0
GAIN, OFFSET = 2.0, 25.0
CORRELATED = "gaussian3x3"


def build_parser():
    parser = common.base_parser(__doc__.splitlines()[0], "trust")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=200)
    common.add_model_args(parser, features=16, unrolls=2)
    return parser


def make_case(name: str, size: int, seed: int) -> dict:
    """Clean scene, noisy image, true noise parameters and the matching noise model."""
    rng = np.random.default_rng(seed)
    _, clean = noisy_fluorescence((size, size), seed=seed, return_clean=True)
    clean = 10.0 * (clean.astype(np.float64) - 100.0)  # blobs and filaments, 10..210
    if name == "gaussian":
        noisy = clean + rng.normal(0, SIGMA, clean.shape)
        truth = {"gain": 0.0, "offset": SIGMA**2, "correlation": 0.0}
    elif name == "poisson_gaussian":
        noisy = GAIN * rng.poisson(clean / GAIN) + rng.normal(0, np.sqrt(OFFSET), clean.shape)
        truth = {"gain": GAIN, "offset": OFFSET, "correlation": 0.0}
    else:
        kernel = KERNELS[CORRELATED]
        noisy = clean + coloured_noise(clean.shape, kernel, SIGMA, rng)
        auto = autocorrelation_of_filter(kernel / np.sqrt((kernel**2).sum()), SIGMA)
        centre = auto.shape[0] // 2
        correlation = auto[centre, centre + 1] / auto[centre, centre]
        truth = {"gain": 0.0, "offset": SIGMA**2, "correlation": correlation}
    return {"clean": clean, "noisy": noisy.astype(np.float32), "truth": truth, "model": name}


def blocks(values: np.ndarray) -> np.ndarray:
    h, w = (s - s % BLOCK for s in values.shape)
    return values[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).mean(axis=(1, 3)).ravel()


def rank_errors(uncertainty, error) -> tuple[float, float]:
    pixel = spearmanr(uncertainty.ravel(), np.abs(error).ravel())[0]
    block = spearmanr(blocks(uncertainty), np.sqrt(blocks(error**2)))[0]
    return float(pixel), float(block)


def calibration(uncertainty, error, bins: int = 10) -> list[list[float]]:
    """Deciles of the uncertainty: mean uncertainty and RMS error of each."""
    edges = np.quantile(uncertainty, np.linspace(0, 1, bins + 1))
    which = np.clip(np.searchsorted(edges, uncertainty.ravel(), side="right") - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        chosen = which == b
        if chosen.any():
            out.append([float(uncertainty.ravel()[chosen].mean()),
                        float(np.sqrt((error.ravel()[chosen] ** 2).mean()))])
    return out


def residual_rows(case, model, output) -> list[list]:
    noisy, clean = case["noisy"], case["clean"]
    best_sigma, best = common.gaussian_oracle(noisy, clean)
    wide = gaussian_filter(noisy, 2 * best_sigma, mode="reflect")
    kernel = model.config.noise_kernel
    rows = []
    for label, result in (("N2I", output), (f"Gaussian filter {best_sigma:.1f} (best)", best),
                          (f"Gaussian filter {2 * best_sigma:.1f} (2x best)", wide)):
        check = check_residual(noisy, result, noise_model=case["model"], noise_kernel=kernel,
                               rng=torch.Generator().manual_seed(0))
        rows.append([case["model"], label, common.psnr(result, clean, clean.max()),
                     check.lag_correlation[0], check.noise_lag_correlation[0],
                     check.lag_correlation[1], check.noise_lag_correlation[1], check.excess,
                     check.edge_correlation, "noise" if check.looks_like_noise else "structure"])
    return rows


def run_case(name: str, args) -> dict:
    case = make_case(name, args.size, args.seed)
    config = Noise2InpaintConfig(
        rho=0.05, unrolls=args.unrolls, features=args.features, steps=args.steps,
        batch_size=args.batch_size, patch_size=min(args.patch_size, args.size // 2),
        noise_model=name, seed=args.seed, device="cpu", precision=args.precision,
    )
    model = train(case["noisy"], config)
    result = {"case": name, "masks": []}
    for masks in MASK_COUNTS:
        start = time.perf_counter()
        output, uncertainty = denoise_with_uncertainty(
            model, case["noisy"], masks=masks, rng=torch.Generator().manual_seed(args.seed))
        seconds = time.perf_counter() - start
        error = output - case["clean"]
        pixel, block = rank_errors(uncertainty, error)
        result["masks"].append([name, masks, pixel, block, seconds])
        if masks == 8:
            result["calibration"] = calibration(uncertainty, error)
            result["maps"] = (np.abs(error), uncertainty)
    result["psnr"] = common.psnr(output, case["clean"], case["clean"].max())
    result["residual"] = residual_rows(case, model, output)
    report = noise_report(case["noisy"])
    truth = case["truth"]
    result["report"] = [name, truth["gain"], report.gain, truth["offset"], report.offset,
                        truth["correlation"], report.correlation[1], report.suggested]
    return result


def save_figure(results: list[dict], path: Path) -> None:
    plt = common.figure()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    error, uncertainty = results[1]["maps"]
    axes[0].imshow(error, cmap="magma")
    axes[0].set_title(f"|output - clean| ({results[1]['case']})")
    axes[1].imshow(uncertainty, cmap="magma")
    axes[1].set_title("N2I uncertainty (M = 8)")
    for ax in axes[:2]:
        ax.axis("off")
    for result in results:
        curve = np.asarray(result["calibration"])
        axes[2].plot(curve[:, 0], curve[:, 1], "o-", label=result["case"])
    axes[2].set_xlabel("uncertainty (decile mean)")
    axes[2].set_ylabel("RMS error in the decile")
    axes[2].set_title("Calibration")
    axes[2].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def markdown(results: list[dict], args) -> str:
    masks = [row for r in results for row in r["masks"]]
    residual = [row for r in results for row in r["residual"]]
    reports = [r["report"] for r in results]
    psnrs = ", ".join(f"{r['case']} {r['psnr']:.2f} dB" for r in results)
    return "\n\n".join([
        "# Trust: uncertainty, residual check and noise report",
        "The sample's synthetic fluorescence scene (blobs and filaments), "
        f"{args.size}x{args.size}, N2I K={args.unrolls}, {args.features} features, "
        f"{args.steps} steps, {args.precision}; PSNR of the N2I result: {psnrs}.",
        "## Uncertainty ranks the errors (Spearman)",
        common.md_table(["case", "masks M", "per pixel", "per 8x8 block", "seconds"], masks),
        "## Residual check",
        common.md_table(["case", "result", "PSNR", "lag 1", "noise lag 1", "lag 2",
                         "noise lag 2", "max excess", "edge corr.", "verdict"], residual),
        "## Noise report against the truth",
        common.md_table(["case", "gain", "est.", "offset", "est.", "corr. X", "est.",
                         "suggested"], reports),
        "![calibration](trust.png)",
        NOTES,
    ])


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    env = common.environment()
    results = [run_case(name, args) for name in ("gaussian", "poisson_gaussian", "correlated")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = args.name or "trust"
    save_figure(results, out / f"{name}.png")
    payload = {"environment": env, "args": vars(args),
               "results": [{k: v for k, v in r.items() if k != "maps"} for r in results]}
    common.write_results(out, name, payload, markdown(results, args))


if __name__ == "__main__":
    main()
