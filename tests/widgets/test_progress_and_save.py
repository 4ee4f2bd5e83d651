"""One progress bar per run that never moves back; Save after Denoise now saves the model used."""

from widget_helpers import noisy, wait_idle

from napari_noise2inpaint import load_model
from napari_noise2inpaint._widgets.progress_panel import STEPS, ProgressPanel
from napari_noise2inpaint._widgets.runs import Phase, PhaseChange, Progress


def test_a_new_phase_never_moves_the_bar_back(qtbot):
    panel = ProgressPanel()
    qtbot.addWidget(panel)
    panel.start("Training")
    panel.update_progress(0.99, None)
    assert panel.bar.value() == round(0.99 * STEPS)
    panel.next_phase("Denoising")
    panel.update_progress(0.2, None)  # a fifth of the denoising: a fifth of what was left
    assert panel.bar.value() == round((0.99 + 0.01 * 0.2) * STEPS)
    panel.update_progress(0.1, 3600.0)  # a time estimate that would put the bar back
    assert panel.bar.value() == round((0.99 + 0.01 * 0.2) * STEPS)
    assert panel.label.text() == "Denoising: about 60 min 0 s left"
    panel.finish()
    panel.start("Denoising")  # a new run starts from zero
    assert panel.bar.value() == 0


def test_the_time_left_spreads_the_bar_over_the_whole_run(qtbot):
    panel = ProgressPanel()
    qtbot.addWidget(panel)
    panel.start("Training")
    panel._started -= 30.0  # 30 s into the run
    panel.update_progress(1.0, 10.0)  # training done, 10 s of denoising expected
    assert panel.bar.value() == round(0.75 * STEPS)


def test_the_train_widget_bar_goes_only_forward_from_training_to_denoising(train_widget):
    values = []
    train_widget.panel.bar.valueChanged.connect(values.append)
    train_widget.panel.start(Phase.PREPARING.value)
    events = [
        PhaseChange(Phase.TRAINING),
        Progress((), 0.5, None),
        Progress((), 0.99, None),
        PhaseChange(Phase.DENOISING),
        Progress((), 0.2, None),  # the denoising's own fraction, as denoise_run yields it
        Progress((), 0.6, None),
    ]
    for event in events:
        train_widget._on_run_event(event)
    assert values == sorted(values) and values[-1] > round(0.99 * STEPS)
    assert train_widget.panel.label.text() == "Denoising..."
    train_widget.panel.finish()
    train_widget._set_state()


def test_save_after_denoise_now_saves_the_prior_used(qtbot, viewer, train_widget, tmp_path):
    viewer.add_image(noisy((32, 32)), name="a")
    train_widget.reset_choices()
    train_widget.fields.start_from.value = "builtin"
    assert not train_widget.save_button.isEnabled()  # nothing to save yet
    train_widget.denoise_button.click()
    wait_idle(qtbot, train_widget)
    assert train_widget.save_button.isEnabled() and train_widget.export_button.isEnabled()
    assert train_widget.model is None  # Denoise now did not make the prior "the" model
    path = tmp_path / "prior.safetensors"
    train_widget.save(str(path))
    saved, prior = load_model(path), load_model("builtin")
    assert saved.config == prior.config
    assert saved.history["steps"] == prior.history["steps"]
