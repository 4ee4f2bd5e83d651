"""The ``info`` and ``export`` subcommands: what a model file stores, and sharing it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from napari_noise2inpaint.cli.outputs import check_output
from napari_noise2inpaint.images.io import read_image
from napari_noise2inpaint.modelfiles.checkpoint import read_metadata
from napari_noise2inpaint.modelfiles.loading import BUILTIN, load_model
from napari_noise2inpaint.modelfiles.loading import BUILTIN_PRIOR_FILE as PRIOR_FILE
from napari_noise2inpaint.modelfiles.model_card import model_card


def add_info(commands) -> None:
    """Add the ``info`` subcommand to ``commands`` (an argparse subparsers object)."""
    info = commands.add_parser("info", help="print what a model file stores, as JSON")
    info.add_argument(
        "model", metavar="MODEL", help="a .safetensors model file, .zip package or 'builtin'"
    )
    info.set_defaults(func=run_info)


def run_info(args: argparse.Namespace) -> int:
    """Print a model file's config, normalisation, history, data info and versions as JSON."""
    model = load_model(args.model)
    if str(args.model).lower().endswith(".zip"):
        from napari_noise2inpaint.modelfiles.bioimageio_export import package_metadata

        metadata = package_metadata(args.model)
    else:
        metadata = read_metadata(PRIOR_FILE if args.model == BUILTIN else args.model)
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


def add_export(commands) -> None:
    """Add the ``export`` subcommand to ``commands`` (an argparse subparsers object)."""
    export = commands.add_parser("export", help="export a model to share it (BioImage Model Zoo)")
    export.add_argument("model", metavar="MODEL", help="a .safetensors model file")
    export.add_argument(
        "--bioimageio", required=True, metavar="OUT.zip", help="bioimage.io model package to write"
    )
    export.add_argument(
        "--overwrite", action="store_true", help="replace an existing --bioimageio file"
    )
    export.add_argument(
        "--sample", metavar="IMAGE", help="noisy image for the test tensors and cover image"
    )
    export.add_argument("--name", help="model name shown by bioimage.io")
    export.add_argument("--author", action="append", help="author name (repeat for several)")
    export.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    """Export a model as a bioimage.io package; see ``noise2inpaint export --help``."""
    from napari_noise2inpaint.modelfiles.bioimageio_export import export_bioimageio

    out = Path(args.bioimageio)
    reads = [Path(args.model), *([Path(args.sample)] if args.sample else [])]
    check_output(out, reads, overwrite=args.overwrite, flag="--bioimageio")
    model = load_model(args.model)
    image = read_image(args.sample) if args.sample else None
    export_bioimageio(model, out, image=image, name=args.name, authors=args.author)
    print(f"bioimage.io model package written to {out}")
    return 0
