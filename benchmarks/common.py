"""Shared helpers of the CPU benchmarks: data, noise, metrics, baselines, environment, output.

Every benchmark script imports this module (it sits next to them; run the scripts as
``python benchmarks/<name>.py``). Data never enters the repository: scripts read it from
``--data DIR`` or the ``N2I_DATA`` environment variable.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy.ndimage import gaussian_filter
from skimage.metrics import structural_similarity

from napari_noise2inpaint import Noise2InpaintConfig, __version__, train
from napari_noise2inpaint.config import PRECISIONS

REPO = Path(__file__).resolve().parent.parent
GAUSS_SIGMAS = np.round(np.arange(0.3, 4.01, 0.1), 2)


# ----------------------------------------------------------------------------- arguments
def base_parser(description: str, folder: str) -> argparse.ArgumentParser:
    """Options every benchmark takes; results go to ``benchmarks/results/<folder>``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", default=os.environ.get("N2I_DATA"),
                        help="data folder (layout of /work/shared/data); or set N2I_DATA")
    parser.add_argument("--out", default=f"benchmarks/results/{folder}", help="results folder")
    parser.add_argument("--seed", type=int, default=0, help="seed of noise and training")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: leave torch's choice)")
    parser.add_argument("--name", default=None, help="base name of the result files")
    return parser


def add_model_args(parser: argparse.ArgumentParser, features: int = 32, unrolls: int = 5) -> None:
    parser.add_argument("--features", type=int, default=features)
    parser.add_argument("--unrolls", type=int, default=unrolls)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--patch-size", type=int, default=64)
    add_precision_arg(parser)


def add_precision_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--precision", default="auto", choices=list(PRECISIONS),
                        help="network arithmetic (auto: bf16 on CUDA and on CPUs with AMX)")


