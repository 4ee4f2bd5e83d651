"""Issue 20 G: no hidden partial file outlives a batch killed by SIGTERM or kill -9."""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import tifffile

from napari_noise2inpaint.cli import main
from napari_noise2inpaint.images.files import new_temp_file, remove_stale_temp_files

TINY = ["--features", "4", "--unrolls", "2", "--steps", "2", "--batch", "2", "--patch", "16"]
# the batch command, with every TIFF write held after its temporary file is complete: it says
# "writing" and waits for a line on stdin that never comes, until the test signals it
HELD_BATCH = """
import sys
import tifffile
from napari_noise2inpaint.cli import main

real = tifffile.imwrite

def held(path, data, **options):
    real(path, data, **options)
    print("writing", path, flush=True)
    sys.stdin.readline()

tifffile.imwrite = held
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    tifffile.imwrite(folder / "noisy.tif", np.random.default_rng(0).normal(100, 10, (40, 40)))
    path = folder / "model.safetensors"
    assert main(["train", str(folder / "noisy.tif"), "--out", str(path), *TINY]) == 0
    return path


@pytest.fixture
def plate(tmp_path):
    folder = tmp_path / "plate"
    folder.mkdir()
    for index in range(2):
        image = np.random.default_rng(index).normal(100, 10, (32, 32)).astype(np.float32)
        tifffile.imwrite(folder / f"well{index}.tif", image)
    return folder


def held_batch(model, plate, out):
    """Start a batch and return it once its first result is half-way (temp file written)."""
    command = [sys.executable, "-c", HELD_BATCH, "denoise", str(plate)]
    process = subprocess.Popen(
        [*command, "--model", str(model), "--out", str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    line = process.stdout.readline()
    assert line.startswith("writing"), process.stderr.read()
    return process


def hidden(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_sigterm_during_a_batch_leaves_no_partial_file(model, plate, tmp_path):
    out = tmp_path / "out"
    process = held_batch(model, plate, out)
    assert len(hidden(out)) == 1  # the partial result exists while the write is held
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert list(out.iterdir()) == []


def test_the_next_run_removes_what_kill_9_left(model, plate, tmp_path):
    out = tmp_path / "out"
    process = held_batch(model, plate, out)
    process.kill()
    process.communicate(timeout=600)
    assert len(hidden(out)) == 1 and not (out / "well0.tif").exists()
    assert main(["denoise", str(plate), "--model", str(model), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["well0.tif", "well1.tif"]


def test_only_temp_files_of_gone_processes_of_this_host_are_removed(tmp_path):
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    gone = int(finished.stdout)
    running = subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE)
    try:
        mine = new_temp_file(tmp_path / "a.tif")  # this process runs: kept
        stale = mine.with_name(mine.name.replace(f"-{os.getpid()}-", f"-{gone}-"))
        alive = mine.with_name(mine.name.replace(f"-{os.getpid()}-", f"-{running.pid}-"))
        foreign = tmp_path / f".a.tif.n2i-otherhost-{gone}-0123abcd.tmp"
        user = tmp_path / ".a.tif.1234.tmp"
        for path in (stale, alive, foreign, user):
            path.write_bytes(b"")
        assert remove_stale_temp_files(tmp_path) == [stale]
        assert sorted(tmp_path.iterdir()) == sorted([mine, alive, foreign, user])
    finally:
        running.communicate(input=b"\n", timeout=600)
