"""The README's correlated-noise example: noisy, white-noise network, prior, prior + 60 s, clean.

set12 02 with Gaussian noise of sigma 25 correlated by a 3x3 Gaussian kernel; a 128x128 crop of
each result, with its PSNR over the whole image. Writes ``correlated_example.png``/``.json``.

    python benchmarks/correlated_example.py --data ../shared/data --threads 1
"""

from __future__ import annotations

import cases
import common

from napari_noise2inpaint import Noise2InpaintConfig, denoise, load_model, train
from napari_noise2inpaint.prior import config_for_init
from napari_noise2inpaint.prior.choice import prior_note

CROP = 128  # side of the central crop shown


def build_parser():
    parser = common.base_parser(__doc__.splitlines()[0], "correlated_example")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds of adaptation")
    return parser


def _central(image):
    top, left = ((side - min(side, CROP)) // 2 for side in image.shape)
    return image[top : top + CROP, left : left + CROP]


def main(argv=None) -> dict:
    args = common.parse(build_parser(), argv)
    case = cases.correlated_case(args.data, "02", "gaussian3x3", args.seed)
    prior = load_model("builtin").with_precision("float32")
    white = prior.alternatives[0]
    config = config_for_init(Noise2InpaintConfig(), prior).replace(
        steps=None, time_limit=args.budget, precision="float32", seed=args.seed
    )
    adapted = train(case["noisy"], config, init=prior)
    images = {
        "noisy": case["noisy"],
        "white-noise network": denoise(white, case["noisy"]),
        "built-in prior": denoise(prior, case["noisy"]),
        f"prior + {args.budget:.0f} s": denoise(adapted, case["noisy"]),
        "clean": case["clean"],
    }
    scores = {
        name: common.psnr(image, case["clean"]) for name, image in images.items() if name != "clean"
    }
    payload = {"environment": common.environment(), "psnr": scores,
               "note": prior_note(prior, case["noisy"])[2],
               "adaptation": adapted.history.get("adaptation"),
               "kept_weights": adapted.history.get("kept_weights")}
    plt = common.figure()
    fig, axes = plt.subplots(1, len(images), figsize=(3 * len(images), 3.3))
    for axis, (name, image) in zip(axes, images.items(), strict=True):
        axis.imshow(_central(image), cmap="gray", vmin=0, vmax=255)
        title = name if name == "clean" else f"{name}\n{scores[name]:.2f} dB"
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    fig.tight_layout()
    args.out.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out / "correlated_example.png", dpi=100, bbox_inches="tight")
    lines = ["# Correlated noise (3x3 kernel, sigma 25), set12 02", "",
             common.md_table(["result", "PSNR dB"], [[k, round(v, 2)] for k, v in scores.items()]),
             "", payload["note"], ""]
    common.write_results(args.out, "correlated_example", payload, "\n".join(lines))
    return payload


if __name__ == "__main__":
    main()