def parse(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if not args.data:
        parser.error("give --data DIR or set N2I_DATA (no hidden default)")
    args.data = Path(args.data)
    if not args.data.is_dir():
        parser.error(f"data folder {args.data} does not exist")
    args.out = Path(args.out)
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


def model_config(args, method: str = "n2i", **changes) -> Noise2InpaintConfig:
    """Config from the common model arguments; ``changes`` override them."""
    base = {"method": method, "features": args.features, "unrolls": args.unrolls,
            "batch_size": args.batch_size, "patch_size": args.patch_size, "seed": args.seed,
            "device": "cpu", "precision": args.precision}
    base.update(changes)
    return Noise2InpaintConfig(**base)


# ----------------------------------------------------------------------------- data
def load_gray(path: Path) -> np.ndarray:
    """A PNG/TIFF as a float32 2D array; RGB images give their first channel."""
    path = Path(path)
    if path.suffix.lower() in (".tif", ".tiff"):
        import tifffile

        array = tifffile.imread(path)
    else:
        array = np.asarray(Image.open(path))
    if array.ndim == 3:
        array = array[..., 0]
    return array.astype(np.float32)


def load_folder(folder: Path, limit: int | None = None) -> list[np.ndarray]:
    files = sorted(Path(folder).glob("*.png"))
    if not files:
        raise FileNotFoundError(f"no PNG files in {folder}")
    return [load_gray(f) for f in files[:limit]]


def add_noise(images: list[np.ndarray], sigma: float, seed: int) -> list[np.ndarray]:
    """Gaussian noise added as float (not rounded, not clipped), one generator for the list."""
    rng = np.random.default_rng(seed)
    return [(im + rng.normal(0.0, sigma, im.shape)).astype(np.float32) for im in images]


# ----------------------------------------------------------------------------- metrics
def psnr(estimate: np.ndarray, clean: np.ndarray, data_range: float = 255.0) -> float:
    mse = float(np.mean((np.asarray(estimate, np.float64) - clean) ** 2))
    return 10.0 * np.log10(data_range**2 / mse)


def ssim(estimate: np.ndarray, clean: np.ndarray, data_range: float = 255.0) -> float:
    return float(structural_similarity(np.asarray(estimate, np.float64),
                                       np.asarray(clean, np.float64), data_range=data_range))


def scores(estimates, cleans, with_ssim: bool = True) -> dict:
    """Mean PSNR (and SSIM) over image pairs, plus the per-image PSNRs."""
    per = [psnr(e, c) for e, c in zip(estimates, cleans, strict=True)]
    out = {"psnr": float(np.mean(per)), "psnr_per_image": [round(p, 3) for p in per]}
    if with_ssim:
        out["ssim"] = float(np.mean([ssim(e, c) for e, c in zip(estimates, cleans, strict=True)]))
    return out


def gaussian_oracle(noisy: np.ndarray, clean: np.ndarray) -> tuple[float, np.ndarray]:
    """Gaussian filter whose width is chosen against the clean image (an oracle upper bound)."""
    best = (-np.inf, 0.0, noisy)
    for sigma in GAUSS_SIGMAS:
        smooth = gaussian_filter(noisy, float(sigma), mode="reflect")
        value = psnr(smooth, clean)
        if value > best[0]:
            best = (value, float(sigma), smooth)
    return best[1], best[2]


def gaussian_scores(noisys, cleans, with_ssim: bool = True) -> dict:
    results = [gaussian_oracle(n, c) for n, c in zip(noisys, cleans, strict=True)]
    out = scores([r[1] for r in results], cleans, with_ssim)
    out["filter_sigmas"] = [r[0] for r in results]
    return out


# ----------------------------------------------------------------------------- training
def timed_train(images, config: Noise2InpaintConfig, **kwargs):
    """Train and return ``(model, summary)`` with wall-clock seconds and the load average."""
    start = time.perf_counter()
    model = train(images, config, **kwargs)
    seconds = time.perf_counter() - start
    history = model.history
    summary = {
        "config": json.loads(config.to_json()),
        "steps": history["steps"],
        "epochs": round(history["epochs"], 3),
        "train_seconds": round(history["seconds"], 2),
        "wall_seconds_incl_setup": round(seconds, 2),
        "steps_per_s": round(history["steps"] / max(history["seconds"], 1e-9), 3),
        "best_val_loss": history["best_val_loss"],
        "mu": model.mu,
        "loadavg_after": os.getloadavg(),
    }
    return model, summary


def timed_denoise(model, images, **kwargs) -> tuple[list[np.ndarray], float]:
    start = time.perf_counter()
    out = [model.denoise(im, **kwargs) for im in images]
    return out, time.perf_counter() - start


# ----------------------------------------------------------------------------- environment
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                             capture_output=True, text=True, check=True, timeout=10)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment() -> dict:
    import scipy
    import skimage

    return {
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": "none (CPU-only machine)" if not torch.cuda.is_available() else "cuda",
        "loadavg_start": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {"torch": torch.__version__, "numpy": np.__version__,
                     "scipy": scipy.__version__, "scikit-image": skimage.__version__,
                     "napari_noise2inpaint": __version__},
        "git_commit": git_commit(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }


def env_markdown(env: dict) -> str:
    load = ", ".join(f"{x:.2f}" for x in env["loadavg_start"])
    end = env.get("loadavg_end")
    end_text = f"; at end {', '.join(f'{x:.2f}' for x in end)}" if end else ""
    return (f"Machine: {env['cpu_model']}, {env['cpu_count']} cores, torch threads "
            f"{env['torch_threads']}, {env['gpu']}; torch {env['versions']['torch']}, "
            f"commit {env['git_commit']}, {env['date_utc']} UTC. Load average at start "
            f"{load}{end_text} (the machine is shared).")


# ----------------------------------------------------------------------------- output
def md_table(headers: list[str], rows: list[list]) -> str:
    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 10 else f"{value:.2f}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(out: Path, name: str, payload: dict, markdown: str) -> Path:
    """Write ``<name>.json`` and ``<name>.md`` into ``out``; return the JSON path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    payload["environment"]["loadavg_end"] = os.getloadavg()
    path = out / f"{name}.json"
    path.write_text(json.dumps(payload, indent=1, default=_jsonable) + "\n")
    footer = "\n\n" + env_markdown(payload["environment"]) + "\n"
    (out / f"{name}.md").write_text(markdown.rstrip() + footer)
    return path


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value)}")


def figure():
    """Matplotlib's pyplot with the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
