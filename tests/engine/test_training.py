import threading
import time

import numpy as np
import pytest
import torch
from conftest import psnr, synthetic_scene

from napari_noise2inpaint import (
    InputError,
    Noise2InpaintConfig,
    PreviewSource,
    PreviewUpdate,
    Snapshot,
    TrainProgress,
    denoise,
    iter_train,
    train,
)


def _weights(model):
    return {k: v.clone() for k, v in model.network.state_dict().items()}


def test_same_seed_gives_identical_weights_and_another_seed_does_not(tiny_config):
    _, noisy = synthetic_scene(48)
    first = _weights(train(noisy, tiny_config))
    second = _weights(train(noisy, tiny_config))
    other = _weights(train(noisy, tiny_config.replace(seed=1)))
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_training_yields_typed_progress_and_returns_a_model(tiny_config):
    _, noisy = synthetic_scene(48)
    events = []
    generator = iter_train(noisy, tiny_config)
    with pytest.raises(StopIteration) as done:
        while True:
            events.append(next(generator))
    model = done.value.value
    steps = [e.step for e in events if isinstance(e, TrainProgress)]
    assert steps == [1, 2, 3, 4]
    last = events[-1]
    assert last.total_steps == 4 and last.val_loss is not None and last.mu > 0
    assert last.pixels_per_s > 0 and last.eta_s == pytest.approx(0, abs=1e-6)
    assert model.history["steps"] == 4 and not model.history["stopped_early"]


def test_best_or_last_weights_are_kept_as_configured(tiny_config):
    _, noisy = synthetic_scene(48)
    # a high learning rate makes the validation loss worse after the first step
    config = tiny_config.replace(steps=6, val_interval=1, learning_rate=0.05)
    best = train(noisy, config)
    last = train(noisy, config.replace(keep_weights="last"))
    assert best.history["best_step"] == 1
    assert best.history["best_val_loss"] < best.history["last_val_loss"]
    assert (best.history["kept_weights"], last.history["kept_weights"]) == ("best", "last")
    pairs = zip(best.network.state_dict().values(), last.network.state_dict().values(), strict=True)
    assert any(not torch.equal(a, b) for a, b in pairs)


def test_diverging_training_says_so(tiny_config):
    _, noisy = synthetic_scene(48)
    with pytest.raises(InputError, match="diverged"):
        train(noisy, tiny_config.replace(learning_rate=1e20, mu_lr_factor=1.0))


def test_a_stop_event_set_during_training_returns_a_usable_model(tiny_config):
    _, noisy = synthetic_scene(48)
    stop = threading.Event()
    generator = iter_train(noisy, tiny_config.replace(steps=10_000), stop_event=stop)
    with pytest.raises(StopIteration) as done:
        while True:
            if next(generator).step == 3:
                stop.set()
    model = done.value.value
    assert model.history["steps"] == 3 and model.history["stopped_early"]
    out = denoise(model, noisy)
    assert out.shape == noisy.shape and np.isfinite(out).all()


def test_time_limit_and_epochs_bound_training(tiny_config):
    _, noisy = synthetic_scene(48)
    timed = train(noisy, tiny_config.replace(steps=None, time_limit=0.5))
    assert 0.5 <= timed.history["seconds"] < 5
    by_epochs = train(noisy, tiny_config.replace(steps=None, epochs=2))
    # 48x48 pixels less a 16-row validation band, 2 patches of 16x16 per step: 3 steps per epoch
    assert by_epochs.history["steps"] == 6


def test_the_time_limit_counts_training_not_preparing_the_data(monkeypatch, tiny_config):
    from types import SimpleNamespace

    from napari_noise2inpaint.engine import training

    shift = [0.0]  # seconds added to the engine's clock: data preparation "takes" 1000 s
    monkeypatch.setattr(
        training, "time", SimpleNamespace(perf_counter=lambda: time.perf_counter() + shift[0])
    )
    prepare = training.prepare_training_data

    def slow_preparation(*args):
        shift[0] += 1000.0
        return prepare(*args)

    monkeypatch.setattr(training, "prepare_training_data", slow_preparation)
    _, noisy = synthetic_scene(48)
    model = train(noisy, tiny_config.replace(steps=None, time_limit=0.5))
    assert model.history["steps"] > 0 and 0.5 <= model.history["seconds"] < 5


@pytest.mark.parametrize("method", ["n2v", "supervised"])
def test_baselines_train_in_the_same_engine(method, tiny_config):
    clean, noisy = synthetic_scene(48)
    model = train(noisy, tiny_config.replace(method=method), targets=clean)
    assert model.config.method == method
    assert len(model.network.regularizers) == 1
    assert np.isfinite(denoise(model, noisy)).all()


def test_a_target_count_that_differs_from_the_images_is_named(tiny_config):
    noisy = synthetic_scene(48)[1]
    with pytest.raises(InputError, match="2 noisy, 1 targets"):
        train([noisy, noisy], tiny_config.replace(method="supervised"), targets=[noisy])


def test_supervised_training_without_targets_is_refused(tiny_config):
    with pytest.raises(InputError, match="clean targets"):
        train(synthetic_scene(48)[1], tiny_config.replace(method="supervised"))


def test_preview_is_yielded_during_training(tiny_config):
    _, noisy = synthetic_scene(48)
    source = PreviewSource(interval_s=0.0)
    source.set_plane(noisy[:20, :30])
    previews = [
        e for e in iter_train(noisy, tiny_config, preview=source) if isinstance(e, PreviewUpdate)
    ]
    assert len(previews) == 4
    assert previews[0].image.shape == (20, 30)


def test_stacks_and_channels_all_feed_training(tiny_config):
    _, noisy = synthetic_scene(32)
    stack = np.stack([noisy, noisy * 2, noisy + 5])
    model = train(stack, tiny_config)
    assert model.data_info["planes"] == 3 and len(model.means) == 1
    two_channels = np.stack([noisy, noisy * 10], axis=0)[None].repeat(2, axis=0)  # (Z, C, Y, X)
    model = train(two_channels, tiny_config.replace(channel_axis=1))
    assert model.data_info["planes"] == 4
    assert model.means[1] == pytest.approx(10 * model.means[0], rel=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_short_cpu_training_raises_psnr_by_at_least_4_db(precision):
    clean, noisy = synthetic_scene(96, sigma=25)
    config = Noise2InpaintConfig(
        unrolls=2,
        features=16,
        steps=150,
        batch_size=8,
        patch_size=48,
        val_interval=50,
        precision=precision,
    )
    model = train(noisy, config)
    gain = psnr(denoise(model, noisy), clean) - psnr(noisy, clean)
    assert gain >= 4.0


def test_snapshots_come_at_the_requested_times_and_their_use_is_not_training_time(tiny_config):
    _, noisy = synthetic_scene(48)
    config = tiny_config.replace(steps=None, time_limit=0.6)
    generator = iter_train(noisy, config, snapshot_at_s=[0.3, 0.1])
    snapshots, steps_after = [], 0
    with pytest.raises(StopIteration) as done:
        while True:
            event = next(generator)
            if isinstance(event, Snapshot):
                snapshots.append(event)
                assert np.isfinite(denoise(event.model, noisy)).all()
                time.sleep(0.7)  # longer than the whole time limit
            elif snapshots:
                steps_after += 1
    assert [s.elapsed_s >= t for s, t in zip(snapshots, [0.1, 0.3], strict=True)] == [True, True]
    assert steps_after > 0  # training went on after the consumer's long pauses
    assert done.value.value.history["seconds"] < 1.0
