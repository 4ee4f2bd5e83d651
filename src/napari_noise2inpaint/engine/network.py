"""The unrolled variable-splitting network (eq. 10-12) and its data-consistency step."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from napari_noise2inpaint.config import Noise2InpaintConfig
from napari_noise2inpaint.engine.unet import UNet, init_weights
from napari_noise2inpaint.noise import GaussianNoise


class Denoiser(nn.Module):
    """U-Net alone (Noise2Void, supervised) or K unrolls of U-Net + data consistency (N2I).

    Parameters
    ----------
    config : Noise2InpaintConfig
        Method, unrolls, features, depth, spatial dimensions and mu initialisation are read
        from it.
    rng : torch.Generator, optional
        Seeds the weight initialisation.
    noise : noise model, optional
        Solves the data-consistency step (see :mod:`napari_noise2inpaint.noise`); white
        Gaussian by default.
    """

    def __init__(self, config: Noise2InpaintConfig, rng: torch.Generator | None = None, noise=None):
        super().__init__()
        self.noise = noise or GaussianNoise()
        self.unrolled = config.method == "n2i"
        self.unrolls = config.unrolls if self.unrolled else 1
        n_nets = 1 if (config.shared_regularizer or not self.unrolled) else config.unrolls
        self.regularizers = nn.ModuleList(
            UNet(config.features, config.depth, config.spatial_dims) for _ in range(n_nets)
        )
        # softplus(raw) = mu_init
        raw = math.log(math.expm1(config.mu_init))
        self.mu_raw = nn.Parameter(torch.tensor(raw, dtype=torch.float32))
        if rng is not None:
            init_weights(self, rng)

    @property
    def mu(self) -> torch.Tensor:
        """The positive data-consistency penalty."""
        return F.softplus(self.mu_raw)

    def forward(
        self,
        y: torch.Tensor,
        theta: torch.Tensor | None = None,
        x0: torch.Tensor | None = None,
        mu_scale: float = 1.0,
        noise=None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the network on a ``(B, 1, H, W)`` batch (``(B, 1, D, H, W)`` for a 3D model).

        Parameters
        ----------
        y : torch.Tensor
            Normalised noisy batch.
        theta : torch.Tensor, optional
            Data-fidelity pixels (bool, same shape); None uses all pixels.
        x0 : torch.Tensor, optional
            Starting image (y with Lambda pixels removed); defaults to ``y``.
        mu_scale : float
            Factor applied to mu (noise-level-aware inference at another noise level).
        noise : noise model, optional
            Solves the data consistency for this call instead of the network's own model
            (the built-in prior gets each image's estimated noise; a training batch of the
            prior carries one model per sample, :class:`~napari_noise2inpaint.noise.BatchNoise`).

        Returns
        -------
        tuple of torch.Tensor
            ``(x, z)``: the last data-consistency output and the last regulariser output.
            Without unrolling both are the U-Net output.
        """
        x = y if x0 is None else x0
        if not self.unrolled:
            z = self.regularizers[0](x)
            return z, z
        mu = self.mu.to(y.dtype) * mu_scale
        noise = self.noise if noise is None else noise
        for k in range(self.unrolls):
            z = self.regularizers[k % len(self.regularizers)](x)
            x = noise.solve(y, z, theta, mu).to(y.dtype)
        return x, z

    def receptive_radius(self) -> int:
        """Pixels on each side that can influence an output pixel (for tiling overlaps).

        The same along every axis, Z included for a 3D model (its kernels and pooling are
        isotropic).
        """
        depth = self.regularizers[0].depth
        per_net = sum(2 * 2**level for level in range(depth)) * 2 + 2 * 2**depth + 2**depth
        return per_net * self.unrolls
