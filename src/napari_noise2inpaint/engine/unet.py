"""The Noise2Void U-Net used as regulariser R(x) in every unroll and by the baselines (2D or 3D)."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

CONV = {2: nn.Conv2d, 3: nn.Conv3d}
NORM = {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}
POOL = {2: F.max_pool2d, 3: F.max_pool3d}
NORMS = (nn.BatchNorm2d, nn.BatchNorm3d)


def _conv_block(in_channels: int, out_channels: int, dims: int) -> nn.Sequential:
    conv, norm = CONV[dims], NORM[dims]
    return nn.Sequential(
        conv(in_channels, out_channels, 3, padding=1, bias=False),
        norm(out_channels),
        nn.ReLU(inplace=True),
        conv(out_channels, out_channels, 3, padding=1, bias=False),
        norm(out_channels),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """U-Net as in Noise2Void: 3x3 convolutions, batch norm, max pooling, residual output.

    Any ``H x W`` (or ``D x H x W``) works: the input is padded by reflection to a multiple of
    ``2 ** depth`` and the output cropped back.

    Parameters
    ----------
    features : int
        Feature maps at the first level, doubled at each deeper level.
    depth : int
        Number of pooling levels.
    dims : {2, 3}
        2D (3x3 kernels, ``(B, 1, H, W)`` batches) or 3D (3x3x3 kernels, pooling over Z too,
        ``(B, 1, D, H, W)`` batches).
    """

    def __init__(self, features: int = 32, depth: int = 2, dims: int = 2):
        super().__init__()
        self.depth = depth
        self.dims = dims
        widths = [features * 2**level for level in range(depth + 1)]
        self.down = nn.ModuleList()
        in_channels = 1
        for width in widths[:-1]:
            self.down.append(_conv_block(in_channels, width, dims))
            in_channels = width
        self.bottom = _conv_block(widths[-2], widths[-1], dims)
        self.up = nn.ModuleList(
            _conv_block(widths[level + 1] + widths[level], widths[level], dims)
            for level in reversed(range(depth))
        )
        self.head = CONV[dims](widths[0], 1, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Denoise a ``(B, 1, H, W)`` (2D) or ``(B, 1, D, H, W)`` (3D) batch; same shape out."""
        sizes = image.shape[-self.dims :]
        multiple = 2**self.depth
        x = reflect_pad(image, [-size % multiple for size in sizes])
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = POOL[self.dims](x, 2)
        x = self.bottom(x)
        for block, skip in zip(self.up, reversed(skips), strict=True):
            x = block(upsample_beside(x, skip))
        out = self.head(x)[(..., *(slice(0, size) for size in sizes))]
        return out + image


def upsample_beside(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    """Return ``cat([nearest 2x upsampling of x, skip], dim=1)``, written once into one buffer.

    Equal to the upsampling followed by the concatenation, without the upsampled copy in
    between: about 40 % less time for the two on a CPU (channels-last 780x780 tiles).
    """
    dims = skip.dim() - 2
    channels_last = skip.is_contiguous(memory_format=memory_format(dims))
    buffer = torch.empty(
        (skip.shape[0], x.shape[1] + skip.shape[1], *skip.shape[2:]),
        dtype=torch.promote_types(x.dtype, skip.dtype),
        device=skip.device,
        memory_format=memory_format(dims) if channels_last else torch.contiguous_format,
    )
    upsampled = buffer[:, : x.shape[1]]
    pairs = [x.shape[0], x.shape[1]]
    for axis, size in enumerate(x.shape[2:]):
        upsampled = upsampled.unflatten(2 + 2 * axis, (size, 2))
        pairs += [size, 1]
    upsampled.copy_(x.reshape(pairs).expand(upsampled.shape))
    buffer[:, x.shape[1] :].copy_(skip)
    return buffer


def fold_batch_norms(module: nn.Module) -> nn.Module:
    """Return an inference copy of ``module`` with each batch norm folded into its convolution.

    In eval mode a batch norm after a bias-free convolution is an affine map per channel, so
    it becomes the convolution's weights and bias (equal up to rounding, about 1e-6): one pass
    fewer over every feature map (about a fifth of a U-Net's time on a CPU). The copy is for
    denoising only; ``module`` is unchanged.
    """
    folded = copy.deepcopy(module).eval()
    for block in folded.modules():
        if not isinstance(block, nn.Sequential):
            continue
        layers = list(block)
        for index, (layer, following) in enumerate(zip(layers, layers[1:], strict=False)):
            if isinstance(layer, (nn.Conv2d, nn.Conv3d)) and isinstance(following, NORMS):
                block[index] = fuse_conv_bn_eval(layer, following)
                block[index + 1] = nn.Identity()
    return folded


def reflect_pad(image: torch.Tensor, pads: list[int]) -> torch.Tensor:
    """Pad the last ``len(pads)`` axes at their end by reflection (replication if too short).

    Parameters
    ----------
    image : torch.Tensor
        ``(B, C, ...)`` batch.
    pads : list of int
        Pixels to add after the end of each spatial axis, in axis order.

    Returns
    -------
    torch.Tensor
        The padded batch (``image`` itself when nothing is added).
    """
    if not any(pads):
        return image
    sizes = image.shape[-len(pads) :]
    widths = [w for pad in reversed(pads) for w in (0, pad)]
    fits = all(pad < size for pad, size in zip(pads, sizes, strict=True))
    return F.pad(image, widths, mode="reflect" if fits else "replicate")


def init_weights(module: nn.Module, rng: torch.Generator) -> None:
    """Initialise convolutions from ``rng`` (Kaiming uniform), so a seed fixes the weights.

    Output heads start at zero: every U-Net then begins as the identity (it is residual), which
    keeps K stacked unrolls stable at the start of training.
    """
    for layer in module.modules():
        if isinstance(layer, UNet):
            nn.init.zeros_(layer.head.weight)
            nn.init.zeros_(layer.head.bias)
        elif isinstance(layer, (nn.Conv2d, nn.Conv3d)) and max(layer.kernel_size) > 1:
            nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu", generator=rng)


def memory_format(dims: int) -> torch.memory_format:
    """Channels-last layout for ``dims``-D batches: faster convolutions on CPUs and GPUs."""
    return torch.channels_last if dims == 2 else torch.channels_last_3d
