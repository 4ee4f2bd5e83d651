"""Command-line paths for data larger than memory: zarr / OME-Zarr in, OME-Zarr out."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from pathlib import Path

from napari_noise2inpaint.cli.batch import expand_folders
from napari_noise2inpaint.cli.outputs import check_output
from napari_noise2inpaint.cli.terminal import PROG, Progress
from napari_noise2inpaint.cli.values import non_negative_integer, scheduler_address, sizes
from napari_noise2inpaint.engine.events import run_to_end
from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.images.chunked import (
    denoise_lazy,
    iter_denoise_chunks,
    plan_chunks,
    store_on_cluster,
)
from napari_noise2inpaint.images.io import read_image
from napari_noise2inpaint.images.ome_zarr import (
    create_ome_zarr,
    default_axes,
    is_zarr_path,
    open_lazy,
)
from napari_noise2inpaint.model import TrainedModel


def add_chunk_options(parser: argparse.ArgumentParser) -> None:
    """Add the options of chunked (out-of-core) denoising to the ``denoise`` parser."""
    group = parser.add_argument_group(
        "large data", "used when IMAGE or --out is a zarr store (OME-Zarr is written)"
    )
    group.add_argument(
        "--chunks", type=sizes, help="chunk shape, one size per axis, e.g. 1,1024,1024"
    )
    group.add_argument(
        "--halo",
        type=non_negative_integer,
        help="context pixels around each chunk (default: the network's reach)",
    )
    group.add_argument(
        "--scheduler",
        type=scheduler_address,
        metavar="ADDRESS",
        help="run the chunks on a dask.distributed scheduler, e.g. tcp://host:8786 "
        "(the output must be on storage every worker can reach)",
    )


def wants_chunked(args: argparse.Namespace) -> bool:
    """Whether ``denoise`` should run chunk by chunk (zarr input or output, or a scheduler)."""
    return is_zarr_path(args.image) or is_zarr_path(args.out) or bool(args.scheduler)


def run_denoise_chunked(args: argparse.Namespace, model: TrainedModel) -> int:
    """Denoise chunk by chunk into a new OME-Zarr store, with memory bounded by the chunks."""
    out = Path(args.out)
    if isinstance(args.noise_sigma, str):
        raise InputError("--noise-sigma must be a number for chunked denoising.")
    with open_lazy(args.image) as source:  # first, so that a folder that is no store is named
        if out.suffix.lower() != ".zarr":
            raise InputError(
                f"--out {out}: chunked denoising writes OME-Zarr; use a name ending .zarr."
            )
        if os.path.lexists(out):
            raise InputError(f"--out {out} already exists; an OME-Zarr store is never replaced.")
        check_output(out, [Path(args.image), Path(args.model)])
        return _denoise_source(args, model, source, out)


def _denoise_source(args, model: TrainedModel, source, out: Path) -> int:
    axis = args.channel_axis if args.channel_axis is not None else model.config.channel_axis
    plan = plan_chunks(
        model, source.data.shape, channel_axis=axis, chunks=args.chunks, halo=args.halo
    )
    for note in plan.notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    options = {
        "channel_axis": axis,
        "output": args.output,
        "noise_sigma": args.noise_sigma,
        "device": args.device,
    }
    shape = source.data.shape
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        target = create_ome_zarr(
            partial,
            shape,
            plan.chunk_shape,
            _axes(source.axes, len(shape), axis),
            source.scale,
            name=out.stem,
        )
        if args.scheduler:
            result = denoise_lazy(model, source.data, plan=plan, **options)
            store_on_cluster(result, target, args.scheduler)
        else:
            with contextlib.closing(Progress("denoise", "chunk")) as bar:
                chunks = iter_denoise_chunks(model, source.data, target, plan=plan, **options)
                run_to_end(chunks, lambda event: bar.update(event.done, event.total))
        os.replace(partial, out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    print(f"Denoised image ({shape}, float32, chunks {plan.chunk_shape}) written to {out}")
    return 0


def _axes(known: str | None, ndim: int, channel_axis: int | None) -> str:
    if known is not None and len(known) == ndim:
        return known
    return default_axes(ndim, None if channel_axis is None else channel_axis % ndim)


def read_training_images(paths: list[str]) -> list:
    """Read training images; zarr stores stay lazy (large ones are trained on random crops)."""
    paths = expand_folders(paths)  # a folder of images (not a zarr store) gives its images
    return [open_lazy(p).data if is_zarr_path(p) else read_image(p) for p in paths]
