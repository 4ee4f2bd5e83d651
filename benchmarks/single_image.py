"""One 512x512 image + sigma 25 noise: train and denoise end to end within a wall-clock budget.

Compares a few small configurations against the noisy input and a Gaussian filter whose width
is tuned on the clean image (an oracle upper bound for that filter).

    python benchmarks/single_image.py --data /work/shared/data --budget 60
"""

from __future__ import annotations

import time

import common

DEFAULT_CONFIGS = "n2i:2:16,n2i:5:16,n2v:1:16"


def build_parser():
    parser = common.base_parser(__doc__.splitlines()[0], "single_image")
    parser.add_argument("--image", default="set12/08.png",
                        help="image relative to --data (set12 08-12 are 512x512)")
    parser.add_argument("--sigma", type=float, default=25.0)
    parser.add_argument("--budget", type=float, default=60.0,
                        help="total seconds per config, training + denoising")
    parser.add_argument("--train-seconds", type=float, default=None,
                        help="training time limit (default: 85%% of --budget)")
    parser.add_argument("--configs", default=DEFAULT_CONFIGS,
                        help="comma-separated method:unrolls:features")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--patch-size", type=int, default=64)
    common.add_precision_arg(parser)
    return parser


def parse_configs(text: str) -> list[tuple[str, int, int]]:
    specs = []
    for item in text.split(","):
        method, unrolls, features = item.strip().split(":")
        specs.append((method, int(unrolls), int(features)))
    return specs


def label(method: str, unrolls: int, features: int) -> str:
    if method == "n2i":
        return f"N2I K={unrolls}, {features} f"
    return f"{method.upper()}, {features} f"


def run_config(args, spec, noisy, clean, train_seconds: float) -> dict:
    method, unrolls, features = spec
    start = time.perf_counter()
    config = common.model_config(args, method, unrolls=unrolls, features=features,
                                 steps=None, time_limit=train_seconds)
    model, run = common.timed_train(noisy, config)
    denoised = model.denoise(noisy)
    total = time.perf_counter() - start
    run.update(label=label(*spec), psnr=common.psnr(denoised, clean),
               ssim=common.ssim(denoised, clean), total_seconds=round(total, 2),
               denoise_seconds=round(total - run["wall_seconds_incl_setup"], 2),
               within_budget=total <= args.budget)
    print(f"{run['label']}: {run['psnr']:.2f} dB in {total:.1f} s", flush=True)
    return run


def main(argv=None) -> dict:
    parser = build_parser()
    args = common.parse(parser, argv)
    args.unrolls = args.features = None  # set per config
    name = args.name or "single_image"
    env = common.environment()
    path = args.data / args.image
    clean = common.load_gray(path)
    noisy = common.add_noise([clean], args.sigma, args.seed)[0]
    filter_sigma, smooth = common.gaussian_oracle(noisy, clean)
    baselines = {"noisy": {"psnr": common.psnr(noisy, clean), "ssim": common.ssim(noisy, clean)},
                 "gaussian_oracle": {"psnr": common.psnr(smooth, clean),
                                     "ssim": common.ssim(smooth, clean),
                                     "filter_sigma": filter_sigma}}
    train_seconds = args.train_seconds or 0.85 * args.budget
    runs = [run_config(args, spec, noisy, clean, train_seconds)
            for spec in parse_configs(args.configs)]
    payload = {"environment": env, "args": vars(args), "image": args.image,
               "shape": list(clean.shape), "train_seconds": train_seconds,
               "baselines": baselines, "runs": runs}
    common.write_results(args.out, name, payload, markdown(payload, args))
    return payload


def markdown(payload, args) -> str:
    base = payload["baselines"]
    noisy_psnr = base["noisy"]["psnr"]
    rows = [["noisy input", noisy_psnr, base["noisy"]["ssim"], "-", "-", "-", "-"],
            [f"Gaussian filter, width {base['gaussian_oracle']['filter_sigma']:g} tuned on clean",
             base["gaussian_oracle"]["psnr"], base["gaussian_oracle"]["ssim"], "-", "-", "-", "-"]]
    rows += [[r["label"], r["psnr"], r["ssim"], r["psnr"] - noisy_psnr, r["steps"],
              r["total_seconds"], "yes" if r["within_budget"] else "no"] for r in payload["runs"]]
    shape = "x".join(map(str, payload["shape"]))
    return "\n".join([
        f"# Single image ({payload['image']}, {shape}, sigma {args.sigma:g}): "
        f"{args.budget:g} s end to end", "",
        f"Training limited to {payload['train_seconds']:.3g} s, batch {args.batch_size} of "
        f"{args.patch_size}x{args.patch_size}, then the whole image is denoised (output z); "
        "total = setup + training + denoising.", "",
        common.md_table(["method", "PSNR (dB)", "SSIM", "gain (dB)", "steps", "total s",
                         "within budget"], rows)])


if __name__ == "__main__":
    main()
