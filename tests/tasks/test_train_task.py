"""The one training task, for the command line and the widget alike: what a run keeps."""

import threading

import pytest
from conftest import synthetic_scene

from napari_noise2inpaint import Noise2InpaintConfig, TrainProgress, load_model
from napari_noise2inpaint.engine.events import run_to_end
from napari_noise2inpaint.tasks.train import default_start, iter_train_task, outcome_of

TINY = Noise2InpaintConfig(steps=3, features=4, unrolls=1, batch_size=2, patch_size=16)


@pytest.fixture(scope="module")
def trained():
    return run_to_end(iter_train_task(synthetic_scene(32)[1], TINY)).trained


def test_a_run_from_scratch_keeps_what_it_trained_and_passes_the_engines_events_on():
    events = []
    outcome = run_to_end(iter_train_task(synthetic_scene(32)[1], TINY), events.append)
    assert [e.step for e in events if isinstance(e, TrainProgress)] == [1, 2, 3]
    assert outcome.model is outcome.trained and not outcome.kept_start
    assert not outcome.nothing_trained


def test_a_run_stopped_before_its_first_step_keeps_its_start():
    stop = threading.Event()
    stop.set()
    prior = load_model("builtin")
    outcome = run_to_end(iter_train_task(synthetic_scene(32)[1], TINY, stop_event=stop))
    assert outcome.nothing_trained and outcome.model is None and not outcome.kept_start
    assert outcome_of(outcome.trained, prior).model is prior
    assert outcome_of(outcome.trained, prior).kept_start


def test_the_keep_rules_verdict_decides_between_start_and_adapted(trained):
    prior = load_model("builtin")
    trained.history["kept_weights"] = "start"
    assert outcome_of(trained, prior).kept_start
    assert outcome_of(trained, prior).model is trained  # the engine returns the start weights
    trained.history["kept_weights"] = "best"
    assert not outcome_of(trained, prior).kept_start


def test_without_a_named_start_the_prior_is_used_when_the_settings_fit_it():
    prior = load_model("builtin")
    assert default_start({}).config == prior.config
    assert default_start({"features": prior.config.features, "rho": 0.1}) is not None
    assert default_start({"features": prior.config.features + 1}) is None
    assert default_start({"method": "n2v"}) is None
