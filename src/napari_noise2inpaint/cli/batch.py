"""``denoise`` on several files, a folder or a glob, and ``--uncertainty`` for one file.

Exit status: 0 when every file was denoised (or skipped), 1 when some failed (one line per
failure at the end), 2 when nothing could start (bad model, no input, no output folder) or
every file failed.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from napari_noise2inpaint.cli.outputs import check_output, plain_folder
from napari_noise2inpaint.cli.terminal import PROG, Progress
from napari_noise2inpaint.cli.values import integer
from napari_noise2inpaint.engine.events import run_to_end
from napari_noise2inpaint.engine.inference import iter_denoise
from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.images.files import is_pattern, remove_stale_temp_files, same_file
from napari_noise2inpaint.images.io import TIFF_SUFFIXES, read_image
from napari_noise2inpaint.images.ome_zarr import is_zarr_path
from napari_noise2inpaint.modelfiles.loading import load_model
from napari_noise2inpaint.tasks.batch import collect_inputs, iter_batch, write_result
from napari_noise2inpaint.tasks.denoise import model_channel_axis
from napari_noise2inpaint.trust.uncertainty import (
    DEFAULT_MASKS,
    MAX_MASKS,
    check_masks,
    iter_denoise_with_uncertainty,
)


def add_batch_options(denoise: argparse.ArgumentParser) -> None:
    """Add more inputs, ``--skip-existing`` and ``--uncertainty`` to the ``denoise`` parser."""
    denoise.add_argument(
        "more_images",
        nargs="*",
        metavar="IMAGE",
        help="more images; IMAGE may also be a folder or a quoted glob such as 'plate/*.tif'; "
        "with several inputs --out is a folder (created if missing) and each result is "
        "<name>.tif there",
    )
    group = denoise.add_argument_group("batches and uncertainty")
    group.add_argument(
        "--skip-existing",
        action="store_true",
        help="skip inputs whose result is already in the --out folder (resume a batch); "
        "without it, existing results need --overwrite",
    )
    group.add_argument(
        "--uncertainty",
        metavar="OUT",
        help="also write the per-pixel uncertainty (spread over --masks mask predictions, "
        "each one more forward pass): a file for one image, a folder for a batch "
        "(<name>_uncertainty.tif)",
    )
    group.add_argument(
        "--masks",
        type=integer,
        default=DEFAULT_MASKS,
        help=f"masks for --uncertainty (2 to {MAX_MASKS})",
    )


def wants_batch(args: argparse.Namespace) -> bool:
    """Whether ``denoise`` goes through the batch path (not one image, not a zarr store)."""
    _check_zarr_use(args)
    if _zarr_store(args.image):
        return False
    return bool(
        args.more_images
        or plain_folder(Path(args.image))
        or is_pattern(args.image)
        or args.skip_existing
        or args.uncertainty
        or plain_folder(Path(args.out))
    )


def _zarr_store(path: str) -> bool:
    return is_zarr_path(path) and not plain_folder(Path(path))


def _check_zarr_use(args: argparse.Namespace) -> None:
    """Refuse zarr stores where only in-memory images work: batches and --uncertainty."""
    stores = [p for p in (args.image, *args.more_images) if _zarr_store(p)]
    if stores and args.more_images:
        raise InputError(
            f"{stores[0]} is a zarr store; stores are denoised one at a time, chunk by chunk "
            "(give it alone, with --out NAME.zarr)."
        )
    if args.uncertainty and (stores or Path(args.out).suffix.lower() == ".zarr"):
        raise InputError("--uncertainty works on images in memory, not on zarr stores.")


def expand_folders(paths: list[str]) -> list[str]:
    """Replace plain folders and glob patterns by the images in them (``train`` on a folder)."""
    expanded = []
    for path in paths:
        if plain_folder(Path(path)) or is_pattern(path):
            expanded += [str(found) for found in collect_inputs(path)]
        else:
            expanded.append(path)
    return expanded


def run_denoise_batch(args: argparse.Namespace) -> int:
    """Denoise every input into the ``--out`` folder; see the module docstring."""
    if args.output and args.uncertainty:
        raise InputError("--uncertainty uses the model's own output; leave out --output.")
    if args.uncertainty:
        check_masks(args.masks)
    sources = [args.image, *args.more_images]
    model = load_model(args.model).with_precision(args.precision)
    axis = model_channel_axis(model, args.channel_axis)
    options = {"channel_axis": axis, "device": args.device, "noise_sigma": args.noise_sigma}
    out = Path(args.out)
    if len(sources) == 1 and Path(args.image).is_file() and out.suffix.lower() in TIFF_SUFFIXES:
        return _one_file(args, model, options)
    return _batch(args, model, sources, options)


def _one_file(args, model, options) -> int:
    source, out = Path(args.image), Path(args.out)
    spread_out = Path(args.uncertainty) if args.uncertainty else None
    outputs = [path for path in (out, spread_out) if path is not None]
    if args.skip_existing and all(path.is_file() for path in outputs):
        print(f"Skipped {source}: {out} exists")
        return 0
    if spread_out is not None and same_file(out, spread_out):
        raise InputError("--out and --uncertainty name the same file.")
    for path, flag in zip(outputs, ("--out", "--uncertainty"), strict=False):
        check_output(path, [source, Path(args.model)], overwrite=args.overwrite, flag=flag)
    image = read_image(source)
    if spread_out is None:
        generator = iter_denoise(model, image, output=args.output, **options)
    else:
        generator = iter_denoise_with_uncertainty(model, image, masks=args.masks, **options)
    with contextlib.closing(Progress("denoise", "tile")) as bar:
        result = run_to_end(generator, lambda event: bar.update(event.done, event.total))
    result, spread = result if spread_out is not None else (result, None)
    remove_stale_temp_files(out.parent)
    write_result(out, result, source)
    print(f"Denoised image ({result.shape}, float32) written to {out}")
    if spread_out is not None:
        write_result(spread_out, spread, source)
        print(f"Uncertainty ({args.masks} masks) written to {spread_out}")
    return 0


def _batch(args, model, sources, options) -> int:
    sources = collect_inputs(sources)  # before any folder is made
    out = _folder(args.out, "--out")
    spread_out = _folder(args.uncertainty, "--uncertainty") if args.uncertainty else None
    with contextlib.closing(Progress("denoise", "file")) as bar:

        def progress(index, total, event):
            bar.update(index, total, {"tiles": f"{event.done}/{event.total}"})

        items = iter_batch(
            model,
            sources,
            out=out,
            skip_existing=args.skip_existing,
            overwrite=args.overwrite,
            reads=[args.model],
            uncertainty=spread_out is not None,
            uncertainty_out=spread_out,
            masks=args.masks,
            keep_results=False,
            progress=progress,
            output=args.output,
            **options,
        )
        outcome = run_to_end(
            items, lambda item: bar.update(item.index + 1, item.total, {"file": item.path.name})
        )
    done, skipped = len(outcome.denoised), len(outcome.skipped)
    print(f"Denoised {done} file(s) into {out}" + (f", skipped {skipped}" if skipped else ""))
    for path, error in outcome.failed.items():
        print(f"{PROG}: failed: {path}: {error}", file=sys.stderr)
    if outcome.failed:
        return 2 if not done and not skipped else 1
    return 0


def _folder(name: str, flag: str) -> Path:
    folder = Path(name)
    if folder.suffix.lower() in TIFF_SUFFIXES or (folder.exists() and not folder.is_dir()):
        raise InputError(f"{flag} {folder} is a file name; a batch writes into a folder.")
    if not folder.parent.is_dir():
        raise InputError(f"{flag} {folder}: folder {folder.parent} does not exist.")
    folder.mkdir(exist_ok=True)
    return folder
