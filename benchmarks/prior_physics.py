"""The built-in prior across noise physics vs BM3D, a tuned blur and ZS-N2N (CPU, end to end).

Cases (``cases.prior_cases``): set12 01-07 with white Gaussian noise (sigma 15/25/50), both
FMD pairs, two synthetic Poisson-Gaussian scenes, and set12 02/05 with Gaussian noise
correlated by a 3x3 Gaussian kernel and a 1x5 line kernel. Rows per case: the noisy input;
BM3D with an estimated white noise level (what a user without our estimators would run) and
with the truth (oracle sigma; the generalized Anscombe transform with the true gain; the true
noise spectrum); a Gaussian blur of the best width for each image; each prior given with
``--prior`` alone (estimating the noise from the image) and, for models that estimate it, with
the true noise given; ZS-N2N (``--zs-n2n``). Every time is wall time end to end.

    python benchmarks/prior_physics.py --data ../shared/data --threads 1 \
        --prior builtin --prior v2=path/to/model.safetensors
"""

from __future__ import annotations

import time

import cases
import common
import numpy as np
from skimage.restoration import estimate_sigma

from napari_noise2inpaint import denoise, load_model
from napari_noise2inpaint.noise.estimation import estimate_poisson_gaussian

EXPLICIT_NOISE = "given the true noise"


def build_parser():
    parser = common.base_parser(__doc__.splitlines()[0], "prior_physics")
    parser.add_argument(
        "--prior", action="append", default=[], help="NAME=PATH or 'builtin' (repeatable)"
    )
    parser.add_argument("--cases", default="", help="comma-separated case names (default all)")
    parser.add_argument("--zs-n2n", action="store_true", help="also run Zero-Shot Noise2Noise")
    parser.add_argument("--no-bm3d", action="store_true")
    return parser


def bm3d_white(noisy: np.ndarray, sigma: float) -> np.ndarray:
    import bm3d

    return np.asarray(bm3d.bm3d(noisy, sigma_psd=sigma), dtype=np.float32)


