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

    clock = runs.RunClock(time.perf_counter(), None, pixels=100)
    forwarded = runs._forward_training(engine(), clock, threading.Event(), preview=None)
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


def test_the_time_limit_leaves_room_for_the_final_denoising():
    stop = threading.Event()
    started = time.perf_counter()
    clock = runs.RunClock(started, time_limit=1000.0, pixels=1_000_000)
    assert not clock.out_of_time(progress(1))
    clock.note_preview(pixels=1000, seconds=1.0)  # denoising all would take 1000 s: no time
    assert clock.denoise_estimate_s() == 1000.0 * runs.DENOISE_MARGIN
    assert clock.out_of_time(progress(1))
    forwarded = runs._forward_training(iter([progress(1)]), clock, stop, preview=None)
    list(forwarded)
    assert stop.is_set()
    fraction, left = runs.RunClock(started - 500, 1000.0, 1).training_progress(progress(1))
    assert 0.5 <= fraction < 0.6 and 400 < left <= 500  # the time limit ends this run first


def test_previews_keep_within_their_cost_budget():
    from napari_noise2inpaint.preview import PreviewSource

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
