"""Model files and packages are untrusted: edited metadata, lying sizes, bombs and nesting.

Every refusal is one ModelFileError sentence that names the file, raised before the network
(or anything a file asks for) is allocated. Models here are built, not trained.
"""

import io
import json
import math
import struct
import tempfile
import zipfile

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from napari_noise2inpaint import (
    ModelFileError,
    Noise2InpaintConfig,
    TrainedModel,
    load_model,
)
from napari_noise2inpaint.engine.network import Denoiser
from napari_noise2inpaint.modelfiles import packages
from napari_noise2inpaint.modelfiles.checkpoint import model_to_bytes, save_model
from napari_noise2inpaint.modelfiles.loading import model_from_bytes

INFO = {"format": "napari-noise2inpaint-bioimageio", "format_version": "1"}


@pytest.fixture(scope="module")
def model():
    config = Noise2InpaintConfig(features=2, depth=1, unrolls=2, steps=1)
    network = Denoiser(config, rng=torch.Generator().manual_seed(0)).eval()
    return TrainedModel(network, config, [100.0], [10.0], {"steps": 1}, {"dtype": "uint8"})


def _parts(model, tmp_path):
    path = tmp_path / "source.safetensors"
    save_model(model, path)
    with safe_open(str(path), framework="pt") as handle:
        return handle.metadata(), {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118


def _edited(model, tmp_path, config=None, metadata=None, tensors=None):
    """A copy of ``model``'s file with config fields, metadata entries or tensors replaced."""
    stored, weights = _parts(model, tmp_path)
    if config is not None:
        stored["config"] = json.dumps({**json.loads(stored["config"]), **config})
    stored.update(metadata or {})
    weights = tensors(weights) if tensors else weights
    path = tmp_path / "edited.safetensors"
    save_file(weights, str(path), metadata=stored)
    return path


def _refused(path, match):
    with pytest.raises(ModelFileError, match=match) as error:
        load_model(path)
    message = str(error.value)
    assert "\n" not in message and str(path) in message
    return message


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        ({"depth": None}, "depth must be a whole number, got None"),
        ({"features": [4]}, "features must be a whole number, got \\[4\\]"),
        ({"unrolls": 10**400}, "unrolls must be at most 64"),
        ({"unrolls": "5"}, "unrolls must be a whole number, got '5'"),
        ({"rho": math.nan}, "rho must be a finite number, got nan"),
        ({"rho": 10**400}, "damaged"),
        ({"shared_regularizer": "yes"}, "shared_regularizer must be True or False"),
        ({"noise_kernel": [["a"]]}, "damaged"),
        ({"features": 3000}, "features must be at most 256, got 3000"),
        ({"depth": 60}, "depth must be at most 6"),
        ({"unrolls": 10**9}, "unrolls must be at most 64"),
        ({"inference_masks": 10**9}, "inference_masks must be at most 256"),
        ({"cg_iterations": 10**9}, "cg_iterations must be at most 1000"),
        ({"method": "evil"}, "method must be one of"),
        ({"mu_init": 1e300}, "mu_init must be at most"),
    ],
)
def test_edited_config_fields_are_refused_in_one_sentence(model, tmp_path, edit, match):
    _refused(_edited(model, tmp_path, config=edit), match)


@pytest.mark.parametrize(
    ("metadata", "match"),
    [
        ({"config": json.dumps("n2i")}, "its config is not a valid JSON object"),
        ({"config": "{{{"}, "its config is not a valid JSON object"),
        ({"normalization": json.dumps({"means": [1.0], "stds": [0.0]})}, "normalisation"),
        ({"normalization": json.dumps({"means": [1.0], "stds": [math.nan]})}, "normalisation"),
        ({"normalization": json.dumps({"means": [1.0, 2.0], "stds": [1.0]})}, "normalisation"),
        ({"normalization": json.dumps({"means": "1"})}, "normalisation"),
        ({"history": "[1, 2]"}, "its history is not a valid JSON object"),
        ({"data": "null"}, "its data is not a valid JSON object"),
        ({"format_version": "7"}, "uses model format 7"),
    ],
)
def test_edited_metadata_is_refused_in_one_sentence(model, tmp_path, metadata, match):
    _refused(_edited(model, tmp_path, metadata=metadata), match)


