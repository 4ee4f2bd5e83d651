"""Denoise now on one CPU core: time for a 2048x2048 plane, and whether self-ensembling pays.

A. Wall time of ``denoise(load_model("builtin"), plane)`` for a 2048x2048 float32 plane
   (the network choice on a 256x256 crop included), one torch thread, three repeats.
B. Test-time self-ensembling: the mean of the prior's outputs over the 8 flips and rotations
   of the image vs one output, on set12 01-07 with white noise (sigma 15/25/50): PSNR gain
   and time factor.

    python benchmarks/prior_speed.py --data ../shared/data --threads 1
"""

from __future__ import annotations

import time

import cases
import common
import numpy as np

from napari_noise2inpaint import denoise, load_model


def build_parser():
    parser = common.base_parser(__doc__.splitlines()[0], "prior_speed")
    parser.add_argument("--side", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-ensemble", action="store_true", help="time the big plane only")
    return parser


def big_plane_seconds(prior, side: int, repeats: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    plane = (100 + 20 * rng.standard_normal((side, side))).astype(np.float32)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        denoise(prior, plane)
        seconds.append(time.perf_counter() - start)
    return seconds


def ensembled(prior, noisy: np.ndarray) -> np.ndarray:
    """Mean over the dihedral group: 4 rotations, each with and without a flip."""
    outputs = []
    for flip in (False, True):
        image = noisy[:, ::-1] if flip else noisy
        for turns in range(4):
            out = np.rot90(denoise(prior, np.ascontiguousarray(np.rot90(image, turns))), -turns)
            outputs.append(out[:, ::-1] if flip else out)
    return np.mean(outputs, axis=0)


def ensemble_rows(prior, data, seed: int) -> list[list]:
    rows = []
    for sigma in (15, 25, 50):
        single, many, times = [], [], [0.0, 0.0]
        for image in cases.SET12_SMALL:
            case = cases.gaussian_case(data, image, sigma, seed)
            start = time.perf_counter()
            single.append(common.psnr(denoise(prior, case["noisy"]), case["clean"]))
            times[0] += time.perf_counter() - start
            start = time.perf_counter()
            many.append(common.psnr(ensembled(prior, case["noisy"]), case["clean"]))
            times[1] += time.perf_counter() - start
        rows.append([sigma, round(float(np.mean(single)), 2), round(float(np.mean(many)), 2),
                     round(float(np.mean(many) - np.mean(single)), 2),
                     round(times[1] / times[0], 1)])
    return rows


def main(argv=None) -> dict:
    args = common.parse(build_parser(), argv)
    prior = load_model("builtin").with_precision("float32")
    payload = {"environment": common.environment(),
               "big_plane_seconds": big_plane_seconds(prior, args.side, args.repeats, args.seed),
               "ensemble": [] if args.skip_ensemble else ensemble_rows(prior, args.data, args.seed)}
    lines = ["# Denoise now on one CPU core (built-in prior, float32)", "",
             common.env_markdown(payload["environment"]), "",
             f"A {args.side}x{args.side} plane: "
             + ", ".join(f"{s:.2f}" for s in payload["big_plane_seconds"]) + " s", "",
             common.md_table(["sigma", "one pass dB", "8-fold ensemble dB", "gain dB",
                              "time factor"], payload["ensemble"]), ""]
    common.write_results(args.out, args.name or "prior_speed", payload, "\n".join(lines))
    return payload


if __name__ == "__main__":
    main()
