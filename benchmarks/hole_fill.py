"""What the network sees at Lambda pixels in x0: zero (the normalised mean) or a random neighbour.

Trains N2I with each choice for the same number of steps on set12 + sigma 25 noise (self-
supervised on the noisy images themselves) and reports PSNR of the three test-time outputs.

    python benchmarks/hole_fill.py --data /work/shared/data --steps 200
"""

from __future__ import annotations

import common


def build_parser():
    parser = common.base_parser(__doc__.splitlines()[0], "hole_fill")
    common.add_model_args(parser, features=16, unrolls=2)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--images", type=int, default=4, help="set12 images used")
    parser.add_argument("--sigma", type=float, default=25.0)
    return parser


def main(argv=None) -> dict:
    args = common.parse(build_parser(), argv)
    clean = common.load_folder(args.data / "set12", args.images)
    noisy = common.add_noise(clean, args.sigma, args.seed)
    noisy_psnr = common.scores(noisy, clean, False)["psnr"]
    rows = [["noisy input", None, noisy_psnr, noisy_psnr, noisy_psnr]]
    for fill in ("zero", "neighbour"):
        config = common.model_config(args, hole_fill=fill, steps=args.steps)
        model, summary = common.timed_train(noisy, config)
        psnrs = [
            common.scores([model.denoise(n, output=o) for n in noisy], clean, False)["psnr"]
            for o in ("z", "x", "masks")
        ]
        rows.append([fill, summary["steps"], *psnrs])
    payload = {"environment": common.environment(), "steps": args.steps, "rows": rows}
    table = common.md_table(["hole fill", "steps", "PSNR z", "PSNR x", "PSNR masks"], rows)
    title = (
        f"# Hole fill of x0: zero vs random neighbour (set12, {args.images} images, "
        f"sigma {args.sigma:.0f}, K={args.unrolls}, {args.features} features, "
        f"{args.steps} steps)\n"
    )
    common.write_results(args.out, args.name or "hole_fill", payload, title + "\n" + table)
    return payload


if __name__ == "__main__":
    main()
