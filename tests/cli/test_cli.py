import dataclasses
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image
from safetensors.torch import save_file

from napari_noise2inpaint import cli
from napari_noise2inpaint.cli import main
from napari_noise2inpaint.cli import train as cli_train
from napari_noise2inpaint.config import Noise2InpaintConfig, start_config
from napari_noise2inpaint.config_rules import LIMITS, RHO_RANGE, limit_text

TINY = ["--features", "4", "--unrolls", "1", "--steps", "2", "--batch", "2", "--patch", "16"]


def noisy(shape, seed=0):
    return np.random.default_rng(seed).normal(100, 10, shape).astype(np.float32)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    image = folder / "noisy.tif"
    tifffile.imwrite(image, noisy((2, 40, 40)))
    model = folder / "model.safetensors"
    assert main(["train", str(image), "--out", str(model), "--rho", "0.1", *TINY]) == 0
    return image, model


def assert_one_error(capsys, code, *, contains=""):
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("noise2inpaint: error: ")
    assert contains in lines[0]


def test_train_info_denoise(trained, tmp_path, capsys):
    image, model = trained
    assert model.is_file()
    capsys.readouterr()
    assert main(["info", str(model)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["config"]["method"] == "n2i"
    assert report["config"]["rho"] == 0.1
    assert report["history"]["steps"] == 2
    assert len(report["normalization"]["means"]) == 1
    assert report["versions"]["package"]
    out = tmp_path / "out.tif"
    assert main(["denoise", str(image), "--model", str(model), "--out", str(out)]) == 0
    assert "written to" in capsys.readouterr().out
    result = tifffile.imread(out)
    assert result.shape == (2, 40, 40) and result.dtype == np.float32
    assert np.isfinite(result).all()


def test_denoise_output_choice(trained, tmp_path):
    image, model = trained
    out = tmp_path / "x.tif"
    args = ["denoise", str(image), "--model", str(model), "--out", str(out), "--output", "x"]
    assert main([*args, "--device", "cpu"]) == 0
    assert tifffile.imread(out).shape == (2, 40, 40)


def test_console_script_subprocess(trained, tmp_path):
    image, _ = trained
    script = Path(sys.executable).with_name("noise2inpaint")
    if not script.exists():
        pytest.skip("console script not installed (pip install -e .)")
    model = tmp_path / "m.safetensors"
    args = [str(script), "train", str(image), "--out", str(model), *TINY[:-4], "--steps", "1"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "Model saved to" in done.stdout and model.is_file()
    module = [sys.executable, "-m", "napari_noise2inpaint.cli", "info", str(tmp_path / "no")]
    done = subprocess.run(module, capture_output=True, text=True, timeout=600)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"noise2inpaint: error: Model file {tmp_path / 'no'} does not exist."
    ]


def test_constant_image_trains(tmp_path, capsys):
    image = tmp_path / "flat.tif"
    tifffile.imwrite(image, np.full((32, 32), 7, np.uint16))
    model, out = tmp_path / "m.safetensors", tmp_path / "d.tif"
    assert main(["train", str(image), "--out", str(model), *TINY]) == 0
    assert main(["denoise", str(image), "--model", str(model), "--out", str(out)]) == 0
    assert np.isfinite(tifffile.imread(out)).all()


def test_rgb_png_works_with_note(tmp_path, capsys):
    image = tmp_path / "rgb.png"
    rgb = np.random.default_rng(1).integers(0, 255, (24, 24, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(image)
    model, out = tmp_path / "m.safetensors", tmp_path / "d.tif"
    assert main(["train", str(image), "--out", str(model), *TINY, "--method", "n2v"]) == 0
    assert "noise2inpaint: note: Treating the last axis (size 3) as RGB" in capsys.readouterr().err
    assert main(["denoise", str(image), "--model", str(model), "--out", str(out)]) == 0
    assert "RGB" in capsys.readouterr().err
    assert tifffile.imread(out).shape == (24, 24, 3)


def write_bad_inputs(folder: Path) -> dict[str, Path]:
    paths = {name: folder / f"{name}.tif" for name in ("garbage", "empty", "nan", "tiny")}
    paths["garbage"].write_bytes(os.urandom(200))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tifffile.imwrite(paths["empty"], np.zeros((0, 10), np.float32))
    nan = noisy((32, 32))
    nan[0, :3] = np.nan
    tifffile.imwrite(paths["nan"], nan)
    tifffile.imwrite(paths["tiny"], np.ones((1, 1), np.float32))
    paths["good"] = folder / "good.tif"
    tifffile.imwrite(paths["good"], noisy((32, 32)))
    paths["random_model"] = folder / "random.safetensors"
    paths["random_model"].write_bytes(os.urandom(300))
    paths["foreign_model"] = folder / "foreign.safetensors"
    save_file({"w": torch.zeros(3)}, str(paths["foreign_model"]), metadata={"format": "pt"})
    paths["bmp"] = folder / "image.bmp"
    paths["bmp"].write_bytes(b"BM")
    return paths


TRAIN_FAILURES = [
    (["{missing}"], "does not exist"),
    (["{garbage}"], "Cannot read"),
    (["{empty}"], "empty"),
    (["{nan}"], "3 NaN"),
    (["{tiny}"], "only 1 pixels"),
    (["{bmp}"], "unsupported extension"),
    (["{good}", "--rho", "0.7"], "rho must be between 0.004 and 0.5"),
    (["{good}", "--unrolls", "0"], "unrolls must be at least 1"),
    (["{good}", "--patch", "10"], "patch_size"),
    (["{good}", "--method", "supervised"], "needs clean images"),
    (["{nan}", "--out", "{nan}"], "is an input file"),
    (["{good}", "--target", "{good}"], "only used with --method supervised"),
    (["{good}", "--method", "supervised", "--target", "{tiny}"], "same shape"),
    (["{nan}", "--out", "{folder}/no/m.safetensors"], "does not exist"),
    (["{good}", "--out", "{folder}"], "is a folder"),
]


@pytest.mark.parametrize(("args", "contains"), TRAIN_FAILURES)
def test_train_bad_input(tmp_path, capsys, args, contains):
    paths = write_bad_inputs(tmp_path)
    fill = {name: str(path) for name, path in paths.items()}
    fill.update(missing=str(tmp_path / "missing.tif"), folder=str(tmp_path))
    out = tmp_path / "model.safetensors"
    argv = ["train", *TINY[:-2], *[a.format(**fill) for a in args]]
    if "--out" not in args:
        argv += ["--out", str(out)]
    before = set(tmp_path.iterdir())
    assert_one_error(capsys, main(argv), contains=contains)
    assert not out.exists()
    assert set(tmp_path.iterdir()) == before


DENOISE_FAILURES = [
    ("{image}", "{random_model}", "not a safetensors model"),
    ("{image}", "{foreign_model}", "not a napari-noise2inpaint model"),
    ("{image}", "{missing}", "does not exist"),
    ("{garbage}", "{model}", "Cannot read"),
    ("{nan}", "{model}", "3 NaN"),
    ("{empty}", "{model}", "empty"),
]


@pytest.mark.parametrize(("image", "model", "contains"), DENOISE_FAILURES)
def test_denoise_bad_input(trained, tmp_path, capsys, image, model, contains):
    fill = {name: str(path) for name, path in write_bad_inputs(tmp_path).items()}
    fill.update(image=str(trained[0]), model=str(trained[1]), missing=str(tmp_path / "m.st"))
    out = tmp_path / "out.tif"
    argv = ["denoise", image.format(**fill), "--model", model.format(**fill), "--out", str(out)]
    assert_one_error(capsys, main(argv), contains=contains)
    assert not out.exists()


@pytest.mark.parametrize("which", ["random_model", "foreign_model"])
def test_info_rejects_foreign_files(tmp_path, capsys, which):
    path = write_bad_inputs(tmp_path)[which]
    assert_one_error(capsys, main(["info", str(path)]), contains=str(path))


def test_denoise_refuses_input_as_output(trained, capsys):
    image, model = trained
    before = image.read_bytes()
    code = main(["denoise", str(image), "--model", str(model), "--out", str(image)])
    assert_one_error(capsys, code, contains="is an input file")
    assert image.read_bytes() == before


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main([]) == 2
    assert main(["train", str(tmp_path / "a.tif")]) == 2
    assert main(["denoise", "x.tif", "--model", "m", "--out", "o.tif", "--output", "y"]) == 2
    assert "see noise2inpaint" in capsys.readouterr().err
    assert main(["--version"]) == 0


def test_supervised_with_targets(tmp_path):
    clean = np.full((32, 32), 100, np.float32)
    tifffile.imwrite(tmp_path / "clean.tif", clean)
    tifffile.imwrite(tmp_path / "noisy.tif", clean + noisy((32, 32)) - 100)
    model = tmp_path / "m.safetensors"
    args = ["train", str(tmp_path / "noisy.tif"), "--method", "supervised"]
    args += ["--target", str(tmp_path / "clean.tif"), "--out", str(model), *TINY[:-6]]
    assert main([*args, "--steps", "1"]) == 0 and model.is_file()


def train_config(*extra):
    return cli_train.train_config(
        cli.build_parser().parse_args(["train", "a.tif", "--out", "m", *extra])
    )


@pytest.mark.parametrize(
    ("extra", "steps", "epochs", "limit"),
    [
        (["--device", "cuda"], 400, None, None),
        (["--device", "cpu"], 1000, None, 120),
        (["--epochs", "2"], None, 2.0, None),
        (["--time-limit", "60"], None, None, 60.0),
        (["--steps", "7", "--time-limit", "60"], 7, None, 60.0),
    ],
)
def test_training_length_options(extra, steps, epochs, limit):
    config = train_config(*extra)
    assert (config.steps, config.epochs, config.time_limit) == (steps, epochs, limit)


def test_train_starts_from_the_start_values_of_the_device_and_flags_win():
    assert train_config("--device", "cuda") == start_config("cuda")
    assert train_config("--device", "cpu") == start_config("cpu")
    config = train_config("--device", "cpu", "--unrolls", "4", "--batch-size", "3")
    assert (config.unrolls, config.batch_size, config.features) == (4, 3, 16)


def test_every_config_field_is_a_train_option():
    args = cli.build_parser().parse_args(["train", "a.tif", "--out", "m"])
    assert {f.name for f in dataclasses.fields(Noise2InpaintConfig)} <= set(vars(args))


def test_noise_models_on_the_command_line(tmp_path, capsys):
    image = tmp_path / "noisy.tif"
    tifffile.imwrite(image, noisy((40, 40)))
    model = tmp_path / "pg.safetensors"
    args = ["train", str(image), "--out", str(model), *TINY, "--noise-model", "poisson_gaussian"]
    assert main(args) == 0
    assert "Estimated Poisson-Gaussian noise" in capsys.readouterr().err
    assert main(["info", str(model)]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["noise_gain"] is not None
    kernel = tmp_path / "kernel.txt"
    kernel.write_text("0 1 0\n1 4 1\n0 1 0\n")
    correlated = tmp_path / "corr.safetensors"
    args = ["train", str(image), "--out", str(correlated), *TINY, "--noise-model", "correlated"]
    assert main([*args, "--noise-kernel", str(kernel)]) == 0
    capsys.readouterr()
    assert main(["info", str(correlated)]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["noise_kernel"][1] == [1, 4, 1]


def test_noise_level_rescaling_on_the_command_line(trained, tmp_path):
    image, model = trained
    for sigma in ("estimate", "12.5"):
        out = tmp_path / f"out-{sigma}.tif"
        args = ["denoise", str(image), "--model", str(model), "--out", str(out)]
        assert main([*args, "--noise-sigma", sigma]) == 0
        assert tifffile.imread(out).shape == (2, 40, 40)


@pytest.mark.parametrize(
    ("extra", "contains"),
    [
        (["--noise-model", "poisson_gaussian", "--gain", "-1", "--offset", "2"], "negative"),
        (["--noise-model", "correlated", "--noise-region", "0", "8", "0", "8"], "too small"),
    ],
)
def test_bad_noise_settings_exit_2(tmp_path, capsys, extra, contains):
    image = tmp_path / "noisy.tif"
    tifffile.imwrite(image, noisy((40, 40)))
    out = tmp_path / "m.safetensors"
    code = main(["train", str(image), "--out", str(out), *TINY, *extra])
    assert_one_error(capsys, code, contains=contains)
    assert not out.exists()


def test_precision_is_stored_by_train_and_overridden_by_denoise(tmp_path, capsys):
    image = tmp_path / "noisy.tif"
    tifffile.imwrite(image, noisy((40, 40)))
    model = tmp_path / "model.safetensors"
    assert main(["train", str(image), "--out", str(model), "--precision", "float32", *TINY]) == 0
    capsys.readouterr()
    assert main(["info", str(model)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["config"]["precision"] == report["history"]["arithmetic"] == "float32"
    results = []
    for extra in ([], ["--precision", "bfloat16"]):
        out = tmp_path / f"out{len(results)}.tif"
        assert main(["denoise", str(image), "--model", str(model), "--out", str(out), *extra]) == 0
        results.append(tifffile.imread(out))
    np.testing.assert_allclose(results[1], results[0], atol=1.0)


def test_train_help_documents_the_accepted_ranges(capsys):
    assert main(["train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"from {RHO_RANGE[0]} to {RHO_RANGE[1]}" in text
    assert all(f"at most {limit_text(name)}" in text for name in LIMITS)
