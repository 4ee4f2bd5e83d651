"""How well does the built-in prior pick its network per image? (BSD68, CPU, float32)

The prior has two networks (physics-aware and white) and picks one per image by estimated
risk under the noise it estimates (``prior.choice``). Here, on the 68 BSD68 images (none
trained on): white Gaussian noise at sigma 15/25/50, and every sixth image with Gaussian
noise correlated by a 0.5 px and a 0.7 px Gaussian blur and a 1x3 line (std 15 and 25). Per
image: the noise kind identified, the network chosen, and the PSNR of each network alone.
Per group: the choice's mean PSNR against always-white, always-physics and the better of the
two (oracle), and the worst loss of the choice against the oracle.

    python benchmarks/prior_choice.py --data ../shared/data --threads 1
"""

from __future__ import annotations

from collections import Counter

import common
import numpy as np
from scipy.ndimage import convolve

from napari_noise2inpaint import denoise, load_model
from napari_noise2inpaint.noise.identify import estimate_noise
from napari_noise2inpaint.prior.choice import choose_network

WHITE_SIGMAS = (15.0, 25.0, 50.0)
CORRELATED_SIGMAS = (15.0, 25.0)


def _gaussian_blur(width: float) -> np.ndarray:
    line = np.exp(-np.arange(-3, 4) ** 2 / (2 * width**2))
    return np.outer(line, line)


KERNELS = {"blur0.5": _gaussian_blur(0.5), "blur0.7": _gaussian_blur(0.7),
           "line1x3": np.ones((1, 3))}


def build_parser():
    parser = common.base_parser(__doc__.splitlines()[0], "prior_choice")
    parser.add_argument("--limit", type=int, default=None, help="first N BSD68 images only")
    return parser


def score(prior, networks: dict, noisy: np.ndarray, clean: np.ndarray) -> dict:
    chosen = choose_network(prior, noisy).history["prior_network"]
    psnrs = {name: common.psnr(denoise(model, noisy), clean) for name, model in networks.items()}
    kind = type(estimate_noise(noisy).model).__name__.removesuffix("Noise")
    return {"kind": kind, "chosen": chosen, **psnrs}


def correlated_noise(shape, kernel: np.ndarray, std: float, rng) -> np.ndarray:
    noise = convolve(rng.normal(0, 1, shape), kernel, mode="wrap")
    return (std * noise / noise.std()).astype(np.float32)


def markdown(payload: dict) -> str:
    groups = {}
    for row in payload["images"]:
        groups.setdefault(row["group"], []).append(row)
    table = []
    for group, rows in groups.items():
        chosen = np.array([r[r["chosen"]] for r in rows])
        white, physics = (np.array([r[n] for r in rows]) for n in ("white", "physics"))
        best = np.maximum(white, physics)
        kinds = ", ".join(f"{k} {n}" for k, n in Counter(r["kind"] for r in rows).items())
        table.append([group, len(rows), kinds, sum(r["chosen"] == "physics" for r in rows),
                      *(round(float(v.mean()), 2) for v in (chosen, white, physics, best)),
                      round(float((best - chosen).max()), 2)])
    headers = ["noise", "images", "identified as", "physics chosen", "choice dB",
               "always white dB", "always physics dB", "better of the two dB",
               "worst loss of the choice dB"]
    return "\n".join(["# The built-in prior's network choice on BSD68 (CPU, float32)", "",
                      common.env_markdown(payload["environment"]), "",
                      common.md_table(headers, table), ""])


def main(argv=None) -> dict:
    args = common.parse(build_parser(), argv)
    prior = load_model("builtin").with_precision("float32")
    networks = {m.history["prior_network"]: m
                for m in (prior.without_alternatives(), *prior.alternatives)}
    paths = sorted((args.data / "bsd68").glob("*.png"))[: args.limit]
    cleans = [common.load_gray(path) for path in paths]
    rng = np.random.default_rng(args.seed)
    payload = {"environment": common.environment(), "images": []}
    jobs = [(f"white s{s:g}", i, lambda c, s=s: rng.normal(0, s, c.shape).astype(np.float32))
            for s in WHITE_SIGMAS for i in range(len(cleans))]
    jobs += [(f"{name} s{s:g}", i, lambda c, k=k, s=s: correlated_noise(c.shape, k, s, rng))
             for name, k in KERNELS.items() for s in CORRELATED_SIGMAS
             for i in range(0, len(cleans), 6)]
    for group, index, noise in jobs:
        clean = cleans[index]
        row = score(prior, networks, clean + noise(clean), clean)
        payload["images"].append({"group": group, "image": paths[index].name, **row})
        print(group, paths[index].name, row, flush=True)
    common.write_results(args.out, args.name or "prior_choice", payload, markdown(payload))
    return payload


if __name__ == "__main__":
    main()
