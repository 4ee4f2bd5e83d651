import json

import numpy as np
import pytest
import torch
from conftest import synthetic_scene
from safetensors.torch import save_file

from napari_noise2inpaint import (
    ModelFileError,
    denoise,
    load_model,
    read_metadata,
    save_model,
    train,
)


@pytest.fixture(scope="module")
def trained():
    from napari_noise2inpaint import Noise2InpaintConfig

    config = Noise2InpaintConfig(features=4, unrolls=2, steps=3, batch_size=2, patch_size=16)
    return train(synthetic_scene(48)[1], config)


def test_save_and_load_give_identical_outputs(trained, tmp_path):
    path = tmp_path / "model.safetensors"
    save_model(trained, path)
    loaded = load_model(path)
    _, noisy = synthetic_scene(40)
    assert np.array_equal(denoise(loaded, noisy), denoise(trained, noisy))
    assert loaded.config == trained.config
    assert loaded.means == trained.means and loaded.stds == trained.stds
    assert loaded.history["steps"] == 3


def test_the_file_carries_config_statistics_and_versions(trained, tmp_path):
    path = tmp_path / "model.safetensors"
    trained.save(str(path))
    metadata = read_metadata(path)
    assert json.loads(metadata["config"])["unrolls"] == 2
    assert set(json.loads(metadata["normalization"])) == {"means", "stds"}
    assert metadata["torch_version"] == torch.__version__
    assert metadata["package_version"]
    assert path.stat().st_mode & 0o044  # readable by others, like any file the user writes
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_missing_garbage_foreign_and_damaged_files_are_refused(trained, tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "missing.safetensors")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01 not a model" * 10)
    with pytest.raises(ModelFileError, match="not a safetensors model file"):
        load_model(garbage)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(3)}, str(foreign), metadata={"format": "pt"})
    with pytest.raises(ModelFileError, match="not a napari-noise2inpaint model"):
        load_model(foreign)
    good = tmp_path / "good.safetensors"
    save_model(trained, good)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[:-200])
    with pytest.raises(ModelFileError):
        load_model(truncated)


def test_weights_that_do_not_match_the_config_are_refused(trained, tmp_path):
    path = tmp_path / "model.safetensors"
    save_model(trained, path)
    metadata = read_metadata(path)
    config = json.loads(metadata["config"])
    config["features"] = 8
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
    save_file(tensors, str(path), metadata={**metadata, "config": json.dumps(config)})
    with pytest.raises(ModelFileError, match="damaged"):
        load_model(path)


def test_a_model_file_saved_under_a_zip_name_still_loads(trained, tmp_path):
    path = tmp_path / "model.zip"
    save_model(trained, path)
    assert load_model(path).config == trained.config


def test_a_model_is_not_written_over_a_folder_or_into_a_locked_one(trained, tmp_path, monkeypatch):
    from napari_noise2inpaint import InputError
    from napari_noise2inpaint.images import io

    (tmp_path / "m.safetensors").mkdir()
    with pytest.raises(InputError, match="it is a folder"):
        save_model(trained, tmp_path / "m.safetensors")
    monkeypatch.setattr(io.os, "access", lambda path, mode: False)
    with pytest.raises(InputError, match="is not writable"):
        save_model(trained, tmp_path / "n.safetensors")
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_a_model_file_saved_by_0_1_0_still_loads(tmp_path):
    import zipfile
    from pathlib import Path

    package = Path(__file__).parents[1] / "data" / "bioimageio_package_v0.1.0.zip"
    path = tmp_path / "old.safetensors"
    with zipfile.ZipFile(package) as archive:
        path.write_bytes(archive.read("noise2inpaint.safetensors"))
    model = load_model(path)
    assert read_metadata(path)["package_version"] == "0.1.0"
    assert model.config.features == 2 and model.history["steps"] == 2
    assert denoise(model, np.full((16, 16), 100.0, np.float32)).shape == (16, 16)


def test_the_version_is_written_once(trained, tmp_path):
    import importlib.metadata
    import tomllib
    from pathlib import Path

    from napari_noise2inpaint import __version__

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert importlib.metadata.version("napari-noise2inpaint") == __version__
    save_model(trained, tmp_path / "m.safetensors")
    assert read_metadata(tmp_path / "m.safetensors")["package_version"] == __version__
