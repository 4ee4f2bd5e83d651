"""Command-line interface: ``noise2inpaint train | denoise | info | export``."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import __version__
from .checkpoint import load_model, read_metadata, save_model
from .cli_chunked import add_chunk_options, read_training_images, run_denoise_chunked, wants_chunked
from .cli_terminal import PROG, Progress, stop_on_sigint
from .config import (
    DEVICES,
    INFERENCE_OUTPUTS,
    METHODS,
    NOISE_MODELS,
    SPATIAL_DIMS,
    Noise2InpaintConfig,
)
from .data import resolve_channel_axis
from .distributed import is_main_process
from .errors import InputError
from .events import run_to_end
from .inference import iter_denoise
from .io import read_image, write_tiff
from .model_card import model_card
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
    ("--seed", "seed", int, "random seed"),
    ("--noise-model", "noise_model", str, "noise statistics of the data-fidelity term"),
    ("--gain", "noise_gain", float, "Poisson-Gaussian gain, variance per intensity unit"),
    ("--offset", "noise_offset", float, "Poisson-Gaussian offset (read-noise variance)"),
)
CHOICES = {
    "method": METHODS,
    "device": DEVICES,
    "noise_model": NOISE_MODELS,
    "spatial_dims": SPATIAL_DIMS,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; defaults to ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 2 for bad input or usage, 130 when interrupted outside training.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        return args.func(args)
    except BrokenPipeError:  # e.g. `noise2inpaint info model | head`
        _silence_stdout()
        return 1
    except (InputError, OSError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _silence_stdout() -> None:
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with the train, denoise, info and export subcommands.

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(
        prog=PROG, description="Self-supervised denoising with Noise2Inpaint."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(commands)
    _add_denoise(commands)
    info = commands.add_parser("info", help="print what a model file stores, as JSON")
    info.add_argument("model", metavar="MODEL", help="a .safetensors model file or .zip package")
    info.set_defaults(func=run_info)
    _add_export(commands)
    return parser


def _add_export(commands) -> None:
    export = commands.add_parser("export", help="export a model to share it (BioImage Model Zoo)")
    export.add_argument("model", metavar="MODEL", help="a .safetensors model file")
    export.add_argument(
        "--bioimageio", required=True, metavar="OUT.zip", help="bioimage.io model package to write"
    )
    export.add_argument(
        "--sample", metavar="IMAGE", help="noisy image for the test tensors and cover image"
    )
    export.add_argument("--name", help="model name shown by bioimage.io")
    export.add_argument("--author", action="append", help="author name (repeat for several)")
    export.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    """Export a model as a bioimage.io package; see ``noise2inpaint export --help``."""
    from .bioimageio_export import export_bioimageio

    model = load_model(args.model)
    out = Path(args.bioimageio)
    _check_output(out, [Path(args.model), *([Path(args.sample)] if args.sample else [])])
    image = read_image(args.sample) if args.sample else None
    export_bioimageio(model, out, image=image, name=args.name, authors=args.author)
    print(f"bioimage.io model package written to {out}")
    return 0


def _add_train(commands) -> None:
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


def _add_denoise(commands) -> None:
    denoise = commands.add_parser("denoise", help="denoise an image with a trained model")
    denoise.add_argument(
        "image", metavar="IMAGE", help="noisy TIFF/PNG/JPEG image or stack, or a zarr store"
    )
    denoise.add_argument(
        "--model", required=True, help="a .safetensors model file or exported .zip package"
    )
    denoise.add_argument(
        "--out", required=True, help="float32 TIFF file to write, or a new .zarr (OME-Zarr)"
    )
    denoise.add_argument("--channel-axis", type=int, help="axis holding channels")
    denoise.add_argument("--device", choices=DEVICES, default="auto")
    denoise.add_argument("--output", choices=INFERENCE_OUTPUTS, help="test-time output")
    denoise.add_argument(
        "--noise-sigma",
        type=_sigma,
        help="noise level of IMAGE if it differs from the training data's (a number, or "
        "'estimate'): rescales mu (white-noise N2I models)",
    )
    add_chunk_options(denoise)
    denoise.set_defaults(func=run_denoise)


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
    _check_output(out, inputs)
    images = read_training_images(args.images)
    targets = [read_image(p) for p in args.target] if args.target else None
    main = is_main_process()
    notes = [resolve_channel_axis(a, config.channel_axis)[1] for a in images] if main else []
    shown = _print_notes(notes)
    stop = threading.Event()
    generator = iter_train(images, config, targets=targets, stop_event=stop)
    if not main:  # another torchrun process: it trains in step with rank 0, which saves the model
        with stop_on_sigint(stop):
            run_to_end(generator)
        return 0
    with stop_on_sigint(stop), contextlib.closing(Progress("train", "step")) as bar:
        model = _drive_training(generator, bar)
    _print_notes(n for n in model.history.get("notes", []) if n not in shown)
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


def run_denoise(args: argparse.Namespace) -> int:
    """Denoise one image with a saved model; see ``noise2inpaint denoise --help``."""
    source, out = Path(args.image), Path(args.out)
    if wants_chunked(args):
        return run_denoise_chunked(args, load_model(args.model))
    _check_output(out, [source])
    model = load_model(args.model)
    image = read_image(source)
    axis = args.channel_axis if args.channel_axis is not None else model.config.channel_axis
    _print_notes([resolve_channel_axis(image, axis)[1]])
    generator = iter_denoise(
        model,
        image,
        channel_axis=axis,
        output=args.output,
        device=args.device,
        noise_sigma=args.noise_sigma,
    )
    with contextlib.closing(Progress("denoise", "tile")) as bar:
        while True:
            try:
                event = next(generator)
            except StopIteration as done:
                result = done.value
                break
            bar.update(event.done, event.total)
    write_tiff(out, result, source=source)
    print(f"Denoised image ({result.shape}, float32) written to {out}")
    return 0


def _sigma(text: str) -> float | str:
    if text == "estimate":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'estimate', got {text!r}") from None


def run_info(args: argparse.Namespace) -> int:
    """Print a model file's config, normalisation, history, data info and versions as JSON."""
    model = load_model(args.model)
    if str(args.model).lower().endswith(".zip"):
        from .bioimageio_export import package_metadata

        metadata = package_metadata(args.model)
    else:
        metadata = read_metadata(args.model)
    report = {
        "file": str(args.model),
        "format": metadata.get("format"),
        "format_version": metadata.get("format_version"),
        "versions": {
            name: metadata.get(f"{name}_version") for name in ("package", "torch", "numpy")
        },
        "config": json.loads(model.config.to_json()),
        "normalization": {"means": model.means, "stds": model.stds},
        "mu": model.mu if model.config.method == "n2i" else None,
        "history": model.history,
        "data": model.data_info,
        "card": model_card(model, metadata.get("package_version")),
    }
    print(json.dumps(report, indent=2, default=str))
    return 0


def _check_output(out: Path, inputs: Sequence[Path]) -> None:
    """Refuse an output path that is one of the inputs or lies in a missing folder."""
    for path in inputs:
        if out.resolve() == path.resolve() or (
            out.exists() and path.exists() and out.samefile(path)
        ):
            raise InputError(f"--out {out} is an input file; choose another output path.")
    if not out.parent.is_dir():
        raise InputError(f"Cannot write {out}: folder {out.parent} does not exist.")
    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name.")


def _print_notes(notes) -> set[str]:
    shown = set()
    for note in notes:
        if note and note not in shown:
            shown.add(note)
            print(f"{PROG}: note: {note}", file=sys.stderr)
    return shown


if __name__ == "__main__":
    raise SystemExit(main())
