"""Real microscopy noise: FMD noisy/clean pairs and Convallaria (no ground truth).

Each method trains on the single noisy image only, for ``--budget`` seconds, and denoises it.
FMD: PSNR/SSIM (range 255) of noisy, Gaussian filter with oracle width, N2V and N2I, plus a crop
figure. Convallaria: a crop figure of noisy / N2V / N2I.

    python benchmarks/microscopy.py --data /work/shared/data --budget 90
"""

from __future__ import annotations

import common
import numpy as np

PAIRS = {
    "Confocal_FISH_3": ("Confocal_FISH_3.png", "gt_Confocal_FISH_3.png"),
    "image_R_1": ("image_R_1_001.png", "image_R_1_avg50.png"),
    "BPAE_R_Channel": ("BPAE_R_Channel_noisy_image.png", "BPAE_R_Channel_gt_image.png"),
}
CONVALLARIA = "microscopy/pn2v_convallaria/20190520_tl_25um_50msec_05pc_488_130EM_Conv0000.tif"
METHODS = ("n2v", "n2i")


def build_parser():
    parser = common.base_parser(__doc__.splitlines()[0], "microscopy")
    common.add_model_args(parser)
    parser.add_argument("--budget", type=float, default=90.0, help="training seconds per method")
    parser.add_argument("--pairs", nargs="*", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--figure-pair", default="Confocal_FISH_3", choices=list(PAIRS))
    parser.add_argument("--crop", type=int, default=160, help="side of the figure crops")
    parser.add_argument("--convallaria", type=int, default=0,
                        help="train on a centred crop of this side (0: the whole image; "
                             "-1: skip Convallaria)")
    return parser


def main(argv=None) -> dict:
    args = common.parse(build_parser(), argv)
    name = args.name or "microscopy"
    env = common.environment()
    fmd, figure_images = {}, None
    for pair in args.pairs:
        noisy, clean = (common.load_gray(args.data / "microscopy_pairs" / "fmd" / f)
                        for f in PAIRS[pair])
        fmd[pair], outputs = run_pair(args, noisy, clean)
        if pair == args.figure_pair:
            figure_images = {"noisy": noisy, **outputs, "clean": clean}
    if figure_images:
        crop_figure(figure_images, args.crop, f"FMD {args.figure_pair}",
                    args.out / f"{name}_fmd_crops.png")
    payload = {"environment": env, "args": vars(args), "fmd": fmd}
    if args.convallaria >= 0:
        payload["convallaria"], images = run_convallaria(args)
        crop_figure(images, args.crop, "Convallaria (no ground truth)",
                    args.out / f"{name}_convallaria_crops.png")
    common.write_results(args.out, name, payload, markdown(payload, args))
    return payload


def train_methods(args, noisy) -> tuple[dict, dict]:
    runs, outputs = {}, {}
    for method in METHODS:
        config = common.model_config(args, method, steps=None, time_limit=args.budget)
        model, runs[method] = common.timed_train(noisy, config)
        denoised, seconds = common.timed_denoise(model, [noisy])
        outputs[method], runs[method]["denoise_seconds"] = denoised[0], round(seconds, 2)
    return runs, outputs


def run_pair(args, noisy, clean) -> tuple[dict, dict]:
    runs, outputs = train_methods(args, noisy)
    filter_sigma, smooth = common.gaussian_oracle(noisy, clean)
    result = {"shape": list(noisy.shape), "runs": runs, "gaussian_filter_sigma": filter_sigma}
    for key, image in [("noisy", noisy), ("gaussian_oracle", smooth), *outputs.items()]:
        result[key] = {"psnr": common.psnr(image, clean), "ssim": common.ssim(image, clean)}
    print({k: round(v["psnr"], 2) for k, v in result.items() if isinstance(v, dict)
           and "psnr" in v}, flush=True)
    return result, outputs


def run_convallaria(args) -> tuple[dict, dict]:
    image = common.load_gray(args.data / CONVALLARIA)
    if args.convallaria:
        side = min(args.convallaria, *image.shape)
        top, left = ((s - side) // 2 for s in image.shape)
        image = image[top : top + side, left : left + side]
    runs, outputs = train_methods(args, image)
    return {"shape": list(image.shape), "runs": runs}, {"noisy": image, **outputs}


def crop_figure(images: dict, side: int, title: str, path) -> None:
    plt = common.figure()
    first = next(iter(images.values()))
    side = min(side, *first.shape)
    top, left = ((s - side) // 2 for s in first.shape)
    crops = {k: v[top : top + side, left : left + side] for k, v in images.items()}
    reference = crops.get("clean", crops[METHODS[-1]])
    low, high = np.percentile(reference, [0.5, 99.5])
    fig, axes = plt.subplots(1, len(crops), figsize=(2.6 * len(crops), 2.9))
    for ax, (key, crop) in zip(np.atleast_1d(axes), crops.items(), strict=True):
        ax.imshow(crop, cmap="gray", vmin=low, vmax=high, interpolation="nearest")
        ax.set_title({"n2v": "N2V", "n2i": "N2I"}.get(key, key), fontsize=9)
        ax.axis("off")
    fig.suptitle(f"{title}: centre crop {side}x{side}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(payload, args) -> str:
    keys = [("noisy", "noisy"), ("gaussian_oracle", "Gaussian filter (oracle width)"),
            ("n2v", "N2V (ours)"), ("n2i", "N2I (ours)")]
    rows = []
    for pair, res in payload["fmd"].items():
        rows += [[pair, label, res[key]["psnr"], res[key]["ssim"],
                  res["runs"][key]["steps"] if key in res["runs"] else "-"]
                 for key, label in keys]
    text = [f"# Real microscopy noise ({args.budget:g} s training per method, noisy image only)",
            "", f"U-Net {args.features} features, N2I K = {args.unrolls}, batch "
            f"{args.batch_size} of {args.patch_size}x{args.patch_size}. PSNR range 255.", "",
            common.md_table(["FMD pair", "method", "PSNR (dB)", "SSIM", "steps"], rows)]
    conv = payload.get("convallaria")
    if conv:
        steps = ", ".join(f"{m} {r['steps']} steps" + (f" (mu {r['mu']:.3f})" if r["mu"] else "")
                          for m, r in conv["runs"].items())
        text += ["", f"Convallaria {'x'.join(map(str, conv['shape']))}: {steps}; "
                 "figure only (no ground truth)."]
    return "\n".join(text)


if __name__ == "__main__":
    main()
