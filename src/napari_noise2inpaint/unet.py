"""The Noise2Void U-Net used as regulariser R(x) in every unroll and by the baselines."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """U-Net as in Noise2Void: 3x3 convolutions, batch norm, max pooling, residual output.

    Any ``H x W`` works: the input is padded by reflection to a multiple of ``2 ** depth`` and the
    output cropped back.

    Parameters
    ----------
    features : int
        Feature maps at the first level, doubled at each deeper level.
    depth : int
        Number of pooling levels.
    """

    def __init__(self, features: int = 32, depth: int = 2):
        super().__init__()
        self.depth = depth
        widths = [features * 2**level for level in range(depth + 1)]
        self.down = nn.ModuleList()
        in_channels = 1
        for width in widths[:-1]:
            self.down.append(_conv_block(in_channels, width))
            in_channels = width
        self.bottom = _conv_block(widths[-2], widths[-1])
        self.up = nn.ModuleList(
            _conv_block(widths[level + 1] + widths[level], widths[level])
            for level in reversed(range(depth))
        )
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Denoise a ``(B, 1, H, W)`` batch; returns the same shape."""
        h, w = image.shape[-2:]
        multiple = 2**self.depth
        pad_h, pad_w = -h % multiple, -w % multiple
        x = _reflect_pad(image, pad_h, pad_w)
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for block, skip in zip(self.up, reversed(skips), strict=True):
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = block(torch.cat([x, skip], dim=1))
        out = self.head(x)[..., :h, :w]
        return out + image


def _reflect_pad(image: torch.Tensor, pad_h: int, pad_w: int) -> torch.Tensor:
    if not pad_h and not pad_w:
        return image
    h, w = image.shape[-2:]
    if pad_h < h and pad_w < w:
        return F.pad(image, (0, pad_w, 0, pad_h), mode="reflect")
    return F.pad(image, (0, pad_w, 0, pad_h), mode="replicate")


def init_weights(module: nn.Module, rng: torch.Generator) -> None:
    """Initialise convolutions from ``rng`` (Kaiming uniform), so a seed fixes the weights.

    Output heads start at zero: every U-Net then begins as the identity (it is residual), which
    keeps K stacked unrolls stable at the start of training.
    """
    for layer in module.modules():
        if isinstance(layer, UNet):
            nn.init.zeros_(layer.head.weight)
            nn.init.zeros_(layer.head.bias)
        elif isinstance(layer, nn.Conv2d) and layer.kernel_size != (1, 1):
            nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu", generator=rng)
