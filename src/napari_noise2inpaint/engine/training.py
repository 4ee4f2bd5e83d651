"""Self-supervised training as a generator of progress events (N2I, Noise2Void, supervised)."""

from __future__ import annotations

import copy
import dataclasses
import math
import threading
import time
from collections.abc import Generator, Sequence

import torch

from napari_noise2inpaint._version import __version__
from napari_noise2inpaint.config import Noise2InpaintConfig, start_config
from napari_noise2inpaint.engine import distributed, keep_rule
from napari_noise2inpaint.engine.events import PreviewUpdate, Snapshot, TrainProgress, run_to_end
from napari_noise2inpaint.engine.keep_rule import KeepDecision
from napari_noise2inpaint.engine.losses import masked_loss
from napari_noise2inpaint.engine.masks import neighbour_values, random_lambda
from napari_noise2inpaint.engine.network import Denoiser
from napari_noise2inpaint.engine.preview import PreviewSource, denoise_preview
from napari_noise2inpaint.engine.sampling import PatchBatch, PatchSampler
from napari_noise2inpaint.engine.structured import blind_spot_for
from napari_noise2inpaint.engine.training_data import (
    TrainingData,
    prepare_training_data,
    source_training_data,
)
from napari_noise2inpaint.engine.training_state import TrainingState
from napari_noise2inpaint.engine.unet import memory_format
from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.model import TrainedModel, autocast, resolve_device, uses_bfloat16
from napari_noise2inpaint.noise import AUTO, build_noise_model
from napari_noise2inpaint.prior import check_init, config_for_init, start_name
from napari_noise2inpaint.prior.choice import choose_start

TrainEvent = TrainProgress | PreviewUpdate | Snapshot
#: Patches in the fixed validation batch: the same pixels and masks score every weight set
VALIDATION_PATCHES = 32


def iter_train(
    images,
    config: Noise2InpaintConfig | None = None,
    *,
    targets=None,
    validation=None,
    stop_event: threading.Event | None = None,
    preview: PreviewSource | None = None,
    snapshot_at_s: Sequence[float] = (),
    init: TrainedModel | None = None,
    source=None,
    resume: TrainingState | None = None,
) -> Generator[TrainEvent, None, TrainedModel]:
    """Train a denoiser, yielding a :class:`TrainProgress` after every step.

    Parameters
    ----------
    images : array_like or list of array_like
        Noisy images: 2D, or stacks whose leading axes are independent planes.
    config : Noise2InpaintConfig, optional
        Method and hyper-parameters; defaults to :func:`~napari_noise2inpaint.config.start_config`
        (the widget's start values for this machine: lighter on a CPU).
    targets : array_like or list of array_like, optional
        Clean images for ``method="supervised"``.
    validation : array_like or list of array_like, optional
        Noisy validation images; by default planes or patches of ``images`` are held out.
    stop_event : threading.Event, optional
        Checked every step; when set, training ends early and returns the model so far.
    preview : PreviewSource, optional
        A plane to denoise every ``preview.interval_s`` seconds, yielded as a
        :class:`PreviewUpdate`.
    snapshot_at_s : sequence of float
        Training times (seconds) at which a :class:`Snapshot` of the current model is yielded,
        e.g. to test quality against training time; time spent by the consumer on a snapshot
        is not counted as training time.
    init : TrainedModel, optional
        Start from this model's weights (the built-in prior, ``load_model("builtin")``, to
        adapt it to ``images``; or a saved model, to continue its training) instead of random
        ones. Its architecture must match ``config`` (see
        :func:`napari_noise2inpaint.prior.config_for_init`); with ``config=None`` it is taken
        from ``init``. With ``keep_weights="best"`` the starting weights are kept when
        training does not improve the validation loss.
    source : optional
        A data source instead of ``images`` (``images`` is then None): an object with
        ``sample(batch_size)`` returning :class:`~napari_noise2inpaint.engine.sampling.PatchBatch`
        with clean targets and per-sample noise models, ``batch_at(index, batch_size)``,
        ``position`` and ``n_pixels``, such as the built-in prior's
        :class:`~napari_noise2inpaint.prior.source.SyntheticNoiseSource`.
    resume : TrainingState, optional
        Continue a training stopped earlier (weights, Adam's moments, step; the schedule
        runs over ``config.steps`` in all); updated in place when this stage ends.

    With clean targets (``targets`` or a ``source``), an N2I network learns supervised: the
    loss compares its last regulariser output with the target on every pixel (how the
    built-in prior is trained).

    Returns
    -------
    TrainedModel
        The weights with the best validation loss, or the last ones with
        ``config.keep_weights="last"``; ``history`` records both losses.
    """
    if init is not None:
        init, config = choose_start(init, images, config)
    if config is None:
        config = start_config() if init is None else config_for_init(start_config(), init)
    if init is not None:
        check_init(config, init)
    if source is None:
        data = prepare_training_data(images, config, targets, validation)
    else:
        data = source_training_data(source, config)
    run = _Run(data, distributed.setup(resolve_device(config.device)), init, source, resume)
    try:
        yield from run.loop(stop_event, preview, sorted(snapshot_at_s))
        return run.finish(stop_event)
    finally:
        run.release()


