"""Data-parallel training with torchrun: 2 CPU processes, Gloo backend."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tifffile
import torch

from napari_noise2inpaint import Noise2InpaintConfig, load_model, train

CONFIG = {"features": 4, "unrolls": 2, "steps": 4, "batch_size": 2, "patch_size": 16}
# trains CONFIG in every process (seeded identically) and saves each rank's weights; trains
# again with rank 1 alone asked to stop after step 2 (both ranks must stop there; each rank
# writes its own file, since the lines two processes print to one pipe may interleave); trains a
# 3D Noise2Void network (a parameter without gradient, 3D channels-last) and saves its weights
SCRIPT = """
import os, sys, threading
import numpy as np, torch
from napari_noise2inpaint import Noise2InpaintConfig, iter_train, train

image, out = np.load(sys.argv[1]), sys.argv[2]
rank = int(os.environ["RANK"])
config = Noise2InpaintConfig(device="cpu", **{config})
model = train(image, config)
torch.save(model.network.state_dict(), f"{{out}}/rank{{rank}}.pt")
stop = threading.Event()
for event in iter_train(image, config.replace(steps=6), stop_event=stop):
    if rank == 1 and event.step == 2:
        stop.set()
with open(f"{{out}}/stopped{{rank}}.txt", "w") as stopped:
    stopped.write(str(event.step))
volume = np.random.default_rng(1).normal(100, 10, (20, 24, 24)).astype(np.float32)
model = train(volume, config.replace(spatial_dims=3, method="n2v", steps=2))
torch.save(model.network.state_dict(), f"{{out}}/volume{{rank}}.pt")
"""


def noisy_image():
    return np.random.default_rng(0).normal(100, 10, (2, 40, 40)).astype(np.float32)


def torchrun(args, cwd):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "error"}
    result = subprocess.run(
        [*command, "--nproc_per_node", "2", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # a hang guard only: two processes on a loaded 2-core machine took a minute
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.slow
def test_two_cpu_processes_train_in_step_with_their_own_patches(tmp_path):
    image = noisy_image()
    np.save(tmp_path / "noisy.npy", image)
    script = tmp_path / "train_ddp.py"
    script.write_text(SCRIPT.format(config=CONFIG))
    torchrun([str(script), str(tmp_path / "noisy.npy"), str(tmp_path)], tmp_path)

    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1)]
    assert all(torch.equal(ranks[0][k], ranks[1][k]) for k in ranks[0])
    volumes = [torch.load(tmp_path / f"volume{r}.pt") for r in (0, 1)]
    assert all(torch.equal(volumes[0][k], volumes[1][k]) for k in volumes[0])
    # one process alone sees only rank 0's patches: averaging in rank 1's changes the weights
    alone = train(image, Noise2InpaintConfig(device="cpu", **CONFIG)).network.state_dict()
    assert not all(torch.equal(ranks[0][k], alone[k]) for k in alone)
    assert [(tmp_path / f"stopped{r}.txt").read_text() for r in (0, 1)] == ["2", "2"]


@pytest.mark.slow
def test_torchrun_cli_with_two_cpu_processes_writes_one_model(tmp_path):
    image = noisy_image()
    tifffile.imwrite(tmp_path / "noisy.tif", image)
    options = ["--features", "4", "--unrolls", "2", "--steps", "4", "--batch", "2", "--patch", "16"]
    result = torchrun(
        ["-m", "napari_noise2inpaint.cli", "train", "noisy.tif", "--out", "model.safetensors"]
        + [*options, "--device", "cpu"],
        tmp_path,
    )

    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors", "noisy.tif"]
    assert result.stdout.count("Model saved to model.safetensors") == 1
    model = load_model(tmp_path / "model.safetensors")
    assert model.history["processes"] == 2 and model.history["steps"] == 4
    denoised = model.denoise(image)
    assert denoised.shape == image.shape and np.isfinite(denoised).all()
