"""The ``train`` subcommand: options, config, progress bar and summary."""

from __future__ import annotations

import argparse
import contextlib
import threading
from pathlib import Path

import numpy as np

from .checkpoint import save_model
from .cli_chunked import read_training_images
from .cli_terminal import Progress, check_output, print_notes, stop_on_sigint
from .config import (
    DEVICES,
    METHODS,
    NOISE_MODELS,
    PRECISIONS,
    SPATIAL_DIMS,
    Noise2InpaintConfig,
)
from .data import resolve_channel_axis
from .distributed import is_main_process
from .errors import InputError
from .events import run_to_end
from .io import read_image
from .training import iter_train

DEFAULTS = Noise2InpaintConfig()
# training options: flag, config field, type, help (the config's default is appended)
TRAIN_OPTIONS = (
    ("--method", "method", str, "n2i, n2v (blind spot) or supervised"),
    ("--rho", "rho", float, "fraction of pixels in each loss set, in (0, 0.5]"),
    ("--unrolls", "unrolls", int, "unrolled inpainting blocks (n2i)"),
    ("--steps", "steps", int, "optimisation steps; unset by --epochs or --time-limit alone"),
    ("--epochs", "epochs", float, "passes over the training pixels"),
    ("--time-limit", "time_limit", float, "wall-clock limit in seconds"),
    ("--patch", "patch_size", int, "side of the training patches"),
    ("--dims", "spatial_dims", int, "2: plane by plane; 3: the last three axes are ZYX volumes"),
    ("--patch-depth", "patch_depth", int, "Z side of 3D training patches (--dims 3)"),
    ("--batch", "batch_size", int, "patches per step"),
    ("--features", "features", int, "feature maps of the U-Net's first layer"),
    ("--lr", "learning_rate", float, "learning rate"),
    ("--channel-axis", "channel_axis", int, "axis holding channels"),
    ("--device", "device", str, "where to train"),
    ("--precision", "precision", str, "network arithmetic (auto: bf16 on CUDA and AMX CPUs)"),
    ("--seed", "seed", int, "random seed"),
    ("--noise-model", "noise_model", str, "noise statistics of the data-fidelity term"),
    ("--gain", "noise_gain", float, "Poisson-Gaussian gain, variance per intensity unit"),
    ("--offset", "noise_offset", float, "Poisson-Gaussian offset (read-noise variance)"),
)
CHOICES = {
    "method": METHODS,
    "device": DEVICES,
    "precision": PRECISIONS,
    "noise_model": NOISE_MODELS,
    "spatial_dims": SPATIAL_DIMS,
}


def add_train(commands) -> None:
    """Add the ``train`` subcommand to ``commands`` (an argparse subparsers object)."""
    train = commands.add_parser("train", help="train a denoiser on noisy images")
    train.add_argument(
        "images", nargs="+", metavar="IMAGE", help="noisy TIFF/PNG/JPEG images or zarr stores"
    )
    train.add_argument("--out", required=True, metavar="MODEL", help="model file to write")
    train.add_argument("--target", nargs="+", metavar="CLEAN", help="clean images (supervised)")
    for flag, field, kind, text in TRAIN_OPTIONS:
        train.add_argument(
            flag,
            dest=field,
            type=kind,
            choices=CHOICES.get(field),
            metavar=None if field in CHOICES else flag[2:].upper().replace("-", "_"),
            help=f"{text} (default {_default(field)})",
        )
    train.add_argument(
        "--noise-region",
        nargs=4,
        type=int,
        metavar=("Y0", "Y1", "X0", "X1"),
        help="background rectangle of the first image for the correlated-noise estimate",
    )
    train.add_argument(
        "--noise-kernel",
        metavar="FILE",
        help="text file with the noise autocorrelation kernel (odd sides; centre = variance)",
    )
    train.set_defaults(func=run_train)


def _default(field: str) -> str:
    value = getattr(DEFAULTS, field)
    return "unset" if value is None else str(value)


def train_config(args: argparse.Namespace) -> Noise2InpaintConfig:
    """Build the training config from parsed ``train`` arguments (validated by the config).

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments of the ``train`` subcommand.

    Returns
    -------
    Noise2InpaintConfig
    """
    fields = {
        field: getattr(args, field)
        for _, field, _, _ in TRAIN_OPTIONS
        if getattr(args, field) is not None
    }
    if args.steps is None and (args.epochs is not None or args.time_limit is not None):
        fields["steps"] = None
    if args.noise_region is not None:
        fields["noise_region"] = list(args.noise_region)
    if args.noise_kernel is not None:
        fields["noise_kernel"] = _read_kernel(args.noise_kernel)
    return Noise2InpaintConfig(**fields)


def _read_kernel(path: str) -> list[list[float]]:
    try:
        kernel = np.atleast_2d(np.loadtxt(path, dtype=np.float64))
    except ValueError as error:
        raise InputError(f"Cannot read the noise kernel from {path}: {error}") from None
    return kernel.tolist()


def run_train(args: argparse.Namespace) -> int:
    """Train on the given images and save the model; see ``noise2inpaint train --help``."""
    config = train_config(args)
    if (config.method == "supervised") != bool(args.target):
        raise InputError(
            "--method supervised needs clean images (--target CLEAN ...)"
            if args.target is None
            else "--target is only used with --method supervised."
        )
    out = Path(args.out)
    inputs = [Path(p) for p in [*args.images, *(args.target or [])]]
    check_output(out, inputs)
    images = read_training_images(args.images)
    targets = [read_image(p) for p in args.target] if args.target else None
    main = is_main_process()
    notes = [resolve_channel_axis(a, config.channel_axis)[1] for a in images] if main else []
    shown = print_notes(notes)
    stop = threading.Event()
    generator = iter_train(images, config, targets=targets, stop_event=stop)
    if not main:  # another torchrun process: it trains in step with rank 0, which saves the model
        with stop_on_sigint(stop):
            run_to_end(generator)
        return 0
    with stop_on_sigint(stop), contextlib.closing(Progress("train", "step")) as bar:
        model = _drive_training(generator, bar)
    print_notes(n for n in model.history.get("notes", []) if n not in shown)
    save_model(model, out)
    history = model.history
    if history.get("stopped_early"):
        print(f"Training interrupted at step {history['steps']}; saved the model trained so far.")
    print(f"Model saved to {out}")
    print(_summary(model))
    return 0


def _drive_training(generator, bar: Progress):
    while True:
        try:
            event = next(generator)
        except StopIteration as done:
            return done.value
        if not hasattr(event, "loss"):
            continue  # a preview image; the CLI does not ask for them
        postfix = {"loss": f"{event.loss:.4g}"}
        if event.val_loss is not None:
            postfix["val"] = f"{event.val_loss:.4g}"
        if event.mu is not None:
            postfix["mu"] = f"{event.mu:.3g}"
        if event.eta_s is not None:
            postfix["eta"] = f"{event.eta_s:.0f}s"
        bar.update(event.step, event.total_steps, postfix)


def _summary(model) -> str:
    history = model.history
    config = model.config
    parts = [
        f"{config.method}",
        f"{history.get('steps', '?')} steps ({history.get('epochs', 0):.2f} epochs)",
        f"{history.get('seconds', 0):.1f} s on {history.get('device', '?')}",
        f"final loss {history.get('final_loss', float('nan')):.4g}",
        f"best val loss {history.get('best_val_loss', float('nan')):.4g}",
    ]
    if config.method == "n2i":
        parts.append(f"mu {model.mu:.3g}")
    return "Summary: " + ", ".join(parts)
