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
from napari_noise2inpaint.images.io import read_image
from napari_noise2inpaint.images.ome_zarr import (
    create_ome_zarr,
    default_axes,
    is_zarr_path,
    open_lazy,
)
from napari_noise2inpaint.model import TrainedModel
from napari_noise2inpaint.tasks.denoise import (
    DenoiseOptions,
    DenoiseTask,
    iter_denoise_task,
    prepare_denoise,
)


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


def run_denoise_chunked(
    args: argparse.Namespace, model: TrainedModel, options: DenoiseOptions
) -> int:
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
        return _denoise_source(prepare_denoise(model, source.data, options), source, out)


def _denoise_source(task: DenoiseTask, source, out: Path) -> int:
    for note in task.notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    shape, chunk_shape = source.data.shape, task.plan.chunk_shape
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        target = create_ome_zarr(
            partial,
            shape,
            chunk_shape,
            _axes(source.axes, len(shape), task.channel_axis),
            source.scale,
            name=out.stem,
        )
        with contextlib.closing(Progress("denoise", "chunk")) as bar:  # none on a cluster
            run_to_end(
                iter_denoise_task(task, target), lambda event: bar.update(event.done, event.total)
            )
        os.replace(partial, out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    print(f"Denoised image ({shape}, float32, chunks {chunk_shape}) written to {out}")
    return 0


def _axes(known: str | None, ndim: int, channel_axis: int | None) -> str:
    if known is not None and len(known) == ndim:
        return known
    return default_axes(ndim, None if channel_axis is None else channel_axis % ndim)


def read_training_images(paths: list[str]) -> list:
    """Read training images; zarr stores stay lazy (large ones are trained on random crops)."""
    paths = expand_folders(paths)  # a folder of images (not a zarr store) gives its images
    return [open_lazy(p).data if is_zarr_path(p) else read_image(p) for p in paths]
