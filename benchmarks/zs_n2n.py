"""Zero-Shot Noise2Noise baseline (Mansour & Heckel, CVPR 2023) on set12 01-07, sigma 25.

Written from the paper's description of the method: the noisy image is split into two
half-resolution images by two fixed 2x2 diagonal filters (stride 2); a small residual network
(two 3x3 convolutions with 48 channels and LeakyReLU, then a 1x1 convolution) that predicts the
noise is trained on the single image with a residual loss (one half predicts the other) and a
consistency loss (denoise-then-downsample agrees with downsample-then-denoise). Adam, learning
rate 1e-3 halved every 1000 iterations, 2000 iterations, full-image batches, float32 on CPU.

    python benchmarks/zs_n2n.py --data /work/shared/data --threads 1
"""

from __future__ import annotations

import time

import common
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

IMAGES = ["01", "02", "03", "04", "05", "06", "07"]
CHANNELS = 48
LEARNING_RATE = 1e-3
HALVING_STEP = 1000


# ----------------------------------------------------------------------------- method
class NoiseNet(nn.Module):
    """The ZS-N2N network: conv3x3-LeakyReLU, conv3x3-LeakyReLU, conv1x1, predicting noise.

    Parameters
    ----------
    channels : int
        Feature channels of the two hidden layers.
    generator : torch.Generator
        Source of the random weight initialisation.
    """

    def __init__(self, channels: int, generator: torch.Generator):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv3 = nn.Conv2d(channels, 1, 1)
        for conv in (self.conv1, self.conv2, self.conv3):
            init_conv(conv, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Estimate the noise of ``x`` (shape ``(N, 1, H, W)``)."""
        x = F.leaky_relu(self.conv1(x), 0.2)
        x = F.leaky_relu(self.conv2(x), 0.2)
        return self.conv3(x)


def init_conv(conv: nn.Conv2d, generator: torch.Generator) -> None:
    """Re-initialise a convolution like PyTorch's default, but drawing from ``generator``.

    Parameters
    ----------
    conv : torch.nn.Conv2d
        The layer, changed in place.
    generator : torch.Generator
        Source of the random numbers.
    """
    nn.init.kaiming_uniform_(conv.weight, a=5**0.5, generator=generator)
    fan_in = conv.weight[0].numel()
    bound = 1.0 / fan_in**0.5
    nn.init.uniform_(conv.bias, -bound, bound, generator=generator)


def downsample_pair(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The two half-resolution images of ZS-N2N (fixed diagonal 2x2 filters, stride 2).

    Parameters
    ----------
    x : torch.Tensor
        Images of shape ``(N, 1, H, W)``.

    Returns
    -------
    tuple of torch.Tensor
        ``D1(x)`` (mean of the anti-diagonal pixels) and ``D2(x)`` (mean of the diagonal
        pixels), each of shape ``(N, 1, H // 2, W // 2)``.
    """
    filter1 = x.new_tensor([[[[0.0, 0.5], [0.5, 0.0]]]])
    filter2 = x.new_tensor([[[[0.5, 0.0], [0.0, 0.5]]]])
    return F.conv2d(x, filter1, stride=2), F.conv2d(x, filter2, stride=2)


def denoise_with(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Residual denoiser: the input minus the network's noise estimate."""
    return x - net(x)


def zs_n2n_loss(net: nn.Module, noisy: torch.Tensor) -> torch.Tensor:
    """Residual loss plus consistency loss of the paper, both symmetrised over the halves.

    Parameters
    ----------
    net : torch.nn.Module
        Noise-predicting network.
    noisy : torch.Tensor
        The normalised noisy image, shape ``(1, 1, H, W)``.

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    half1, half2 = downsample_pair(noisy)
    pred1, pred2 = denoise_with(net, torch.cat([half1, half2])).chunk(2)
    residual = 0.5 * (F.mse_loss(pred1, half2) + F.mse_loss(pred2, half1))
    full1, full2 = downsample_pair(denoise_with(net, noisy))
    consistency = 0.5 * (F.mse_loss(pred1, full1) + F.mse_loss(pred2, full2))
    return residual + consistency


def normalisation(noisy: np.ndarray) -> tuple[float, float]:
    """Offset and scale that map the bulk of the intensities to about [0, 1].

    Uses the 0.5 and 99.5 percentiles so that a few noise outliers do not set the scale.

    Parameters
    ----------
    noisy : numpy.ndarray
        The noisy image.

    Returns
    -------
    tuple of float
        ``(offset, scale)``; the network sees ``(noisy - offset) / scale``.
    """
    low, high = np.percentile(noisy, [0.5, 99.5])
    scale = float(high - low)
    return float(low), scale if scale > 0 else 1.0


def fit(net: nn.Module, noisy: torch.Tensor, iterations: int,
        time_limit: float | None) -> int:
    """Train ``net`` on one image; return the number of iterations done.

    Parameters
    ----------
    net : torch.nn.Module
        Network, trained in place.
    noisy : torch.Tensor
        Normalised noisy image, shape ``(1, 1, H, W)``.
    iterations : int
        Maximum number of Adam steps.
    time_limit : float or None
        Stop once this many seconds have passed (checked after every step).

    Returns
    -------
    int
        Steps taken.
    """
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, HALVING_STEP, gamma=0.5)
    start = time.perf_counter()
    done = 0
    while done < iterations:
        optimizer.zero_grad(set_to_none=True)
        zs_n2n_loss(net, noisy).backward()
        optimizer.step()
        scheduler.step()
        done += 1
        if time_limit is not None and time.perf_counter() - start >= time_limit:
            break
    return done


def denoise_zs_n2n(noisy: np.ndarray, iterations: int = 2000, seed: int = 0,
                   time_limit: float | None = None) -> tuple[np.ndarray, dict]:
    """Denoise one 2D image with Zero-Shot Noise2Noise.

    Parameters
    ----------
    noisy : numpy.ndarray
        Noisy 2D image in any intensity scale.
    iterations : int, optional
        Adam steps (the paper uses 2000 with the learning rate halved every 1000).
    seed : int, optional
        Seed of the ``torch.Generator`` that initialises the weights.
    time_limit : float or None, optional
        Stop training after this many seconds even if ``iterations`` are not done.

    Returns
    -------
    denoised : numpy.ndarray
        float32 image in the scale of ``noisy``.
    info : dict
        ``iterations`` (steps done), ``train_seconds`` and ``seconds`` (including denoising).
    """
    start = time.perf_counter()
    array = np.asarray(noisy, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"expected a 2D image, got shape {array.shape}")
    offset, scale = normalisation(array)
    tensor = torch.from_numpy((array - offset) / scale)[None, None].float()
    tensor = tensor.contiguous(memory_format=torch.channels_last)
    net = NoiseNet(CHANNELS, torch.Generator().manual_seed(seed))
    net = net.to(memory_format=torch.channels_last)  # about 25% faster on CPU
    done = fit(net, tensor, iterations, time_limit)
    train_seconds = time.perf_counter() - start
    with torch.no_grad():
        result = denoise_with(net, tensor)[0, 0].contiguous().numpy()
    denoised = (result * scale + offset).astype(np.float32)
    info = {"iterations": done, "train_seconds": round(train_seconds, 2),
            "seconds": round(time.perf_counter() - start, 2)}
    return denoised, info


# ----------------------------------------------------------------------------- benchmark
def build_parser():
    """Command-line options: the common ones plus sigma and iterations."""
    parser = common.base_parser(__doc__.splitlines()[0], "zs_n2n")
    parser.set_defaults(out="benchmarks/results/zs_n2n", name="zs_n2n")
    parser.add_argument("--sigma", type=float, default=25.0, help="Gaussian noise std (0-255)")
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--time-limit", type=float, default=None,
                        help="training seconds per image (default: no limit)")
    return parser


def run_image(args, name: str, clean: np.ndarray, noisy: np.ndarray) -> dict:
    """Denoise one image and score it against the clean one."""
    denoised, info = denoise_zs_n2n(noisy, args.iterations, args.seed, args.time_limit)
    row = {"image": name, "psnr_noisy": common.psnr(noisy, clean),
           "psnr": common.psnr(denoised, clean), **info}
    print(f"{name}: noisy {row['psnr_noisy']:.2f} dB -> ZS-N2N {row['psnr']:.2f} dB, "
          f"{info['iterations']} it, {info['seconds']:.1f} s", flush=True)
    return row


def markdown(args, rows: list[dict], summary: dict) -> str:
    """Result table of the run."""
    table = common.md_table(
        ["image", "noisy PSNR", "ZS-N2N PSNR", "iterations", "seconds"],
        [[r["image"], r["psnr_noisy"], r["psnr"], r["iterations"], r["seconds"]] for r in rows]
        + [["mean", summary["psnr_noisy"], summary["psnr"], "", summary["seconds"]]])
    return (f"# Zero-Shot Noise2Noise baseline, set12 01-07, sigma {args.sigma:g}\n\n"
            "Reimplemented from Mansour & Heckel (CVPR 2023): 2x2 diagonal downsampling pair, "
            f"{CHANNELS}-channel 3-layer noise-predicting network, residual + consistency loss, "
            f"Adam lr {LEARNING_RATE:g} halved every {HALVING_STEP} iterations, float32 CPU. "
            "PSNR with data range 255, output not clipped; seconds per image include "
            "training and denoising.\n\n" + table)


def main(argv=None) -> dict:
    """Run the benchmark and write ``<out>/<name>.json`` and ``.md``."""
    args = common.parse(build_parser(), argv)
    env = common.environment()
    cleans = [common.load_gray(args.data / "set12" / f"{n}.png") for n in IMAGES]
    noisys = common.add_noise(cleans, args.sigma, args.seed)
    rows = [run_image(args, n, c, y) for n, c, y in zip(IMAGES, cleans, noisys, strict=True)]
    summary = {key: float(np.mean([r[key] for r in rows]))
               for key in ("psnr_noisy", "psnr", "seconds")}
    print(f"mean: ZS-N2N {summary['psnr']:.2f} dB, {summary['seconds']:.1f} s per image")
    payload = {"benchmark": "zs_n2n", "sigma": args.sigma, "iterations": args.iterations,
               "time_limit": args.time_limit, "seed": args.seed, "images": rows,
               "mean": summary, "environment": env}
    path = common.write_results(args.out, args.name, payload, markdown(args, rows, summary))
    print(f"wrote {path}")
    return payload


if __name__ == "__main__":
    main()