def train(images, config: Noise2InpaintConfig | None = None, **kwargs) -> TrainedModel:
    """Train and return the model; same arguments as :func:`iter_train`."""
    return run_to_end(iter_train(images, config, **kwargs))


class _Run:
    """State of one training run; kept private so that only the generator drives it."""

    def __init__(self, data: TrainingData, device, init: TrainedModel | None, source, resume):
        config = self.config = data.config
        self.data = data
        self.device = device
        self.rng = torch.Generator(device).manual_seed(distributed.sampling_seed(config.seed))
        self.noise = (
            data.train_noises[0]
            if data.train_noises
            else build_noise_model(config, data.means[0], data.stds[0])
        )
        self.structure = blind_spot_for(self.noise)
        init_rng = torch.Generator().manual_seed(config.seed)
        # channels-last convolutions: about 1.6x faster on a 2-core CPU, and the fast path on GPUs
        self.net = Denoiser(config, init_rng, self.noise).to(
            device, memory_format=memory_format(config.spatial_dims)
        )
        self.model = distributed.parallel(self.net, device)  # the net itself for one process
        self.optimizer = torch.optim.Adam(
            [
                {"params": self.net.regularizers.parameters(), "lr_scale": 1.0},
                {"params": [self.net.mu_raw], "lr_scale": config.mu_lr_factor},
            ],
            lr=config.learning_rate,
        )
        self.resume = resume
        if source is not None:
            self.sampler = source
            self.val_batch = self._prepare_validation(source.batch_at(-2, 2 * config.batch_size))
        else:
            self._sample_from_planes(device)
        # all processes together: an epoch takes world_size times fewer steps
        pixels_per_step = config.batch_size * math.prod(data.patch_shape) * distributed.world_size()
        self.steps_per_epoch = max(1, math.ceil(self.sampler.n_pixels / pixels_per_step))
        self.total_steps = _total_steps(config, self.steps_per_epoch)
        self.best_val = math.inf
        self.best_state = None
        self.best_step = 0
        self.step = 0
        self.seconds_before = 0.0
        self.loss = math.nan
        self.val_loss: float | None = None
        self.start_name = start_name(init)
        self.init = None
        self.init_steps = init.history.get("steps", 0) if init is not None else 0
        if init is not None:
            self._load_start(init)
        if resume is not None and resume.network:
            self._resume(resume)
        self.start = time.perf_counter()

    def _sample_from_planes(self, device) -> None:
        data, config = self.data, self.config
        n_sets = config.n_sets if config.method == "n2i" else None
        to_device = lambda planes: [torch.from_numpy(p).to(device) for p in planes]  # noqa: E731
        targets = to_device(data.train_targets) if data.train_targets is not None else None
        kernel = getattr(self.noise, "kernel", None)
        self.sampler = PatchSampler(
            to_device(data.train),
            data.patch_shape,
            n_sets,
            self.rng,
            targets,
            data.train_noises,
            kernel,
        )
        self.val_batch = self._validation_batch(to_device, n_sets, kernel)

    def _resume(self, state: TrainingState) -> None:
        """Continue a stopped training: its weights, Adam's moments, step and data position."""
        self.net.load_state_dict(state.network)
        if state.optimizer:
            self.optimizer.load_state_dict(state.optimizer)
        self.step = self.best_step = state.step
        self.seconds_before = state.seconds
        if hasattr(self.sampler, "position"):
            self.sampler.position = state.step
        self.best_val, self.best_state = math.inf, None
        self._validate()

    def _load_start(self, init: TrainedModel) -> None:
        """Copy the starting weights and make them the best so far (kept unless beaten)."""
        self.net.regularizers.load_state_dict(init.network.regularizers.state_dict())
        with torch.no_grad():
            self.net.mu_raw.copy_(init.network.mu_raw)
        self.init = init
        self._validate()

    def _validation_batch(self, to_device, n_sets, kernel) -> tuple[PatchBatch, torch.Tensor]:
        val_rng = torch.Generator(self.device).manual_seed(self.config.seed + 2)
        targets = self.data.validation_targets
        sampler = PatchSampler(
            to_device(self.data.validation),
            self.data.patch_shape,
            n_sets,
            val_rng,
            to_device(targets) if targets is not None else None,
            self.data.validation_noises,
            kernel,
        )
        patches = max(self.config.batch_size, VALIDATION_PATCHES)
        return self._prepare_validation(sampler.sample(patches), val_rng)

    def _prepare_validation(self, batch: PatchBatch, rng=None):
        rng = rng or torch.Generator(self.device).manual_seed(self.config.seed + 2)
        inputs, loss_set = self._inputs(batch, rng)
        return PatchBatch(inputs, loss_set, batch.target, batch.noise), batch.noisy

    def _inputs(self, batch: PatchBatch, rng: torch.Generator):
        """Network inputs and loss set for the configured method."""
        method = self.config.method
        if method == "supervised":
            return batch.noisy, None
        if method == "n2v":
            mask = random_lambda(batch.noisy.shape, self.config.n2v_fraction, rng)
            return torch.where(self._blind(mask), self._fill(batch.noisy, rng), batch.noisy), mask
        if batch.loss_set is None:
            return batch.noisy, None
        blind = self._blind(batch.loss_set)
        if self.config.hole_fill == "zero":
            return torch.where(blind, 0.0, batch.noisy), batch.loss_set
        return torch.where(blind, self._fill(batch.noisy, rng), batch.noisy), batch.loss_set

    def _step_rng(self) -> torch.Generator:
        """Return the run's generator; for a source, one seeded by the step (stages == one run)."""
        if self.resume is None:
            return self.rng
        return torch.Generator(self.device).manual_seed(self.config.seed * 7919 + self.step)

    def _blind(self, loss_set: torch.Tensor) -> torch.Tensor:
        """Pixels hidden from the network and the data fidelity (see :mod:`.structured`)."""
        return loss_set if self.structure is None else self.structure.dilate(loss_set)

    def _fill(self, noisy: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        if self.structure is None:
            return neighbour_values(noisy, rng)
        return self.structure.fill(noisy, rng)

    def _loss(self, noisy, inputs, loss_set, target, noise=None) -> torch.Tensor:
        if self.config.method == "n2i":
            theta = None if loss_set is None else ~self._blind(loss_set)
            x, z = self.model(noisy, theta, inputs, noise=noise)
            if target is not None:  # supervised N2I: the last regulariser output, every pixel
                return masked_loss(z, target, None, self.config.loss)
        else:
            x, _ = self.model(inputs)
        reference = target if self.config.method == "supervised" else noisy
        return masked_loss(x, reference, loss_set, self.config.loss)

    def loop(self, stop_event, preview, snapshot_at_s) -> Generator[TrainEvent, None, None]:
        last_preview = time.perf_counter()
        window = (time.perf_counter(), 0)
        while True:
            stop, fraction = distributed.agree(
                self._done(stop_event), self._progress_fraction(), self.device
            )
            if stop:
                break
            if self.resume is not None:  # one schedule over all stages
                fraction = min(1.0, self.step / self.total_steps)
            self._set_learning_rate(fraction)
            batch = self.sampler.sample(self.config.batch_size)
            inputs, loss_set = self._inputs(batch, self._step_rng())
            self.net.train()
            with autocast(self.device, self.config.precision):
                loss = self._loss(batch.noisy, inputs, loss_set, batch.target, batch.noise)
            self.optimizer.zero_grad(set_to_none=True)
            distributed.backward(loss)
            self.optimizer.step()
            self.step += 1
            self.loss = float(loss.detach())
            if self.step % self.config.val_interval == 0:
                self._validate()
            now = time.perf_counter()
            rate = (self.step - window[1]) / max(now - window[0], 1e-9)
            if now - window[0] > 5:
                window = (now, self.step)
            progress = self._progress(rate * self.config.batch_size)
            yield progress
            if snapshot_at_s and progress.elapsed_s >= snapshot_at_s[0]:
                while snapshot_at_s and progress.elapsed_s >= snapshot_at_s[0]:
                    snapshot_at_s.pop(0)
                yield from self._snapshot_event(progress)
            if preview is not None and now - last_preview >= preview.interval_s:
                last_preview = now
                image = denoise_preview(self._snapshot(), preview)
                if image is not None:
                    yield PreviewUpdate(self.step, image)

    def _done(self, stop_event) -> bool:
        if stop_event is not None and stop_event.is_set():
            return True
        if self.total_steps is not None and self.step >= self.total_steps:
            return True
        limit = self.config.time_limit
        return limit is not None and time.perf_counter() - self.start >= limit

    def _progress_fraction(self) -> float:
        fractions = [0.0]
        if self.total_steps:
            fractions.append(self.step / self.total_steps)
        if self.config.time_limit:
            fractions.append((time.perf_counter() - self.start) / self.config.time_limit)
        return min(1.0, max(fractions))

    def _set_learning_rate(self, fraction: float) -> None:
        factor = 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * fraction))
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.learning_rate * factor * group["lr_scale"]

    @torch.no_grad()
    def _validate(self) -> None:
        batch, noisy = self.val_batch
        self.net.eval()
        with autocast(self.device, self.config.precision):
            loss = self._loss(noisy, batch.noisy, batch.loss_set, batch.target, batch.noise)
        self.val_loss = float(loss)
        if self.val_loss < self.best_val:
            self.best_val = self.val_loss
            self.best_state = copy.deepcopy(self.net.state_dict())
            self.best_step = self.step

    def _progress(self, patches_per_s: float) -> TrainProgress:
        elapsed = time.perf_counter() - self.start
        fraction = self._progress_fraction()
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else None
        return TrainProgress(
            step=self.step,
            total_steps=self.total_steps,
            epoch=self.step / self.steps_per_epoch,
            loss=self.loss,
            val_loss=self.val_loss,
            mu=float(self.net.mu.detach()) if self.net.unrolled else None,
            patches_per_s=patches_per_s,
            pixels_per_s=patches_per_s * math.prod(self.data.patch_shape),
            elapsed_s=elapsed,
            eta_s=eta,
        )

    def _snapshot_event(self, progress: TrainProgress) -> Generator[Snapshot, None, None]:
        paused = time.perf_counter()
        self.net.eval()
        # from a starting model: what a run ending now returns (the keep rule applied)
        model = self._snapshot() if self.init is None else self.finish(None)
        yield Snapshot(progress.step, progress.elapsed_s, model)
        self.start += time.perf_counter() - paused  # the consumer's time is not training

    def _snapshot(self) -> TrainedModel:
        return TrainedModel(self.net, self.config, self.data.means, self.data.stds)

    def finish(self, stop_event) -> TrainedModel:
        if self.step == 0 or self.step % self.config.val_interval:
            self._validate()
        last_val = self.val_loss
        if self.best_state is None:
            raise InputError(
                "Training diverged (the loss is not a number): check the noise settings "
                "(gain, offset, kernel) against the data, or lower the learning rate."
            )
        keep_last = self.config.keep_weights == "last" and math.isfinite(last_val)
        trained = self.net.state_dict() if keep_last else self.best_state
        network = self._network_with(trained)
        decision = self._keep_decision(network, keep_last)
        history = {
            "steps": self.step,
            "epochs": self.step / self.steps_per_epoch,
            "final_loss": self.loss,
            "best_val_loss": self.best_val,
            "best_step": self.best_step,
            "last_val_loss": last_val,
            "kept_weights": self._kept_name(decision, keep_last),
            "adaptation": None if decision is None else decision.record(),
            "seconds": self.seconds_before + time.perf_counter() - self.start,
            "stopped_early": bool(stop_event is not None and stop_event.is_set()),
            "start": self.start_name,
            "start_steps": self.init_steps,
            "device": str(self.device),
            "arithmetic": "bfloat16"
            if uses_bfloat16(self.device, self.config.precision)
            else "float32",
            "processes": distributed.world_size(),
            "patch_size": self.data.patch_size,
            "patch_shape": list(self.data.patch_shape),
            "notes": self.data.notes,
            "package_version": __version__,
        }
        if self.resume is not None:
            self.resume.network = copy.deepcopy(trained)
            self.resume.optimizer = copy.deepcopy(self.optimizer.state_dict())
            self.resume.step, self.resume.seconds = self.step, history["seconds"]
        if history["kept_weights"] == "start":  # the starting model as it was
            history["prior_network"] = self.init.history.get("prior_network")
            return dataclasses.replace(self.init, history=history)
        return TrainedModel(
            network, self.config, self.data.means, self.data.stds, history, self.data.info
        )

    def _network_with(self, state: dict) -> Denoiser:
        network = Denoiser(self.config, noise=self.noise)
        network.load_state_dict(state)
        return network.eval()

    def _keep_decision(self, network: Denoiser, keep_last: bool) -> KeepDecision | None:
        """Judge the adapted weights against the starting ones (2D, self-supervised runs).

        None where the validation loss decides alone: no starting model, clean targets (the
        loss is then the true error) or 3D.
        """
        data = self.data
        if self.init is None or data.train_targets is not None or self.config.spatial_dims == 3:
            return None
        if not data.validation_held_out:
            return KeepDecision(False, None, "the image is too small to judge adapting")
        if not keep_last and self.best_step == 0:
            return KeepDecision(False, None, "no training step helped")
        noises = data.validation_noises or [self.noise] * len(data.validation)
        own = self.init.config.noise_model != AUTO  # the start as the user got it
        start = (self.init.network.eval(), [None] * len(noises) if own else noises)
        output = self.config.inference_output
        return keep_rule.decide(start, (network, noises), data.validation, output, self.config.seed)

    def _kept_name(self, decision: KeepDecision | None, keep_last: bool) -> str:
        """Return "start" when the starting weights are returned, else "last" or "best"."""
        unbeaten = self.init is not None and not keep_last and self.best_step == 0
        if unbeaten or (decision is not None and not decision.adapted):
            return "start"
        return "last" if keep_last else "best"

    def release(self) -> None:
        """Drop device tensors so accelerator memory is freed when training ends."""
        self.net = self.model = self.optimizer = self.sampler = None
        self.val_batch = self.best_state = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


def _total_steps(config: Noise2InpaintConfig, steps_per_epoch: int) -> int | None:
    if config.steps is not None:
        return int(config.steps)
    if config.epochs is not None:
        return max(1, math.ceil(config.epochs * steps_per_epoch))
    return None
