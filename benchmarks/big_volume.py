"""Out-of-core evidence: denoise a generated float32 volume of several GB with bounded memory.

Generates a synthetic noisy volume (known clean signal) as a zarr store in ``--workdir``, trains
a small model on random crops of it with the command line (``noise2inpaint train vol.zarr``),
denoises the whole volume chunk by chunk (``noise2inpaint denoise vol.zarr --out out.zarr``)
while sampling the process's resident memory, checks one plane against in-memory prediction
(across chunk borders) and against the clean signal, and compares a local dask.distributed
cluster of 1 and 2 workers on a sub-volume. The generated data is deleted unless ``--keep``.

    python benchmarks/big_volume.py --workdir /tmp/n2i-big --size-gb 8 --threads 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dask.array as da
import numpy as np
import psutil
import zarr
from common import REPO, environment, md_table, psnr, write_results

from napari_noise2inpaint import denoise, load_model
from napari_noise2inpaint.images.chunked import denoise_lazy, plan_chunks, store_on_cluster
from napari_noise2inpaint.images.ome_zarr import create_ome_zarr

CLI = [sys.executable, "-m", "napari_noise2inpaint.cli"]


def clean_plane(z: int, side: int) -> np.ndarray:
    """The noise-free signal of plane ``z``: smooth stripes, a ring and a moving blob."""
    yy, xx = np.mgrid[:side, :side].astype(np.float32)
    plane = 100 + 60 * np.sin(xx / 11.0 + z / 9.0) * np.cos(yy / 13.0)
    radius = np.hypot(yy - side * 0.5, xx - side * (0.3 + 0.4 * (z % 64) / 64))
    plane += 80 * (np.abs(radius - side * 0.2) < side * 0.03)
    return plane.astype(np.float32)


def noisy_plane(z: int, side: int, sigma: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng([seed, z]).standard_normal((side, side), dtype=np.float32)
    return clean_plane(z, side) + sigma * noise


def generate(path: Path, planes: int, side: int, sigma: float, seed: int) -> float:
    start = time.perf_counter()
    shape, chunks = (planes, side, side), (1, side, side)
    target = create_ome_zarr(path, shape, chunks, "zyx", name="noisy", compressed=False)
    for z in range(planes):
        target[z] = noisy_plane(z, side, sigma, seed)
    return time.perf_counter() - start


def run_measured(command: list[str], threads: int, log: Path) -> dict:
    """Run a command, sampling its resident memory every 0.2 s; return time and peak RSS.

    Its output goes to ``log`` (a pipe that nobody reads would block the progress bar).
    """
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    start = time.perf_counter()
    with log.open("w") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
        watched = psutil.Process(process.pid)
        peak = 0
        while process.poll() is None:
            try:
                peak = max(peak, watched.memory_info().rss)
            except psutil.Error:
                break
            time.sleep(0.2)
    seconds = time.perf_counter() - start
    output = log.read_text()
    if process.returncode:
        raise RuntimeError(f"{command} failed: {output[-2000:]}")
    last = [line for line in output.splitlines() if line.strip()][-1:]
    return {"seconds": seconds, "peak_rss_mb": peak / 2**20, "last_line": "".join(last)}


def disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def check_plane(model_path: Path, out: Path, z: int, side: int, sigma: float, seed: int) -> dict:
    model = load_model(model_path)
    noisy = noisy_plane(z, side, sigma, seed)
    chunked = zarr.open_group(str(out), mode="r")["0"][z]
    in_memory = denoise(model, noisy)
    clean = clean_plane(z, side)
    return {
        "plane": z,
        "max_abs_diff_vs_in_memory": float(np.abs(chunked - in_memory).max()),
        "psnr_noisy": psnr(noisy, clean),
        "psnr_denoised": psnr(chunked, clean),
    }


def cluster_throughput(
    model_path: Path, source: Path, workdir: Path, planes: int, chunks, workers: int
) -> dict:
    from distributed import LocalCluster

    model = load_model(model_path)
    data = da.from_zarr(zarr.open_group(str(source), mode="r")["0"])[:planes]
    plan = plan_chunks(model, data.shape, chunks=chunks)
    result = denoise_lazy(model, data, plan=plan, device="cpu")
    out = workdir / f"cluster_{workers}.zarr"
    target = create_ome_zarr(out, result.shape, plan.chunk_shape, "zyx")
    os.environ["OMP_NUM_THREADS"] = "1"  # inherited by the worker processes
    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0") as cluster:
        start = time.perf_counter()
        store_on_cluster(result, target, cluster.scheduler_address)
        seconds = time.perf_counter() - start
    shutil.rmtree(out)
    return {"workers": workers, "seconds": seconds, "mpix_per_s": data.size / seconds / 1e6}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="where to generate data")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "big_volume")
    parser.add_argument("--name", default="big_volume")
    parser.add_argument("--size-gb", type=float, default=8.0)
    parser.add_argument("--side", type=int, default=1024, help="plane side in pixels")
    parser.add_argument("--chunks", default="1,512,512")
    parser.add_argument("--sigma", type=float, default=25.0)
    parser.add_argument("--train-seconds", type=float, default=60.0)
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--unrolls", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cluster-planes", type=int, default=32)
    parser.add_argument("--cluster-workers", default="1,2", help="worker counts to compare")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    env = environment()
    source, model_path = args.workdir / "noisy.zarr", args.workdir / "model.safetensors"
    out = args.workdir / "denoised.zarr"
    planes = max(2, int(np.ceil(args.size_gb * 1e9 / (args.side**2 * 4))))
    try:
        generation_s = generate(source, planes, args.side, args.sigma, args.seed)
        size = disk_bytes(source)
        train = run_measured(
            [
                *CLI,
                "train",
                str(source),
                "--out",
                str(model_path),
                "--time-limit",
                str(args.train_seconds),
                "--unrolls",
                str(args.unrolls),
                "--features",
                str(args.features),
                "--batch",
                "8",
                "--device",
                "cpu",
                "--seed",
                str(args.seed),
            ],
            args.threads,
            args.workdir / "train.log",
        )
        run = run_measured(
            [
                *CLI,
                "denoise",
                str(source),
                "--model",
                str(model_path),
                "--out",
                str(out),
                "--chunks",
                args.chunks,
                "--device",
                "cpu",
            ],
            args.threads,
            args.workdir / "denoise.log",
        )
        voxels = planes * args.side**2
        run["mpix_per_s"] = voxels / run["seconds"] / 1e6
        check = check_plane(model_path, out, planes // 2, args.side, args.sigma, args.seed)
        chunks = tuple(int(c) for c in args.chunks.split(","))
        cluster = [
            cluster_throughput(
                model_path, source, args.workdir, min(planes, args.cluster_planes), chunks, workers
            )
            for workers in (int(w) for w in args.cluster_workers.split(","))
        ]
    finally:
        if not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
    payload = {
        "environment": env,
        "volume": {
            "shape": [planes, args.side, args.side],
            "dtype": "float32",
            "bytes_on_disk": size,
            "generation_s": generation_s,
            "sigma": args.sigma,
        },
        "model": {
            "unrolls": args.unrolls,
            "features": args.features,
            "train_seconds": args.train_seconds,
        },
        "train": train,
        "denoise": run,
        "check": check,
        "cluster": cluster,
        "chunks": args.chunks,
    }
    markdown = "\n".join(
        [
            f"# Out-of-core denoising of a {size / 1e9:.2f} GB volume",
            "",
            f"Volume {planes} x {args.side} x {args.side} float32 (zarr, uncompressed, "
            f"{size / 1e9:.2f} GB on disk), Gaussian noise sigma {args.sigma}. Model: N2I "
            f"K={args.unrolls}, {args.features} features, trained {args.train_seconds:.0f} s on "
            f"random crops read from the zarr store. Chunks {args.chunks}, {args.threads} "
            "torch thread(s), CPU.",
            "",
            md_table(
                ["step", "wall time (s)", "peak RSS (MB)", "throughput (Mpix/s)"],
                [
                    ["train (CLI, zarr crops)", train["seconds"], train["peak_rss_mb"], "-"],
                    [
                        "denoise (CLI, chunked)",
                        run["seconds"],
                        run["peak_rss_mb"],
                        run["mpix_per_s"],
                    ],
                ],
            ),
            "",
            f"Plane {check['plane']} vs in-memory prediction of the whole plane (crosses chunk "
            f"borders): max abs difference {check['max_abs_diff_vs_in_memory']:.2e}. PSNR against "
            f"the clean signal: noisy {check['psnr_noisy']:.2f} dB, denoised "
            f"{check['psnr_denoised']:.2f} dB.",
            "",
            f"Local dask.distributed cluster on the first {min(planes, args.cluster_planes)} "
            "planes (1 thread per worker):",
            "",
            md_table(
                ["workers", "seconds", "Mpix/s"],
                [[c["workers"], c["seconds"], c["mpix_per_s"]] for c in cluster],
            ),
        ]
    )
    write_results(args.out, args.name, payload, markdown)
    return payload


if __name__ == "__main__":
    main()
