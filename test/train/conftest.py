"""A run config small enough for the CPU test suite (seconds per step, not minutes)."""

from __future__ import annotations

import pytest

from vrs_hq_ros.train.run_config import RunConfig


@pytest.fixture
def tiny_run_config() -> RunConfig:
    return RunConfig.from_dict({
        "seed": 0, "threads": 0, "checkpoint_every": 2, "keep_checkpoints": 2, "log_every": 1,
        "eval_clips": 1,
        "model": {"sam2_image_size": 64, "sam2_embed_dim": 16, "vision_image_size": 32,
                  "vision_hidden_size": 32, "text_hidden_size": 32, "text_layers": 1,
                  "text_heads": 2, "text_intermediate_size": 64, "vocab_size": 400},
        "data": {"size_px": 64, "frames_min": 8, "frames_max": 10, "sampled_min": 4,
                 "sampled_max": 5},
        "stages": [{"name": "segment", "steps": 2, "lr": 1e-3, "warmup_steps": 2,
                    "contrast_weight": 1.0},
                   {"name": "words", "steps": 2, "lr": 1e-3, "distill_weight": 1.0,
                    "contrast_weight": 1.0},
                   {"name": "language", "steps": 2, "lr": 1e-3, "distill_weight": 1.0,
                    "warmup_steps": 1, "contrast_weight": 1.0, "final_lr_fraction": 0.1},
                   {"name": "joint", "steps": 2, "lr": 1e-4}],
    })
