"""Fixtures for the tracking tests: a tiny random SAM2 and cached features of synthetic frames."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from vrs_hq_ros.model.config import SAM2Config  # noqa: E402
from vrs_hq_ros.model.sam2_builder import build_sam2, preprocess_frame  # noqa: E402
from vrs_hq_ros.model.sam2_features import encode_frames  # noqa: E402

IMAGE_SIZE = 64


@pytest.fixture(scope="session")
def sam2():
    """Random tiny SAM2 whose object-score head leans to "present" (else every mask is gated)."""
    torch.manual_seed(0)
    model = build_sam2(SAM2Config.tiny_random(IMAGE_SIZE))
    with torch.no_grad():
        model.sam_mask_decoder.pred_obj_score_head.layers[-1].bias += 3.0
    return model


@pytest.fixture(scope="session")
def frame_features(sam2):
    """Cached features of 12 synthetic frames (a bright square drifting right)."""
    frames = []
    for t in range(12):
        rgb = np.full((48, 64, 3), 40, dtype=np.uint8)
        rgb[10:30, 5 + 2 * t:25 + 2 * t] = (220, 60, 60)
        frames.append(preprocess_frame(rgb, IMAGE_SIZE))
    return encode_frames(sam2, torch.stack(frames))


def square_mask(height=48, width=64, top=10, left=5, size=20) -> torch.Tensor:
    mask = torch.zeros(height, width, dtype=torch.bool)
    mask[top:top + size, left:left + size] = True
    return mask
