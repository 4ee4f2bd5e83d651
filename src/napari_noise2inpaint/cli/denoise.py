"""The ``denoise`` subcommand: one image in memory, or chunk by chunk for zarr stores."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from napari_noise2inpaint.cli.batch import add_batch_options, run_denoise_batch, wants_batch
from napari_noise2inpaint.cli.chunked import add_chunk_options, run_denoise_chunked, wants_chunked
from napari_noise2inpaint.cli.outputs import check_output
from napari_noise2inpaint.cli.terminal import Progress, interrupt_on_sigterm, print_notes
from napari_noise2inpaint.cli.values import integer, noise_sigma
from napari_noise2inpaint.config import DEVICES, INFERENCE_OUTPUTS, PRECISIONS
from napari_noise2inpaint.engine.events import run_to_end
from napari_noise2inpaint.images.files import remove_stale_temp_files
from napari_noise2inpaint.images.io import read_image
from napari_noise2inpaint.modelfiles.loading import load_model
from napari_noise2inpaint.tasks.batch import write_result
from napari_noise2inpaint.tasks.denoise import DenoiseOptions, iter_denoise_task, prepare_denoise


def add_denoise(commands) -> None:
    """Add the ``denoise`` subcommand to ``commands`` (an argparse subparsers object)."""
    denoise = commands.add_parser("denoise", help="denoise an image with a trained model")
    denoise.add_argument(
        "image", metavar="IMAGE", help="noisy TIFF/PNG/JPEG image or stack, or a zarr store"
    )
    denoise.add_argument(
        "--model",
        required=True,
        help="a .safetensors model file, an exported .zip package or 'builtin' (the prior)",
    )
    denoise.add_argument(
        "--out", required=True, help="float32 TIFF file to write, or a new .zarr (OME-Zarr)"
    )
    denoise.add_argument(
        "--overwrite", action="store_true", help="replace an existing --out file (or results)"
    )
    denoise.add_argument("--channel-axis", type=integer, help="axis holding channels")
    denoise.add_argument("--device", choices=DEVICES, default="auto")
    denoise.add_argument("--output", choices=INFERENCE_OUTPUTS, help="test-time output")
    denoise.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="network arithmetic (default: the model's; auto is bf16 on CUDA and AMX CPUs)",
    )
    denoise.add_argument(
        "--noise-sigma",
        type=noise_sigma,
        help="noise level of IMAGE if it differs from the training data's (a positive number, "
        "or 'estimate'): rescales mu (white-noise N2I models)",
    )
    add_chunk_options(denoise)
    add_batch_options(denoise)
    denoise.set_defaults(func=run_denoise)


def run_denoise(args: argparse.Namespace) -> int:
    """Denoise images with a saved model; see ``noise2inpaint denoise --help``.

    SIGTERM stops it like Ctrl-C (exit status 130), removing a half-written file.
    """
    with interrupt_on_sigterm():
        return _run_denoise(args)


def _run_denoise(args: argparse.Namespace) -> int:
    source, out = Path(args.image), Path(args.out)
    if wants_batch(args):
        return run_denoise_batch(args)
    if wants_chunked(args):
        model = load_model(args.model).with_precision(args.precision)
        return run_denoise_chunked(args, model, _options(args))
    check_output(out, [source, Path(args.model)], overwrite=args.overwrite)
    model = load_model(args.model).with_precision(args.precision)
    task = prepare_denoise(model, read_image(source), _options(args))
    print_notes(task.notes)
    with contextlib.closing(Progress("denoise", "tile")) as bar:
        done = run_to_end(
            iter_denoise_task(task), lambda event: bar.update(event.done, event.total)
        )
    remove_stale_temp_files(out.parent)
    write_result(out, done.image, source)
    if done.note:
        print(done.note)
    print(f"Denoised image ({done.image.shape}, float32) written to {out}")
    return 0


def _options(args: argparse.Namespace) -> DenoiseOptions:
    """Return the denoising options of the command line (chunk options: zarr only)."""
    return DenoiseOptions(
        channel_axis=args.channel_axis,
        device=args.device,
        output=args.output,
        noise_sigma=args.noise_sigma,
        chunks=args.chunks,
        halo=args.halo,
        scheduler=args.scheduler,
    )
