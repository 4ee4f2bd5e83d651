"""Hostile and unlucky command lines: one line and exit 2, nothing overwritten, no hang."""

import dataclasses
import json
import os
import signal
import tempfile
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_noise2inpaint import cli, load_model, save_model
from napari_noise2inpaint.cli import main
from napari_noise2inpaint.cli import train as cli_train

TINY = ["--features", "4", "--unrolls", "1", "--batch", "2", "--patch", "16", "--device", "cpu"]


def noisy(shape, seed=0):
    return np.random.default_rng(seed).normal(100, 10, shape).astype(np.float32)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    image, stack = folder / "noisy.tif", folder / "stack.tif"
    tifffile.imwrite(image, noisy((40, 40)))
    tifffile.imwrite(stack, noisy((2, 40, 40)))
    model = folder / "model.safetensors"
    assert main(["train", str(image), "--out", str(model), "--steps", "1", *TINY]) == 0
    kernel = folder / "kernel.txt"
    kernel.write_text("0 1 0\n1 4 1\n0 1 0\n")
    return {"image": image, "stack": stack, "model": model, "kernel": kernel, "folder": folder}


def one_error(capsys, code, contains=""):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert "error: " in lines[0] and contains in lines[0], err
    return lines[0]


def never_trains(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(cli_train, "iter_train_task", fail)


@pytest.mark.parametrize(
    ("extra", "contains"),
    [
        (["--rho", "0.003"], "rho must be between 0.004 and 0.5"),
        (["--rho", "nan"], "--rho: expected a finite number"),
        (["--lr", "nan"], "--lr/--learning-rate: expected a finite number"),
        (["--epochs", "nan"], "--epochs: expected a finite number"),
        (["--time-limit", "nan"], "--time-limit: expected a finite number"),
        (["--time-limit", "inf"], "--time-limit: expected a finite number"),
        (["--time-limit", "-5"], "time_limit must be positive"),
        (["--unrolls", "5.5"], "--unrolls: expected a whole number"),
        (["--gain", "nan", "--offset", "1"], "--gain/--noise-gain: expected a finite number"),
        (["--noise-sigma", "-3"], "noise_sigma must be positive"),
        (["--noise-region", "-8", "8", "0", "8"], "noise_region must be 4 whole numbers"),
        (["--channel-axis", "0"], "channel axis cannot be one of the two image (Y, X) axes"),
        (["--channel-axis", "5"], "does not exist in an array of shape"),
        (["--seed", "99999999999999999999999"], "seed must be at most 4294967295"),
        (["--seed", "-1"], "seed must be at least 0"),
        (["--features", "100000"], "features must be at most 256"),
        (["--batch", "100000"], "batch_size must be at most 4096"),
        (["--depth", "30"], "depth must be at most 6"),
        (["--mu-init", "1e308"], "mu_init must be at most 1e+06"),
    ],
)
def test_train_values_are_checked_before_training(
    files, tmp_path, capsys, monkeypatch, extra, contains
):
    never_trains(monkeypatch)
    out = tmp_path / "m.safetensors"
    code = main(["train", str(files["image"]), "--out", str(out), "--steps", "1", *TINY, *extra])
    one_error(capsys, code, contains)
    assert not out.exists()


def test_the_smallest_documented_rho_trains(files, tmp_path):
    out = tmp_path / "m.safetensors"
    args = ["train", str(files["image"]), "--out", str(out), "--rho", "0.004", "--steps", "2"]
    assert main([*args, *TINY]) == 0 and out.is_file()


@pytest.mark.parametrize(
    ("extra", "contains"),
    [
        (["--noise-sigma", "nan"], "--noise-sigma: expected a positive number or 'estimate'"),
        (["--noise-sigma", "0"], "--noise-sigma: expected a positive number"),
        (["--channel-axis", "0"], "channel axis cannot be one of the two image (Y, X) axes"),
        (["--scheduler", "notaurl::://"], "--scheduler: expected an address like tcp://host:8786"),
        (["--halo", "-1"], "--halo: expected 0 or more"),
        (["--chunks", "0,8"], "--chunks: sizes must be positive"),
    ],
)
def test_denoise_values_are_checked(files, tmp_path, capsys, extra, contains):
    out = tmp_path / "out.tif"
    args = ["denoise", str(files["image"]), "--model", str(files["model"]), "--out", str(out)]
    one_error(capsys, main([*args, *extra]), contains)
    assert not out.exists()


def test_a_channel_axis_stored_in_the_model_is_checked_against_the_image(files, tmp_path, capsys):
    model = load_model(files["model"])
    with_axis = dataclasses.replace(model, config=model.config.replace(channel_axis=0))
    path = tmp_path / "axis.safetensors"
    save_model(with_axis, path)
    out = tmp_path / "out.tif"
    code = main(["denoise", str(files["image"]), "--model", str(path), "--out", str(out)])
    one_error(capsys, code, "channel axis cannot be one of the two image (Y, X) axes")


@pytest.mark.parametrize("reads", ["model", "image"])
def test_denoise_never_writes_over_a_file_it_reads(files, capsys, reads):
    before = files[reads].read_bytes()
    args = ["denoise", str(files["image"]), "--model", str(files["model"])]
    one_error(capsys, main([*args, "--out", str(files[reads]), "--overwrite"]), "is an input file")
    assert files[reads].read_bytes() == before


def test_train_never_writes_over_its_noise_kernel(files, capsys, monkeypatch):
    never_trains(monkeypatch)
    kernel = files["kernel"]
    before = kernel.read_bytes()
    args = ["train", str(files["image"]), "--out", str(kernel), "--overwrite", *TINY]
    code = main([*args, "--noise-model", "correlated", "--noise-kernel", str(kernel)])
    one_error(capsys, code, "is an input file")
    assert kernel.read_bytes() == before


def test_export_never_writes_over_its_model(files, capsys):
    before = files["model"].read_bytes()
    code = main(["export", str(files["model"]), "--bioimageio", str(files["model"]), "--overwrite"])
    one_error(capsys, code, "--bioimageio")
    assert files["model"].read_bytes() == before


def test_an_existing_output_needs_overwrite(files, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out.tif"
    out.write_bytes(b"precious")
    args = ["denoise", str(files["image"]), "--model", str(files["model"]), "--out", str(out)]
    one_error(capsys, main(args), "already exists; add --overwrite")
    assert out.read_bytes() == b"precious"
    assert main([*args, "--overwrite"]) == 0
    assert tifffile.imread(out).shape == (40, 40)
    capsys.readouterr()
    model = tmp_path / "m.safetensors"
    model.write_bytes(b"precious")
    never_trains(monkeypatch)
    one_error(capsys, main(["train", str(files["image"]), "--out", str(model)]), "--overwrite")
    assert model.read_bytes() == b"precious"


def test_a_device_or_pipe_is_never_replaced(files, tmp_path, capsys):
    pipe = tmp_path / "pipe.tif"
    os.mkfifo(pipe)  # like /dev/null: replacing it would swap a special file for a TIFF
    args = ["denoise", str(files["image"]), "--model", str(files["model"]), "--out", str(pipe)]
    one_error(capsys, main([*args, "--overwrite"]), "is not a regular file")
    assert pipe.is_fifo()


def read_only_folder(tmp_path) -> Path:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return folder
    for candidate in (Path("/proc"), Path("/sys")):  # not writable even for root
        try:
            with tempfile.TemporaryFile(dir=candidate):
                pass
        except OSError:
            return candidate
    pytest.skip("no read-only folder on this machine")


def test_an_unwritable_output_folder_is_refused_before_training(
    files, tmp_path, capsys, monkeypatch
):
    never_trains(monkeypatch)
    out = read_only_folder(tmp_path) / "m.safetensors"
    one_error(capsys, main(["train", str(files["image"]), "--out", str(out)]), "Cannot write")


def interrupt_after_first_step(monkeypatch, signum):
    real = cli_train.iter_train_task

    def interrupted(*args, **kwargs):
        generator = real(*args, **kwargs)
        yield next(generator)
        signal.raise_signal(signum)
        return (yield from generator)

    monkeypatch.setattr(cli_train, "iter_train_task", interrupted)


@pytest.fixture
def known_handlers():
    """Install our own handlers before each test and put back what was there afterwards."""

    def previous(signum, frame):
        raise AssertionError(f"signal {signum} reached the handler installed before main")

    saved = {s: signal.signal(s, previous) for s in (signal.SIGINT, signal.SIGTERM)}
    yield previous
    for number, handler in saved.items():
        signal.signal(number, handler)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_saves_the_model_and_restores_the_handlers(
    files, tmp_path, capsys, monkeypatch, known_handlers, signum
):
    interrupt_after_first_step(monkeypatch, signum)
    model = tmp_path / "m.safetensors"
    assert main(["train", str(files["image"]), "--out", str(model), "--steps", "500", *TINY]) == 0
    assert "interrupted at step" in capsys.readouterr().out
    assert main(["info", str(model)]) == 0
    history = json.loads(capsys.readouterr().out)["history"]
    assert history["stopped_early"] and history["steps"] < 500
    assert signal.getsignal(signal.SIGINT) is known_handlers
    assert signal.getsignal(signal.SIGTERM) is known_handlers


def test_an_ignored_interrupt_stays_ignored(files, tmp_path, known_handlers):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as in a background job
    model = tmp_path / "m.safetensors"
    assert main(["train", str(files["image"]), "--out", str(model), "--steps", "1", *TINY]) == 0
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_a_stop_before_the_first_step_saves_nothing(
    files, tmp_path, capsys, monkeypatch, known_handlers
):
    real = cli_train.iter_train_task

    def stopped_at_once(*args, **kwargs):
        signal.raise_signal(signal.SIGINT)
        return (yield from real(*args, **kwargs))

    monkeypatch.setattr(cli_train, "iter_train_task", stopped_at_once)
    model = tmp_path / "m.safetensors"
    code = main(["train", str(files["image"]), "--out", str(model), "--steps", "500", *TINY])
    assert code == 130 and not model.exists()
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "noise2inpaint: interrupted before the first step; no model saved"
    )


def test_ctrl_c_while_reading_is_one_line(files, tmp_path, capsys, monkeypatch):
    def interrupted(paths):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_train, "read_training_images", interrupted)
    code = main(["train", str(files["image"]), "--out", str(tmp_path / "m.safetensors")])
    assert code == 130
    assert capsys.readouterr().err.strip().splitlines() == ["noise2inpaint: interrupted"]


