"""The ``inspect`` subcommand: the noise report of an image, and a model's residual check on it."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json

from napari_noise2inpaint.cli.terminal import Progress
from napari_noise2inpaint.cli.values import integer
from napari_noise2inpaint.engine.data import check_array
from napari_noise2inpaint.engine.events import run_to_end
from napari_noise2inpaint.images.io import read_image
from napari_noise2inpaint.modelfiles.loading import load_model
from napari_noise2inpaint.noise.report import noise_report
from napari_noise2inpaint.tasks.denoise import DenoiseOptions, iter_denoise_task, prepare_denoise
from napari_noise2inpaint.trust.residual import check_residual_of_image


def add_inspect(commands) -> None:
    """Add the ``inspect`` subcommand to ``commands`` (an argparse subparsers object)."""
    inspect = commands.add_parser(
        "inspect", help="report an image's noise and the settings that suit it"
    )
    inspect.add_argument("image", metavar="IMAGE", help="noisy TIFF/PNG/JPEG image or stack")
    inspect.add_argument("--channel-axis", type=integer, help="axis holding channels")
    inspect.add_argument(
        "--model",
        help="also denoise IMAGE with this model and check that the residual is only noise",
    )
    inspect.add_argument("--json", action="store_true", help="print the numbers as JSON")
    inspect.set_defaults(func=run_inspect)


def run_inspect(args: argparse.Namespace) -> int:
    """Print the noise report (and the residual check with ``--model``)."""
    image = check_array(read_image(args.image))
    report = noise_report(image, channel_axis=args.channel_axis)
    check = _residual_check(args, image) if args.model else None
    if args.json:
        payload = {"noise": dataclasses.asdict(report) | {"text": report.text()}}
        if check is not None:
            payload["residual"] = dataclasses.asdict(check) | {"text": check.text()}
        print(json.dumps(payload, indent=2))
        return 0
    print(report.text())
    if check is not None:
        print(check.text())
    return 0


def _residual_check(args: argparse.Namespace, image):
    """Denoise ``image`` and check the residual of its first plane."""
    model = load_model(args.model)
    task = prepare_denoise(model, image, DenoiseOptions(channel_axis=args.channel_axis))
    with contextlib.closing(Progress("denoise", "tile")) as bar:
        result = run_to_end(
            iter_denoise_task(task), lambda event: bar.update(event.done, event.total)
        )
    return check_residual_of_image(image, result.image, model, task.channel_axis)
