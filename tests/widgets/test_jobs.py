import threading

from qtpy.QtWidgets import QApplication

from napari_noise2inpaint._widgets import jobs


def test_a_backlog_of_worker_signals_is_handled_in_order_without_recursion(qtbot, viewer):
    # napari's progress bar calls processEvents() in setValue: each handler that advances it
    # used to be re-entered by the next queued signal, one level deeper per signal, until a
    # RecursionError storm when training outpaced a busy GUI (flaky under load).
    total = 500
    produced = threading.Event()

    def fast_worker():
        yield from range(1, total + 1)
        produced.set()
        return "done"

    seen, depth, events = [], [0], []

    def on_yield(i):
        depth[0] += 1
        events.append(depth[0])
        QApplication.processEvents()  # what napari's progress bar does in setValue
        seen.append(i)
        depth[0] -= 1

    job = jobs.Job()
    done = []
    jobs.start(
        job,
        fast_worker,
        desc="backlog",
        doing="testing",
        on_yield=on_yield,
        on_return=lambda result: done.append(result),
        on_done=lambda: done.append("finished"),
    )
    assert produced.wait(30)  # the GUI thread is busy here: every signal is queued
    qtbot.waitUntil(lambda: "finished" in done, timeout=30_000)
    assert seen == list(range(1, total + 1))
    assert max(events) == 1  # never re-entered
    assert done == ["done", "finished"]
    assert job.done.is_set()