def test_usage_errors_are_one_line(capsys):
    for argv in (
        [],
        ["train", "a.tif"],
        ["denoise", "a.tif", "--model", "m", "--out", "o", "--output", "y"],
    ):
        assert main(argv) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and "--help)" in lines[0]


def test_a_time_limit_that_ends_before_the_first_step_saves_nothing(files, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    args = ["train", str(files["image"]), "--out", str(out), "--init", "scratch", *TINY]
    code = main([*args, "--time-limit", "1e-9"])
    one_error(capsys, code, "before its first step; no model saved")
    assert not out.exists()


def test_running_out_of_memory_is_one_line(files, tmp_path, capsys, monkeypatch):
    def too_big(paths):
        raise MemoryError

    monkeypatch.setattr(cli_train, "read_training_images", too_big)
    code = main(["train", str(files["image"]), "--out", str(tmp_path / "m.safetensors")])
    one_error(capsys, code, "not enough memory")


def test_ctrl_c_while_starting_is_one_line(capsys, monkeypatch):
    def interrupted():
        raise KeyboardInterrupt  # as when Ctrl-C comes while the subcommands import torch

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert main(["train", "a.tif", "--out", "m.safetensors"]) == 130
    assert capsys.readouterr().err.strip().splitlines() == ["noise2inpaint: interrupted"]
