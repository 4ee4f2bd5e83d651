"""CAREamics' Noise2Void as a time-to-quality baseline (CAREamics 0.3.x, imported only here).

Its defaults except patch, batch, features and the clock: Adam with ReduceLROnPlateau,
flips/rotations, fp32 unless ``--careamics-precision`` (e.g. ``bf16-mixed``). A Lightning
callback saves a checkpoint (``trainer.save_checkpoint``) whenever the training clock (from
``on_train_start``, saving time excluded) passes a budget and stops training after the last;
each checkpoint is then used by ``CAREamist.predict(checkpoint=...)``, tiled (its prediction
refuses whole images whose sides are not multiples of 4).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from careamics import CAREamist, __version__
from careamics.config import create_advanced_n2v_config
from lightning.pytorch import Callback

TILE_OVERLAP = 48


@dataclass
class Checkpoint:
    """Predictions of the network saved when the clock passed ``budgets``."""

    budgets: list[float]
    train_s: float
    steps: int
    denoised: list[np.ndarray]
    eval_s: float


class TimeCheckpoints(Callback):
    """Save a checkpoint whenever the training clock passes the next budget."""

    def __init__(self, budgets, folder: Path):
        self.pending, self.folder, self.saved = list(budgets), folder, []
        self.start = None

    def on_train_start(self, trainer, pl_module):
        self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if not self.pending or time.perf_counter() - self.start < self.pending[0]:
            return
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - self.start
        if elapsed < self.pending[0]:
            return
        begin = time.perf_counter()
        path = self.folder / f"at_{len(self.saved)}.ckpt"
        trainer.save_checkpoint(path)
        budgets = []
        while self.pending and elapsed >= self.pending[0]:
            budgets.append(self.pending.pop(0))
        self.saved.append((budgets, elapsed, trainer.global_step, path))
        self.start += time.perf_counter() - begin
        if not self.pending:
            trainer.should_stop = True


def n2v_config(args, axes: str):
    """CAREamics' advanced N2V configuration with the benchmark's patch, batch and features."""
    trainer_params = {
        "accelerator": "gpu" if args.device == "cuda" else "cpu",
        "devices": 1,
        "enable_model_summary": False,
    }
    if args.careamics_precision:
        trainer_params["precision"] = args.careamics_precision
    config = create_advanced_n2v_config(
        experiment_name="time_to_quality",
        data_type="array",
        axes=axes,
        patch_size=[args.patch_size, args.patch_size],
        batch_size=args.batch_size,
        num_epochs=1_000_000,
        seed=args.seed + 1,  # CAREamics refuses seed 0
        trainer_params=trainer_params,
        model_params={"depth": 2, "num_channels_init": args.features},
    )
    return config, trainer_params


def train_and_predict(args, train_noisy, test_noisy, run: dict):
    """Train until the last of ``args.checkpoints``; yield a `Checkpoint` per saved network.

    ``run`` receives the CAREamics version, trainer parameters, axes and wall time.
    """
    shapes = {image.shape for image in train_noisy}
    axes, data = ("SYX", np.stack(train_noisy)) if len(shapes) == 1 else ("YX", train_noisy)
    config, trainer_params = n2v_config(args, axes)
    run.update(careamics_version=__version__, trainer_params=trainer_params, axes=axes)
    with tempfile.TemporaryDirectory() as work:
        callback = TimeCheckpoints(args.checkpoints, Path(work))
        careamist = CAREamist(
            config, work_dir=work, callbacks=[callback], enable_progress_bar=False
        )
        wall = time.perf_counter()
        careamist.train(train_data=data)
        run["wall_seconds_incl_setup"] = round(time.perf_counter() - wall, 2)
        tile = (args.careamics_tile, args.careamics_tile)
        for budgets, elapsed, steps, path in callback.saved:
            start = time.perf_counter()
            predictions, _ = careamist.predict(
                test_noisy,
                axes="YX",
                data_type="array",
                tile_size=tile,
                tile_overlap=(TILE_OVERLAP, TILE_OVERLAP),
                checkpoint=path,
            )
            eval_s = time.perf_counter() - start
            denoised = [np.squeeze(np.asarray(p, np.float32)) for p in predictions]
            yield Checkpoint(budgets, elapsed, steps, denoised, eval_s)
