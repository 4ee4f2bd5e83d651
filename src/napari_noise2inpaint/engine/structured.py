"""Structured blind spots for correlated noise: hide a pixel's noise-correlated neighbours too.

With correlated noise, the noise of a loss pixel can be predicted from the noise of its
neighbours, so a network that sees them learns to reproduce the noise (the failure of plain
blind-spot training on structured noise). The neighbours whose noise correlates with a loss
pixel (the support of the noise autocorrelation kernel) are therefore removed from the network
input and from the data-fidelity set, as structured Noise2Void does with its mask.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from napari_noise2inpaint.engine.masks import _reflect

#: Kernel entries above this fraction of the variance count as correlated.
CORRELATION_THRESHOLD = 0.05


class StructuredBlindSpot:
    """Dilation of loss sets by the correlation support, and fill values from outside it.

    Parameters
    ----------
    kernel : numpy.ndarray
        Noise autocorrelation kernel (odd sides, centre = variance), any units.
    """

    def __init__(self, kernel: np.ndarray):
        kernel = np.asarray(kernel, dtype=np.float64)
        centre = np.array(kernel.shape) // 2
        strong = np.argwhere(np.abs(kernel) > CORRELATION_THRESHOLD * kernel[tuple(centre)])
        self.support = [tuple(int(v) for v in o - centre) for o in strong]
        reach = np.abs(np.array(self.support)).max(axis=0) + 2
        window = [
            (dy, dx)
            for dy in range(-reach[0], reach[0] + 1)
            for dx in range(-reach[1], reach[1] + 1)
            if (dy, dx) not in self.support
        ]
        self.fill_offsets = torch.tensor(window, dtype=torch.long)

    def dilate(self, mask: torch.Tensor) -> torch.Tensor:
        """Return ``mask`` (``(B, C, H, W)`` bool) grown by the correlation support."""
        ry = max(abs(dy) for dy, _ in self.support)
        rx = max(abs(dx) for _, dx in self.support)
        padded = F.pad(mask.float(), (rx, rx, ry, ry))
        h, w = mask.shape[-2:]
        grown = torch.zeros_like(mask)
        for dy, dx in self.support:
            grown |= padded[..., ry + dy : ry + dy + h, rx + dx : rx + dx + w] > 0
        return grown

    def fill(self, images: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """Each pixel's value replaced by a random pixel outside its correlation support."""
        b, c, h, w = images.shape
        offsets = self.fill_offsets.to(images.device)
        pick = torch.randint(0, len(offsets), images.shape, generator=rng, device=rng.device)
        rows = torch.arange(h, device=images.device).view(1, 1, h, 1)
        cols = torch.arange(w, device=images.device).view(1, 1, 1, w)
        src_r = _reflect(rows + offsets[pick, 0], h)
        src_c = _reflect(cols + offsets[pick, 1], w)
        flat = images.reshape(b, c, -1)
        return flat.gather(-1, (src_r * w + src_c).reshape(b, c, -1)).reshape(images.shape)


def blind_spot_for(noise) -> StructuredBlindSpot | None:
    """Return the structured blind spot of a correlated noise model, None for other models."""
    kernel = getattr(noise, "kernel", None)
    return None if kernel is None else StructuredBlindSpot(kernel)
