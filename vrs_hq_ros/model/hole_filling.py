"""SAM2's small-hole filling on mask logits, on the CPU (no sam2 CUDA extension needed).

SAM 2.0 ``fill_holes_in_mask_scores``: connected components (8-connectivity, as the CUDA
extension's) of the background (logits <= 0); a component of at most ``max_area`` pixels becomes
foreground with the small positive score 0.1. The official VRS-HQ video predictor uses
``fill_hole_area = 8`` on the low-resolution mask logits.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

OFFICIAL_FILL_HOLE_AREA = 8
HOLE_SCORE = 0.1


def fill_holes_in_mask_logits(logits: torch.Tensor, max_area: int = OFFICIAL_FILL_HOLE_AREA
                              ) -> torch.Tensor:
    """Fill background components of <= ``max_area`` px in logits [..., H, W]; 0 = no-op."""
    if max_area <= 0:
        return logits
    flat = logits.reshape(-1, *logits.shape[-2:])
    background = (flat <= 0).cpu().numpy().astype(np.uint8)
    holes = np.zeros(background.shape, dtype=bool)
    for i, plane in enumerate(background):
        _, labels, stats, _ = cv2.connectedComponentsWithStats(plane, connectivity=8)
        small = stats[:, cv2.CC_STAT_AREA] <= max_area
        small[0] = False  # label 0 is the foreground (not a background component)
        holes[i] = small[labels]
    mask = torch.from_numpy(holes).to(logits.device).reshape(logits.shape)
    return torch.where(mask, torch.full_like(logits, HOLE_SCORE), logits)
