"""The ``train`` subcommand: options, config, progress bar, saving and summary."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from pathlib import Path

import numpy as np

from napari_noise2inpaint.cli.chunked import read_training_images
from napari_noise2inpaint.cli.outputs import check_train_output
from napari_noise2inpaint.cli.terminal import PROG, Progress, print_notes, stop_on_signals
from napari_noise2inpaint.cli.train_options import add_config_options, given_values
from napari_noise2inpaint.cli.values import integer
from napari_noise2inpaint.config import Noise2InpaintConfig, start_config
from napari_noise2inpaint.engine.data import resolve_channel_axis
from napari_noise2inpaint.engine.distributed import is_main_process
from napari_noise2inpaint.engine.events import TrainProgress, run_to_end
from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.images.io import read_image
from napari_noise2inpaint.model import TrainedModel
from napari_noise2inpaint.modelfiles.checkpoint import save_model
from napari_noise2inpaint.modelfiles.loading import BUILTIN, load_model
from napari_noise2inpaint.prior import config_for_init, start_name
from napari_noise2inpaint.tasks.train import default_start, iter_train_task

SCRATCH = "scratch"


def add_train(commands) -> None:
    """Add the ``train`` subcommand to ``commands`` (an argparse subparsers object)."""
    train = commands.add_parser("train", help="train a denoiser on noisy images")
    train.add_argument(
        "images", nargs="+", metavar="IMAGE", help="noisy TIFF/PNG/JPEG images or zarr stores"
    )
    train.add_argument("--out", required=True, metavar="MODEL", help="model file to write")
    train.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    train.add_argument("--target", nargs="+", metavar="CLEAN", help="clean images (supervised)")
    train.add_argument(
        "--init",
        metavar="builtin|scratch|MODEL",
        help="start from the built-in prior (the default when the settings fit it), from a "
        "saved model (to adapt or continue it; its architecture is kept) or from random weights",
    )
    add_config_options(train)
    train.add_argument(
        "--noise-region",
        nargs=4,
        type=integer,
        metavar=("Y0", "Y1", "X0", "X1"),
        help="background rectangle of the first image for the correlated-noise estimate",
    )
    train.add_argument(
        "--noise-kernel",
        metavar="FILE",
        help="text file with the noise autocorrelation kernel (odd sides; centre = variance)",
    )
    train.set_defaults(func=run_train)


def train_config(args: argparse.Namespace, init: TrainedModel | None = None) -> Noise2InpaintConfig:
    """Build the training config: the device's start values, replaced by the options given.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments of the ``train`` subcommand.
    init : TrainedModel, optional
        The model training starts from; its architecture replaces the start values. An
        architecture option that differs from it is refused when training starts
        (:func:`~napari_noise2inpaint.prior.check_init`, run once by ``iter_train``).

    Returns
    -------
    Noise2InpaintConfig

    Raises
    ------
    InputError
        A setting is invalid.
    """
    fields = given_values(args)
    if args.noise_region is not None:
        fields["noise_region"] = list(args.noise_region)
    if args.noise_kernel is not None:
        fields["noise_kernel"] = _read_kernel(args.noise_kernel)
    start = start_config(fields.get("device", "auto"))
    if init is None:
        return start.replace(**fields)
    return config_for_init(start, init, given=fields)


def starting_model(args: argparse.Namespace) -> TrainedModel | None:
    """Return the model ``train`` starts from (None: random weights).

    ``--init`` decides; without it :func:`~napari_noise2inpaint.tasks.train.default_start`
    (the built-in prior when the architecture options given are its own).
    """
    if args.init == SCRATCH:
        return None
    if args.init is not None:
        return load_model(args.init)
    return default_start(given_values(args))


def _read_kernel(path: str) -> list[list[float]]:
    try:
        kernel = np.atleast_2d(np.loadtxt(path, dtype=np.float64))
    except (OSError, ValueError) as error:
        reason = str(error).split(";")[0]  # numpy goes on about its own arguments
        raise InputError(f"Cannot read the noise kernel from {path}: {reason}.") from None
    return kernel.tolist()


def run_train(args: argparse.Namespace) -> int:
    """Train on the given images and save the model; see ``noise2inpaint train --help``."""
    init = starting_model(args)
    config = train_config(args, init)
    if (config.method == "supervised") != bool(args.target):
        raise InputError(
            "--method supervised needs clean images (--target CLEAN ...)"
            if args.target is None
            else "--target is only used with --method supervised."
        )
    out = Path(args.out)
    model_file = args.init if args.init not in (None, BUILTIN, SCRATCH) else None
    reads = [*args.images, *(args.target or []), args.noise_kernel, model_file]
    reads = [Path(p) for p in reads if p is not None]
    check_train_output(out, args.images, reads, overwrite=args.overwrite)
    images = read_training_images(args.images)
    targets = [read_image(p) for p in args.target] if args.target else None
    main = is_main_process()
    notes = [resolve_channel_axis(a, config.channel_axis)[1] for a in images] if main else []
    shown = print_notes(notes)
    stop = threading.Event()
    generator = iter_train_task(images, config, targets=targets, stop_event=stop, init=init)
    if not main:  # another torchrun process: it trains in step with rank 0, which saves the model
        with stop_on_signals(stop):
            run_to_end(generator)
        return 0
    bar = Progress(f"train ({start_name(init)})", "step")  # scratch, prior or model
    with stop_on_signals(stop), contextlib.closing(bar):
        outcome = run_to_end(generator, lambda event: _show(event, bar))
    model = outcome.trained  # the weights kept, with the run's history
    print_notes(n for n in model.history.get("notes", []) if n not in shown)
    return _save(model, out)


def _show(event, bar: Progress) -> None:
    if not isinstance(event, TrainProgress):
        return  # previews and snapshots: the command line does not ask for them
    postfix = {"loss": f"{event.loss:.4g}"}
    if event.val_loss is not None:
        postfix["val"] = f"{event.val_loss:.4g}"
    if event.mu is not None:
        postfix["mu"] = f"{event.mu:.3g}"
    if event.eta_s is not None:
        postfix["eta"] = f"{event.eta_s:.0f}s"
    bar.update(event.step, event.total_steps, postfix)


def _save(model, out: Path) -> int:
    history = model.history
    if not history.get("steps"):
        if history.get("stopped_early"):
            print(f"{PROG}: interrupted before the first step; no model saved", file=sys.stderr)
            return 130
        raise InputError("The time limit ended training before its first step; no model saved.")
    save_model(model, out)
    if history.get("stopped_early"):
        print(f"Training interrupted at step {history['steps']}; saved the model trained so far.")
    print(f"Model saved to {out}")
    print(_summary(model))
    return 0


def _summary(model) -> str:
    history = model.history
    config = model.config
    parts = [
        f"{config.method} from {history.get('start', 'scratch')}",
        f"{history.get('steps', '?')} steps ({history.get('epochs', 0):.2f} epochs)",
        f"{history.get('seconds', 0):.1f} s on {history.get('device', '?')}",
        f"final loss {history.get('final_loss', float('nan')):.4g}",
        f"best val loss {history.get('best_val_loss', float('nan')):.4g}",
    ]
    if config.method == "n2i":
        parts.append(f"mu {model.mu:.3g}")
    return "Summary: " + ", ".join(parts)
