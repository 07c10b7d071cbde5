"""Fixtures for the model tests: tiny random models, built once per session."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from vrs_hq_ros.model.config import SAM2Config  # noqa: E402
from vrs_hq_ros.model.sam2_builder import build_sam2  # noqa: E402

TEST_IMAGE_SIZE = 128


@pytest.fixture(scope="session")
def sam2_config() -> SAM2Config:
    return SAM2Config.tiny_random(TEST_IMAGE_SIZE)


@pytest.fixture(scope="session")
def tiny_sam2(sam2_config):
    torch.manual_seed(0)
    return build_sam2(sam2_config)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
