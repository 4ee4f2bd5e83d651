"""Losses evaluated on the loss set only (eq. 15)."""

from __future__ import annotations

import torch


def masked_loss(
    prediction: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor | None,
    kind: str = "mse",
) -> torch.Tensor:
    """Loss between ``prediction`` and ``target`` on the pixels where ``mask`` is True.

    Parameters
    ----------
    prediction, target : torch.Tensor
        Same shape.
    mask : torch.Tensor or None
        Boolean loss set; None uses every pixel.
    kind : {"mse", "l1l2"}
        Mean squared error, or ``0.5 ||r||_2 / ||y||_2 + 0.5 ||r||_1 / ||y||_1`` with
        ``r = prediction - target`` and ``y = target`` on the loss set.

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    prediction = prediction.float()
    target = target.float()
    residual = prediction - target
    if mask is not None:
        residual = residual[mask]
        target = target[mask]
    if kind == "mse":  # an empty loss set (a rare batch) gives 0, not NaN
        return residual.square().mean() if residual.numel() else residual.sum()
    eps = 1e-8
    l2 = residual.norm(2) / (target.norm(2) + eps)
    l1 = residual.norm(1) / (target.norm(1) + eps)
    return 0.5 * l2 + 0.5 * l1
