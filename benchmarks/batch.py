"""Batch denoising of a folder with the command line: time, peak memory, interrupt and resume.

A tiny N2I model is trained on one synthetic image; folders of 10 and 50 synthetic images are
denoised with ``noise2inpaint denoise FOLDER --out OUT`` in fresh processes, whose peak
resident memory is measured (it must not grow with the number of files). Then a 50-image
batch is killed (SIGKILL) after some files are written and resumed with ``--skip-existing``;
the outputs must equal those of an uninterrupted run.

    python benchmarks/batch.py --precision float32 --threads 1
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
import numpy as np
import tifffile

from napari_noise2inpaint import Noise2InpaintConfig, noisy_fluorescence, save_model, train

# Runs the command line in this process and prints its peak resident memory (MiB).
RUNNER = """
import json, resource, sys, time
import torch
torch.set_num_threads(int(sys.argv[1]))
from napari_noise2inpaint.cli import main
start = time.perf_counter()
code = main(sys.argv[2:])
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"code": code, "seconds": seconds, "peak_mib": peak}))
"""


def build_parser():
    parser = common.base_parser(__doc__.splitlines()[0], "batch")
    parser.add_argument("--size", type=int, default=512, help="side of each image")
    parser.add_argument("--counts", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--steps", type=int, default=30)
    common.add_precision_arg(parser)
    return parser


def make_folder(folder: Path, count: int, size: int) -> Path:
    folder.mkdir()
    for index in range(count):
        image = noisy_fluorescence((size, size), seed=index)
        tifffile.imwrite(folder / f"img{index:03d}.tif", image)
    return folder


def command(args, model: Path, folder: Path, out: Path, *extra) -> list[str]:
    threads = str(args.threads or 1)
    cli = ["denoise", str(folder), "--model", str(model), "--out", str(out), *extra]
    if args.precision != "auto":
        cli += ["--precision", args.precision]
    return [sys.executable, "-c", RUNNER, threads, *cli]


def run(args, model, folder, out, *extra) -> dict:
    done = subprocess.run(command(args, model, folder, out, *extra), capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def interrupted_then_resumed(args, model, folder, work: Path, count: int) -> dict:
    out = work / "resumed"
    process = subprocess.Popen(command(args, model, folder, out), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    while process.poll() is None and len(list(out.glob("*.tif"))) < count // 3:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    written = len(list(out.glob("*.tif")))
    leftovers = len(list(out.glob(".*.tmp")))
    resumed = run(args, model, folder, out, "--skip-existing")
    full = work / "full"
    run(args, model, folder, full)
    names = sorted(p.name for p in full.glob("*.tif"))
    same = names == sorted(p.name for p in out.glob("*.tif")) and all(
        np.array_equal(tifffile.imread(full / n), tifffile.imread(out / n)) for n in names
    )
    return {"written_before_kill": written, "temporary_files_left": leftovers,
            "resume_seconds": resumed["seconds"], "files": len(names), "identical": same}


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    env = common.environment()
    work = Path(tempfile.mkdtemp(prefix="n2i_batch_"))
    config = Noise2InpaintConfig(features=16, unrolls=2, steps=args.steps, batch_size=4,
                                 patch_size=48, device="cpu", precision=args.precision)
    model = work / "model.safetensors"
    save_model(train(noisy_fluorescence((args.size, args.size), seed=999), config), model)
    rows = []
    for count in args.counts:
        folder = make_folder(work / f"in{count}", count, args.size)
        result = run(args, model, folder, work / f"out{count}")
        kept = count * args.size**2 * 4 / 2**20  # float32 results, were they all kept
        rows.append([count, args.size, result["seconds"], result["seconds"] / count,
                     result["peak_mib"], kept])
    resume = interrupted_then_resumed(args, model, work / f"in{max(args.counts)}", work,
                                      max(args.counts))
    payload = {"environment": env, "args": vars(args), "runs": rows, "resume": resume}
    markdown = "\n\n".join([
        "# Batch denoising of a folder (command line)",
        f"`noise2inpaint denoise FOLDER --out OUT`, {args.size}x{args.size} uint16 images, "
        f"N2I K=2, 16 features, {args.precision}, {args.threads or 1} torch thread(s); each "
        "run is a fresh process (time includes loading the model, not Python's start-up).",
        common.md_table(["files", "side", "wall s", "s per file", "peak RSS MiB",
                         "all results MiB"], rows),
        "## Interrupted and resumed",
        f"A {resume['files']}-file batch killed with SIGKILL after "
        f"{resume['written_before_kill']} files were written "
        f"({resume['temporary_files_left']} hidden temporary file(s) left, never taken for "
        "results), then resumed with `--skip-existing` in "
        f"{resume['resume_seconds']:.1f} s: outputs identical to an uninterrupted run: "
        f"**{resume['identical']}**.",
    ])
    common.write_results(Path(args.out), args.name or "batch", payload, markdown)
    print(markdown)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