def bm3d_spectrum(noisy: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """BM3D given the noise power spectrum of an autocorrelation ``kernel`` (periodic)."""
    import bm3d

    if not hasattr(np, "trapz"):  # bm4d's coloured-noise path calls np.trapz, gone in NumPy 2
        np.trapz = np.trapezoid
    lags = np.zeros(noisy.shape)
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    for dy in range(-ry, ry + 1):
        for dx in range(-rx, rx + 1):
            lags[dy % noisy.shape[0], dx % noisy.shape[1]] += kernel[dy + ry, dx + rx]
    psd = np.abs(np.fft.fft2(lags)) * noisy.size  # the package's PSD scaling
    return np.asarray(bm3d.bm3d(noisy, sigma_psd=psd), dtype=np.float32)


def bm3d_rows(case: dict) -> dict:
    """BM3D with an estimated white sigma and with the true noise."""
    from prior import bm3d_anscombe

    noisy, truth, rows = case["noisy"], case["noise"], {}
    rows["BM3D, estimated sigma"] = lambda: bm3d_white(noisy, float(estimate_sigma(noisy)))
    if case["kind"] == "gaussian":
        rows["BM3D, true noise"] = lambda: bm3d_white(noisy, truth.sigma)
    elif case["kind"] == "poisson_gaussian":
        gain, offset = estimate_poisson_gaussian([noisy])
        rows["BM3D, Anscombe (estimated gain)"] = lambda: bm3d_anscombe(noisy, gain, offset)
        rows["BM3D, true noise"] = lambda: bm3d_anscombe(noisy, truth.gain, truth.offset)
    else:
        rows["BM3D, true noise"] = lambda: bm3d_spectrum(noisy, truth.kernel)
    return rows


def method_rows(case: dict, priors: dict, args) -> dict:
    rows = {} if args.no_bm3d else bm3d_rows(case)
    noisy = case["noisy"]
    for name, model in priors.items():
        rows[f"prior {name}"] = lambda m=model: denoise(m, noisy)
        if model.config.normalisation == "per_image":
            rows[f"prior {name}, {EXPLICIT_NOISE}"] = lambda m=model: denoise(
                m, noisy, noise=case["noise"]
            )
    if args.zs_n2n:
        from zs_n2n import denoise_zs_n2n

        rows["ZS-N2N"] = lambda: denoise_zs_n2n(noisy, seed=args.seed)[0]
    return rows


def score_case(case: dict, priors: dict, args) -> list[dict]:
    clean, value_range = case["clean"], case["range"]
    results = [
        {"method": "noisy", "psnr": common.psnr(case["noisy"], clean, value_range), "seconds": 0.0}
    ]
    width, blurred = common.gaussian_oracle(case["noisy"], clean)
    results.append(
        {
            "method": "Gaussian blur, best width",
            "width": width,
            "psnr": common.psnr(blurred, clean, value_range),
            "seconds": 0.0,
        }
    )
    for method, run in method_rows(case, priors, args).items():
        start = time.perf_counter()
        out = run()
        seconds = time.perf_counter() - start
        results.append(
            {"method": method, "psnr": common.psnr(out, clean, value_range), "seconds": seconds}
        )
    return results


def load_priors(specs: list[str]) -> dict:
    priors = {}
    for spec in specs or ["builtin"]:
        name, _, path = spec.rpartition("=")
        priors[name or path] = load_model(path).with_precision("float32")
    return priors


def markdown(payload: dict) -> str:
    methods = list(dict.fromkeys(r["method"] for rows in payload["cases"].values() for r in rows))
    table = [
        [name, *[_psnr_of(rows, m) for m in methods]] for name, rows in payload["cases"].items()
    ]
    lines = [
        "# The built-in prior across noise physics (CPU, float32, PSNR dB)",
        "",
        common.env_markdown(payload["environment"]),
        "",
        common.md_table(["case", *methods], table),
        "",
        "## Means per group",
        "",
    ]
    groups = {}
    for name, rows in payload["cases"].items():
        groups.setdefault(_group(name), []).append(rows)
    mean_rows = [
        [group, len(members), *[_mean(members, m) for m in methods]]
        for group, members in groups.items()
    ]
    lines += [common.md_table(["group", "n", *methods], mean_rows), ""]
    seconds = {
        m: np.mean(
            [r["seconds"] for rows in payload["cases"].values() for r in rows if r["method"] == m]
        )
        for m in methods
    }
    lines += [
        "Mean seconds per image: " + ", ".join(f"{m} {s:.2f}" for m, s in seconds.items() if s),
        "",
    ]
    return "\n".join(lines)


def _psnr_of(rows, method):
    found = [r["psnr"] for r in rows if r["method"] == method]
    return round(found[0], 2) if found else ""


def _mean(members, method):
    values = [r["psnr"] for rows in members for r in rows if r["method"] == method]
    return round(float(np.mean(values)), 2) if len(values) == len(members) else ""


def _group(name: str) -> str:
    if name.startswith("set12") and "_s" in name:
        return "set12 sigma " + name.rsplit("_s", 1)[1]
    for prefix in ("synthetic_pg", "fmd", "gaussian3x3", "line1x5"):
        if prefix in name:
            return prefix
    return name


def main(argv=None) -> dict:
    args = common.parse(build_parser(), argv)
    priors = load_priors(args.prior)
    wanted = set(filter(None, args.cases.split(",")))
    payload = {"environment": common.environment(), "priors": args.prior, "cases": {}}
    for case in cases.prior_cases(args.data, args.seed):
        if wanted and case["name"] not in wanted:
            continue
        payload["cases"][case["name"]] = score_case(case, priors, args)
        print(
            case["name"],
            {r["method"]: round(r["psnr"], 2) for r in payload["cases"][case["name"]]},
            flush=True,
        )
        common.write_results(args.out, args.name or "prior_physics", payload, markdown(payload))
    return payload


if __name__ == "__main__":
    main()
