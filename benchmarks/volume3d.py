"""3D stacks: "2D planes" against "3D" (3D U-Net, masks and patches) at the same time budget.

(a) A synthetic volume with ground truth whose planes are correlated (smooth 3D blobs and
oblique tubes that run through many planes) plus white Gaussian noise: PSNR of noisy, 2D, 3D,
and of a 3D Gaussian filter whose width is tuned on the clean volume (an oracle reference).
(b) The real CHO confocal stacks (Cell Tracking Challenge Fluo-N3DH-CHO, 5 planes each, no
ground truth) denoised both ways: a figure of an XY plane and an XZ cut.

    python benchmarks/volume3d.py --data /work/shared/data --budget 120 --threads 1
"""

from __future__ import annotations

import time

import common
import numpy as np
import tifffile
from scipy.ndimage import gaussian_filter

CHO = "microscopy/ctc_Fluo-N3DH-CHO_02"
MODES = {"2d": "2D planes", "3d": "3D"}
FILTER_SIGMAS = np.round(np.arange(0.5, 3.01, 0.25), 2)


def build_parser():
    parser = common.base_parser(__doc__.splitlines()[0], "volume3d")
    parser.add_argument("--budget", type=float, default=120.0,
                        help="training seconds of each mode (denoising is timed separately)")
    parser.add_argument("--shape", type=int, nargs=3, default=[48, 256, 256],
                        metavar=("Z", "Y", "X"), help="synthetic volume shape")
    parser.add_argument("--sigma", type=float, default=25.0, help="synthetic noise level")
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--unrolls", type=int, default=2)
    common.add_precision_arg(parser)
    parser.add_argument("--batch-2d", type=int, default=8, help="2D: patches per step")
    parser.add_argument("--patch-size", type=int, default=64, help="2D patch side")
    parser.add_argument("--batch-3d", type=int, default=2, help="3D: patches per step")
    parser.add_argument("--patch-3d", type=int, nargs=2, default=[16, 48], metavar=("Z", "YX"),
                        help="3D patch depth and side")
    parser.add_argument("--crop", type=int, default=128, help="side of the figure crops")
    parser.add_argument("--skip-cho", action="store_true", help="only the synthetic volume")
    return parser


