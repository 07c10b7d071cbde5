"""VRS-HQ training loss: weighted text cross-entropy + mask BCE + mask Dice."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vrs_hq_ros.model.config import LossConfig


class MaskShapeError(ValueError):
    """Predicted and ground-truth masks differ in shape."""


@dataclass
class LossBreakdown:
    """``total`` = ce + bce + dice, each already weighted (scalars)."""

    total: torch.Tensor
    ce: torch.Tensor
    bce: torch.Tensor
    dice: torch.Tensor


def sigmoid_bce_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-mask mean BCE-with-logits, averaged over masks: [N, H, W] x2 -> scalar."""
    loss = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return loss.flatten(1).mean(1).sum() / (logits.shape[0] + 1e-8)


def dice_loss(logits: torch.Tensor, targets: torch.Tensor, scale: float = 1000.0,
              eps: float = 1e-6) -> torch.Tensor:
    """1 - soft Dice per mask, averaged over masks; sums are divided by ``scale`` first.

    The official scaling keeps the sums small for low-precision training.
    """
    probs = logits.sigmoid().flatten(1)
    targets = targets.flatten(1)
    numerator = 2 * (probs / scale * targets).sum(-1)
    denominator = (probs / scale).sum(-1) + (targets / scale).sum(-1)
    loss = 1 - (numerator + eps) / (denominator + eps)
    return loss.sum() / (logits.shape[0] + 1e-8)


def vrshq_loss(lm_loss: torch.Tensor, mask_logits: torch.Tensor, gt_masks: torch.Tensor,
               cfg: LossConfig) -> LossBreakdown:
    """Weighted total of the text loss and the mask losses; masks [N, H, W], gt in {0, 1}."""
    if mask_logits.shape != gt_masks.shape:
        raise MaskShapeError(f"predicted masks {list(mask_logits.shape)} vs ground truth "
                             f"{list(gt_masks.shape)}")
    gt = gt_masks.to(mask_logits.dtype)
    ce = cfg.ce_weight * lm_loss
    bce = cfg.bce_weight * sigmoid_bce_loss(mask_logits, gt)
    dice = cfg.dice_weight * dice_loss(mask_logits, gt, cfg.dice_scale, cfg.dice_eps)
    return LossBreakdown(total=ce + bce + dice, ce=ce, bce=bce, dice=dice)
