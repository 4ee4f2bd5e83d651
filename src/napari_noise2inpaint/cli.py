"""Command-line interface: ``noise2inpaint train | denoise | info | export``."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .checkpoint import load_model, read_metadata
from .cli_chunked import add_chunk_options, run_denoise_chunked, wants_chunked
from .cli_terminal import PROG, Progress, check_output, print_notes
from .cli_train import add_train
from .config import DEVICES, INFERENCE_OUTPUTS, PRECISIONS
from .data import resolve_channel_axis
from .errors import InputError
from .inference import iter_denoise
from .io import read_image, write_tiff
from .model_card import model_card


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
    add_train(commands)
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
    check_output(out, [Path(args.model), *([Path(args.sample)] if args.sample else [])])
    image = read_image(args.sample) if args.sample else None
    export_bioimageio(model, out, image=image, name=args.name, authors=args.author)
    print(f"bioimage.io model package written to {out}")
    return 0


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
        "--precision",
        choices=PRECISIONS,
        help="network arithmetic (default: the model's; auto is bf16 on CUDA and AMX CPUs)",
    )
    denoise.add_argument(
        "--noise-sigma",
        type=_sigma,
        help="noise level of IMAGE if it differs from the training data's (a number, or "
        "'estimate'): rescales mu (white-noise N2I models)",
    )
    add_chunk_options(denoise)
    denoise.set_defaults(func=run_denoise)


def run_denoise(args: argparse.Namespace) -> int:
    """Denoise one image with a saved model; see ``noise2inpaint denoise --help``."""
    source, out = Path(args.image), Path(args.out)
    if wants_chunked(args):
        return run_denoise_chunked(args, load_model(args.model).with_precision(args.precision))
    check_output(out, [source])
    model = load_model(args.model).with_precision(args.precision)
    image = read_image(source)
    axis = args.channel_axis if args.channel_axis is not None else model.config.channel_axis
    print_notes([resolve_channel_axis(image, axis)[1]])
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


if __name__ == "__main__":
    raise SystemExit(main())
