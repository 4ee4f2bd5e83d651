import dataclasses
import threading
import time

import pytest

from napari_noise2inpaint import TrainProgress
from napari_noise2inpaint._widgets import jobs, runs


def test_close_waits_for_the_worker_and_skips_its_queued_signals(qtbot):
    job = jobs.Job()
    produced = threading.Event()

    def endless():
        i = 0
        while not job.stop_event.is_set():
            i += 1
            yield i
            if i == 50:
                produced.set()
            time.sleep(0.001)

    seen, finished = [], []
    job.start(
        endless,
        doing="testing",
        on_yield=seen.append,
        on_return=lambda _: None,
        on_done=lambda: finished.append(True),
    )
    assert produced.wait(120)  # the GUI thread handled nothing yet: every signal is queued
    job.close()
    assert job.done.is_set()  # close() returned only once the worker had ended
    assert not job.worker.is_running
    qtbot.wait(100)  # deliver what the worker queued: a closed job handles none of it
    assert seen == [] and finished == []


def progress(step):
    return TrainProgress(step, 10, 0.0, 1.0 / step, None, None, 1.0, 1e9, 0.0, None)


def test_training_events_reach_the_gui_in_order_and_in_batches():
    def engine():
        for step in range(1, 301):
            yield progress(step)
        return "model"

    forwarded = runs._forward_training(engine(), runs.RunClock(pixels=100), preview=None)
    events = []
    while True:
        try:
            events.append(next(forwarded))
        except StopIteration as end:
            assert end.value == "model"
            break
    assert events[0] == runs.PhaseChange(runs.Phase.TRAINING)
    batches = events[1:]
    assert [p.step for batch in batches for p in batch.steps] == list(range(1, 301))
    assert len(batches) < 300  # never one signal per step (300 steps take well under 0.5 s)


def test_the_time_left_is_the_engines_training_time_then_the_denoising():
    clock = runs.RunClock(pixels=1_000_000)
    clock.note_preview(pixels=1000, seconds=1.0)  # denoising all will take 1000 s
    assert clock.denoise_estimate_s() == 1000.0 * runs.DENOISE_MARGIN
    # the engine: 100 s trained, 300 s to go (its time limit or its steps, whichever ends first)
    event = dataclasses.replace(progress(1), elapsed_s=100.0, eta_s=300.0)
    fraction, left = clock.training_progress(event)
    assert fraction == pytest.approx(0.25) and left == pytest.approx(300 + 1000 * 1.25)
    assert clock.training_progress(progress(1)) == (0.0, None)  # no estimate yet


def test_the_clock_never_ends_training_the_engine_does():
    # a denoising far longer than any limit: training still runs every step the engine makes
    clock = runs.RunClock(pixels=10**12)
    clock.note_preview(pixels=1, seconds=1.0)
    events = (progress(step) for step in range(1, 11))
    forwarded = list(runs._forward_training(events, clock, preview=None))
    assert [p.step for batch in forwarded[1:] for p in batch.steps] == list(range(1, 11))


def test_previews_keep_within_their_cost_budget():
    from napari_noise2inpaint.engine.preview import PreviewSource

    source = PreviewSource(interval_s=1.0, budget=0.1)
    source.record_cost(2.0)  # a 2 s preview: the next one comes 18 s later (2 s in 20 s)
    assert source.interval_s == pytest.approx(18.0)
    source.record_cost(0.01)  # cheap again: back to the shortest interval
    assert source.interval_s == 1.0
    unbudgeted = PreviewSource(interval_s=0.0)
    unbudgeted.record_cost(2.0)
    assert unbudgeted.interval_s == 0.0  # the API's previews keep their interval
    unbudgeted.record_cost(2.0, slab=True)
    assert unbudgeted.interval_s == pytest.approx(8.0)  # 3D slabs: at most a fifth