def test_tensors_are_compared_with_the_config_before_the_network_is_built(model, tmp_path):
    # weights of a 2-feature, depth-1 net under a config that would allocate tens of GB
    edit = {"features": 256, "depth": 4, "unrolls": 64, "shared_regularizer": False}
    _refused(_edited(model, tmp_path, config=edit), "lacks weights|has shape")
    _refused(
        _edited(model, tmp_path, config={"features": 4}),
        "has shape \\[4, 2, 3, 3\\], but its config needs \\[8, 4, 3, 3\\]",
    )
    missing = _edited(
        model, tmp_path, tensors=lambda t: {k: v for k, v in t.items() if k != "mu_raw"}
    )
    _refused(missing, "lacks weights for its config \\(mu_raw\\)")
    extra = _edited(model, tmp_path, tensors=lambda t: {**t, "payload": torch.zeros(3)})
    _refused(extra, "has unexpected weights for its config \\(payload\\)")


def test_nan_weights_and_negative_variances_are_refused(model, tmp_path):
    def poisoned(tensors):
        return {**tensors, "mu_raw": torch.tensor(math.inf)}

    _refused(_edited(model, tmp_path, tensors=poisoned), "weight mu_raw has NaN or Inf")
    key = next(k for k in model.network.state_dict() if k.endswith("running_var"))

    def negative(tensors):
        return {**tensors, key: -tensors[key]}

    _refused(_edited(model, tmp_path, tensors=negative), "negative variances")


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00" * 7, struct.pack("<Q", 2**60) + b"{}", struct.pack("<Q", 2) + b"[]"],
)
def test_garbage_headers_are_refused(data):
    with pytest.raises(ModelFileError, match="The model data is not a safetensors model file"):
        model_from_bytes(data)


def test_a_folder_or_a_device_is_not_a_model(tmp_path):
    with pytest.raises(ModelFileError, match="is a folder"):
        load_model(tmp_path)
    with pytest.raises(ModelFileError, match="is not a regular file"):
        load_model("/dev/zero")  # would never end if read


