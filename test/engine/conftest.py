"""Fixtures for the engine tests: the real tiny VRS-HQ model and a synthetic clip."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from vrs_hq_ros.model.config import VRSHQConfig  # noqa: E402
from vrs_hq_ros.model.vrshq import VRSHQ  # noqa: E402

IMAGE_SIZE = 64
FRAME_PERIOD_NS = 100_000_000  # 10 Hz


@pytest.fixture(scope="session")
def model():
    """Random tiny VRS-HQ; its SAM2 object-score head leans to "present" so masks are not gated."""
    torch.manual_seed(0)
    vrshq = VRSHQ(VRSHQConfig.tiny(IMAGE_SIZE))
    with torch.no_grad():
        vrshq.sam2.sam_mask_decoder.pred_obj_score_head.layers[-1].bias += 3.0
    return vrshq


@pytest.fixture(scope="session")
def clip():
    """30 RGB frames [48, 64, 3]: a red square drifting over a noisy background."""
    rng = np.random.default_rng(0)
    frames = []
    for t in range(30):
        rgb = rng.integers(0, 80, (48, 64, 3), dtype=np.uint8)
        rgb[12:30, 4 + t:22 + t] = (230, 40, 40)
        frames.append(rgb)
    return frames


def stamp(i: int) -> int:
    return (i + 1) * FRAME_PERIOD_NS
