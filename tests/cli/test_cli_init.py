"""``noise2inpaint train --init builtin|scratch|MODEL``: where training starts."""

import json
import sys

import numpy as np
import pytest
import tifffile

from napari_noise2inpaint import prior
from napari_noise2inpaint.cli import main
from napari_noise2inpaint.modelfiles.loading import BUILTIN_PRIOR_FILE as PRIOR_FILE

SMALL = ["--steps", "1", "--batch", "2", "--patch", "16", "--device", "cpu"]
TINY = ["--features", "4", "--unrolls", "1", *SMALL]
needs_prior = pytest.mark.skipif(not PRIOR_FILE.is_file(), reason="built-in prior not installed")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("init")
    image = folder / "noisy.tif"
    tifffile.imwrite(image, np.random.default_rng(0).normal(100, 10, (40, 40)).astype(np.float32))
    model = folder / "model.safetensors"
    assert main(["train", str(image), "--out", str(model), "--init", "scratch", *TINY]) == 0
    return image, model


def history(capsys, model):
    capsys.readouterr()
    assert main(["info", str(model)]) == 0
    report = json.loads(capsys.readouterr().out)
    return report["history"], report["config"]


def test_training_continues_a_saved_model_with_its_architecture(files, tmp_path, capsys):
    image, start = files
    out = tmp_path / "more.safetensors"
    assert main(["train", str(image), "--out", str(out), "--init", str(start), *SMALL]) == 0
    record, config = history(capsys, out)
    assert record["start"] == "model" and record["start_steps"] == 1
    assert (config["features"], config["unrolls"]) == (4, 1)


def test_an_architecture_option_that_differs_from_the_start_is_one_line(files, tmp_path, capsys):
    image, start = files
    out = tmp_path / "m.safetensors"
    args = ["train", str(image), "--out", str(out), "--init", str(start), "--unrolls", "3"]
    assert main([*args, *SMALL]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "does not match" in lines[0] and "unrolls" in lines[0]
    assert not out.exists()


def test_the_start_and_the_settings_are_checked_once(files, tmp_path, monkeypatch):
    real = prior.check_init
    calls = []

    def counted(config, init):
        calls.append(init)
        real(config, init)

    package = [m for n, m in sys.modules.items() if n.startswith("napari_noise2inpaint")]
    for module in package:  # every module that imported it, under any name
        for name, value in list(vars(module).items()):
            if value is real:
                monkeypatch.setattr(module, name, counted)
    image, start = files
    out = tmp_path / "m.safetensors"
    assert main(["train", str(image), "--out", str(out), "--init", str(start), *SMALL]) == 0
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("init", "contains"),
    [("{tmp}/missing.safetensors", "does not exist"), ("{start}", "input file")],
)
def test_a_bad_start_is_one_line(files, tmp_path, capsys, init, contains):
    image, start = files
    out = start if init == "{start}" else tmp_path / "m.safetensors"
    value = init.format(tmp=tmp_path, start=start)
    code = main(["train", str(image), "--out", str(out), "--overwrite", "--init", value, *SMALL])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and contains in lines[0]


def test_scratch_starts_from_random_weights(files, tmp_path, capsys):
    image, _ = files
    out = tmp_path / "m.safetensors"
    assert main(["train", str(image), "--out", str(out), "--init", "scratch", *TINY]) == 0
    assert history(capsys, out)[0]["start"] == "scratch"


@needs_prior
def test_the_prior_is_the_default_start_when_the_settings_fit_it(files, tmp_path, capsys):
    image, _ = files
    out = tmp_path / "m.safetensors"
    assert main(["train", str(image), "--out", str(out), *SMALL]) == 0
    assert "train (prior)" in capsys.readouterr().err
    assert history(capsys, out)[0]["start"] == "prior"


@needs_prior
def test_other_architecture_options_train_from_scratch_by_default(files, tmp_path, capsys):
    image, _ = files
    out = tmp_path / "m.safetensors"
    assert main(["train", str(image), "--out", str(out), *TINY]) == 0
    assert "train (scratch)" in capsys.readouterr().err
    assert history(capsys, out)[0]["start"] == "scratch"


@needs_prior
def test_the_builtin_prior_keeps_its_architecture(files, tmp_path, capsys):
    image, _ = files
    out = tmp_path / "m.safetensors"
    args = ["train", str(image), "--out", str(out), "--init", "builtin", "--features", "8"]
    assert main([*args, *SMALL]) == 2
    assert "does not match" in capsys.readouterr().err


@needs_prior
def test_the_prior_is_a_model_name_for_info_and_denoise(files, tmp_path, capsys):
    image, _ = files
    assert main(["info", "builtin"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["normalisation"] == "per_image"
    out = tmp_path / "d.tif"
    assert main(["denoise", str(image), "--model", "builtin", "--out", str(out)]) == 0
    assert np.isfinite(tifffile.imread(out)).all()
    printed = capsys.readouterr().out
    assert "Noise: " in printed and "denoised with the built-in prior's" in printed