def _package(path, info=None, entries=None, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        archive.writestr(packages.INFO_FILE, json.dumps(INFO if info is None else info))
        for name, data in (entries or {}).items():
            archive.writestr(name, data)
    return path


def test_a_minimal_package_loads_from_memory_without_temporary_files(model, tmp_path, monkeypatch):
    path = _package(tmp_path / "p.zip", entries={packages.MODEL_FILE: model_to_bytes(model)})

    def no_temp(*args, **kwargs):
        raise AssertionError("a temporary file was made")

    for name in ("TemporaryDirectory", "NamedTemporaryFile", "mkstemp", "mkdtemp"):
        monkeypatch.setattr(tempfile, name, no_temp)
    assert load_model(path).config == model.config


def test_a_damaged_model_in_a_package_is_named_by_the_package(model, tmp_path):
    damaged = model_to_bytes(model)[:-100]
    path = _package(tmp_path / "p.zip", entries={packages.MODEL_FILE: damaged})
    _refused(path, "p.zip is damaged")


def test_zip_bombs_and_oversized_entries_are_refused_before_unpacking(model, tmp_path, monkeypatch):
    bomb = _package(tmp_path / "bomb.zip", entries={packages.MODEL_FILE: bytes(8 * 2**20)})
    assert bomb.stat().st_size < 100_000
    _refused(bomb, "damaged or hostile: its entry noise2inpaint.safetensors unpacks to 8388608")
    fine = _package(tmp_path / "fine.zip", entries={packages.MODEL_FILE: model_to_bytes(model)})
    monkeypatch.setattr(packages, "MAX_MODEL_BYTES", 1000)
    _refused(fine, "unpacks to")


def test_an_entry_holding_more_than_it_declares_is_refused(model, tmp_path):
    data = model_to_bytes(model)
    path = _package(tmp_path / "lie.zip", entries={packages.MODEL_FILE: data}, compression=0)
    raw = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = raw.rfind(signature)
        raw[start + offset : start + offset + 4] = struct.pack("<I", 100)
    path.write_bytes(bytes(raw))
    _refused(path, "lie.zip is damaged")


def test_nested_wrong_and_foreign_packages_are_refused(model, tmp_path):
    inner = _package(tmp_path / "inner.zip", entries={packages.MODEL_FILE: model_to_bytes(model)})
    nested = _package(tmp_path / "nested.zip", entries={packages.MODEL_FILE: inner.read_bytes()})
    _refused(nested, "holds a zip as its model file; packages do not nest")
    listed = _package(tmp_path / "list.zip", info={**INFO, "model_file": ["a", "b"]})
    _refused(listed, "its model_file is \\['a', 'b'\\], not a name")
    missing = _package(tmp_path / "missing.zip", info={**INFO, "model_file": "elsewhere"})
    _refused(missing, "lacks its model file elsewhere")
    foreign = _package(tmp_path / "foreign.zip", info={**INFO, "format": "other"})
    _refused(foreign, "not a bioimage.io package exported by napari-noise2inpaint")
    future = _package(tmp_path / "future.zip", info={**INFO, "format_version": "2"})
    _refused(future, "uses package format '2'")
    garbage = _package(tmp_path / "garbage.zip", info=[1, 2])
    _refused(garbage, "not a bioimage.io package")


def test_package_metadata_holds_strings_only(tmp_path):
    from napari_noise2inpaint.modelfiles.packages import package_metadata

    path = _package(tmp_path / "p.zip", info={**INFO, "package_version": {"evil": 1}})
    assert package_metadata(path)["package_version"] is None
    assert package_metadata(path)["format"] == INFO["format"]


def test_model_bytes_in_memory_keep_their_name(model):
    buffer = io.BytesIO(model_to_bytes(model))
    assert model_from_bytes(buffer.getvalue(), "worker copy").means == model.means
    with pytest.raises(ModelFileError, match="^worker copy is damaged"):
        model_from_bytes(buffer.getvalue()[:-10], "worker copy")


def test_odd_history_and_data_still_give_a_model_card(model, tmp_path):
    from napari_noise2inpaint.modelfiles.model_card import card_markdown, model_card

    history = {"steps": "abc", "best_val_loss": "x", "epochs": [1], "package_version": [1]}
    data = {"shapes": 7, "dtype": 5, "planes": "x", "channel_axis": [1]}
    metadata = {"history": json.dumps(history), "data": json.dumps(data)}
    loaded = load_model(_edited(model, tmp_path, metadata=metadata))
    card = model_card(loaded)
    assert card["training"]["validation_loss"] is None and card["training"]["epochs"] is None
    assert "Noise2Inpaint" in card_markdown(card)


def test_a_model_that_could_not_be_loaded_back_is_not_written(model, tmp_path):
    import dataclasses

    for broken in (
        dataclasses.replace(model, stds=[0.0]),
        dataclasses.replace(model, means=[math.nan]),
    ):
        with pytest.raises(ModelFileError, match="^The model is damaged: its normalisation"):
            save_model(broken, tmp_path / "m.safetensors")
    poisoned = TrainedModel(
        Denoiser(model.config), model.config, model.means, model.stds, model.history, {}
    )
    with torch.no_grad():
        poisoned.network.mu_raw.fill_(math.nan)
    with pytest.raises(ModelFileError, match="weight mu_raw has NaN"):
        model_to_bytes(poisoned)
    assert list(tmp_path.iterdir()) == []