# ----------------------------------------------------------------------------- data
def synthetic_volume(shape, seed: int) -> np.ndarray:
    """Clean volume in about 20..230: blurred ellipsoids and oblique tubes, all spanning Z."""
    rng = np.random.default_rng(seed)
    depth, height, width = shape
    clean = np.full(shape, 30.0, dtype=np.float32)
    zz, yy, xx = np.meshgrid(*(np.arange(s, dtype=np.float32) for s in shape), indexing="ij")
    n_blobs = max(4, int(60 * height * width / 256**2))
    for _ in range(n_blobs):
        centre = rng.uniform(0, 1, 3) * shape
        radii = rng.uniform(5, 18, 3) * (min(1.0, depth / 48), 1, 1)
        inside = sum(((c - m) / r) ** 2 for c, m, r in zip((zz, yy, xx), centre, radii,
                                                              strict=True)) < 1
        clean += rng.uniform(40, 110) * inside
    for _ in range(max(2, n_blobs // 4)):
        start, direction = rng.uniform(0, 1, 3) * shape, rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        offset = np.stack([zz - start[0], yy - start[1], xx - start[2]])
        along = np.tensordot(direction, offset, axes=1)
        distance = np.sqrt(np.maximum((offset**2).sum(0) - along**2, 0))
        clean += 70 * (distance < rng.uniform(1.5, 3))
    return np.clip(gaussian_filter(clean, 1.0), 0, 255).astype(np.float32)


def filter_oracle(noisy, clean) -> tuple[float, np.ndarray]:
    """3D Gaussian filter with the width that is best against the clean volume."""
    best = (-np.inf, 0.0, noisy)
    for sigma in FILTER_SIGMAS:
        smooth = gaussian_filter(noisy, float(sigma))
        value = common.psnr(smooth, clean)
        if value > best[0]:
            best = (value, float(sigma), smooth)
    return best[1], best[2]


# ----------------------------------------------------------------------------- training
def mode_config(args, mode: str):
    if mode == "2d":
        return common.model_config(args, batch_size=args.batch_2d, steps=None,
                                   time_limit=args.budget)
    depth, side = args.patch_3d
    return common.model_config(args, spatial_dims=3, batch_size=args.batch_3d, patch_size=side,
                               patch_depth=depth, steps=None, time_limit=args.budget)


def run_mode(args, mode: str, noisy) -> tuple[dict, np.ndarray]:
    model, run = common.timed_train(noisy, mode_config(args, mode))
    start = time.perf_counter()
    denoised = model.denoise(noisy)
    run.update(label=MODES[mode], denoise_seconds=round(time.perf_counter() - start, 2),
               patch_shape=model.history["patch_shape"], notes=model.history["notes"])
    return run, denoised


def synthetic_part(args) -> tuple[dict, dict]:
    clean = synthetic_volume(tuple(args.shape), args.seed)
    noisy = common.add_noise([clean], args.sigma, args.seed)[0]
    filter_sigma, smooth = filter_oracle(noisy, clean)
    part = {"shape": args.shape, "sigma": args.sigma, "noisy_psnr": common.psnr(noisy, clean),
            "filter_oracle": {"psnr": common.psnr(smooth, clean), "filter_sigma": filter_sigma},
            "runs": {}}
    images = {"clean": clean, "noisy": noisy}
    for mode in MODES:
        run, images[mode] = run_mode(args, mode, noisy)
        run["psnr"] = common.psnr(images[mode], clean)
        per_plane = [common.psnr(e, c) for e, c in zip(images[mode], clean, strict=True)]
        run["psnr_plane_min_max"] = [round(min(per_plane), 2), round(max(per_plane), 2)]
        part["runs"][mode] = run
        print(f"synthetic {run['label']}: {run['psnr']:.2f} dB, {run['steps']} steps", flush=True)
    return part, images


def cho_part(args) -> tuple[dict, dict]:
    files = sorted((args.data / CHO).glob("frame*_zyx.tif"))
    if not files:
        raise FileNotFoundError(f"no CHO stacks in {args.data / CHO}")
    stacks = np.stack([tifffile.imread(f).astype(np.float32) for f in files])  # T, Z, Y, X
    part = {"files": [f.name for f in files], "shape": list(stacks.shape), "runs": {}}
    images = {"noisy": stacks[0]}
    for mode in MODES:
        run, denoised = run_mode(args, mode, stacks)
        images[mode] = denoised[0]
        part["runs"][mode] = run
        print(f"CHO {run['label']}: {run['steps']} steps", flush=True)
    return part, images


# ----------------------------------------------------------------------------- output
def crop_box(volume, side: int) -> tuple[int, int]:
    """Top-left corner of the ``side`` square (middle plane) with the most signal."""
    plane = volume[volume.shape[0] // 2]
    side = min(side, *plane.shape)
    smooth = gaussian_filter(plane.astype(np.float32), side / 4)
    y, x = np.unravel_index(np.argmax(smooth), smooth.shape)
    y0 = int(np.clip(y - side // 2, 0, plane.shape[0] - side))
    x0 = int(np.clip(x - side // 2, 0, plane.shape[1] - side))
    return y0, x0


def save_figure(path, images: dict, side: int, z_aspect: float, title: str) -> None:
    plt = common.figure()
    names = list(images)
    reference = images["clean"] if "clean" in images else images["noisy"]
    y0, x0 = crop_box(reference, side)
    side = min(side, *reference.shape[1:])
    z, y = reference.shape[0] // 2, y0 + side // 2
    low, high = np.percentile(reference[:, y0:y0 + side, x0:x0 + side], (0.5, 99.8))
    fig, axes = plt.subplots(2, len(names), figsize=(2.6 * len(names), 2.6 + 1.2),
                             gridspec_kw={"height_ratios": [1, 0.45]}, squeeze=False)
    for column, name in enumerate(names):
        volume = images[name]
        axes[0, column].imshow(volume[z, y0:y0 + side, x0:x0 + side], cmap="magma",
                               vmin=low, vmax=high)
        axes[0, column].set_title(name if name in ("clean", "noisy") else MODES[name])
        axes[1, column].imshow(volume[:, y, x0:x0 + side], cmap="magma", vmin=low, vmax=high,
                               aspect=z_aspect, interpolation="nearest")
        for row in range(2):
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
    axes[0, 0].set_ylabel(f"XY, plane {z}")
    axes[1, 0].set_ylabel(f"XZ, row {y}")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(payload, args) -> str:
    synth = payload["synthetic"]
    noisy = synth["noisy_psnr"]
    rows = [["noisy input", noisy, "-", "-", "-", "-", "-"],
            [f"3D Gaussian filter, width {synth['filter_oracle']['filter_sigma']:g} tuned on "
             "clean", synth["filter_oracle"]["psnr"], "-", "-", "-", "-", "-"]]
    for run in synth["runs"].values():
        patch = "x".join(map(str, run["patch_shape"]))
        rows.append([run["label"], run["psnr"], run["psnr"] - noisy, run["steps"],
                     f"{run['config']['batch_size']} x {patch}", run["train_seconds"],
                     run["denoise_seconds"]])
    shape = "x".join(map(str, synth["shape"]))
    lines = [
        f"# 3D stacks: 2D planes vs 3D, {args.budget:g} s of training each", "",
        f"## (a) Synthetic {shape} volume (Z, Y, X), white Gaussian noise sigma "
        f"{synth['sigma']:g}", "",
        "Smooth ellipsoids and oblique tubes that continue across planes (so neighbouring "
        f"planes are correlated). N2I K={args.unrolls}, {args.features} features, output z, "
        "same training time for both modes; PSNR over the whole volume (range 255).", "",
        common.md_table(["method", "PSNR (dB)", "gain (dB)", "steps", "batch x patch",
                         "train s", "denoise s"], rows)]
    if "cho" in payload:
        cho = payload["cho"]
        lines += [
            "", f"## (b) CHO confocal stacks {' + '.join(cho['files'])}, shape "
            f"{'x'.join(map(str, cho['shape']))} (T, Z, Y, X)", "",
            "No ground truth: see `volume3d_cho.png` (XY plane and XZ cut of frame 0; Z "
            "stretched 5x for display, the Z step being about 5x the pixel size). Both time "
            "points train each mode (as two volumes in 3D, ten planes in 2D). The validation "
            "losses are not comparable between modes: 2D holds out one plane, 3D (two volumes, "
            "none held out) validates on fixed patches of its training volumes.", "",
            common.md_table(["mode", "steps", "batch x patch", "train s", "denoise s",
                             "best validation loss"],
                            [[r["label"], r["steps"],
                              f"{r['config']['batch_size']} x "
                              f"{'x'.join(map(str, r['patch_shape']))}",
                              r["train_seconds"], r["denoise_seconds"], r["best_val_loss"]]
                             for r in cho["runs"].values()])]
    return "\n".join(lines)


def main(argv=None) -> dict:
    args = common.parse(build_parser(), argv)
    args.batch_size = args.batch_2d
    name = args.name or "volume3d"
    env = common.environment()
    args.out.mkdir(parents=True, exist_ok=True)
    synth, images = synthetic_part(args)
    payload = {"environment": env, "args": vars(args), "synthetic": synth}
    save_figure(args.out / f"{name}_synthetic.png", images, args.crop, 1.0,
                f"synthetic volume, sigma {args.sigma:g}")
    if not args.skip_cho:
        payload["cho"], cho_images = cho_part(args)
        save_figure(args.out / f"{name}_cho.png", cho_images, args.crop, 5.0,
                    "CHO confocal stack (frame 0), XZ stretched 5x")
    common.write_results(args.out, name, payload, markdown(payload, args))
    return payload


if __name__ == "__main__":
    main()
