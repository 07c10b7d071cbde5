"""Offline mode for evaluation: the paper's whole-clip inference with the engine's model code.

The clip is one window: ``reason`` picks a keyframe anywhere in it; SAM2 is conditioned on
the keyframe mask and propagates forward to the end, then from a fresh memory backward to
the start. Result = reverse(backward)[:-1] + forward, one mask per frame.

The backward pass runs the same forward tracker over the frames in reverse order; with
SAM2's memory stride of 1 that is what ``track_in_reverse`` computes (memories and pointers
are selected by distance from the current frame, in the direction of travel). Frames are
encoded one at a time as the passes reach them, so memory does not grow with the clip.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from vrs_hq_ros.engine.errors import FrameError
from vrs_hq_ros.engine.reasoner import Reasoner
from vrs_hq_ros.model.sam2_features import SAM2FrameFeatures
from vrs_hq_ros.tracking.online_tracker import MaskMapping, OnlineTracker, TrackerConfig

logger = logging.getLogger(__name__)


def segment_clip(model: Reasoner, frames: list[np.ndarray], sentence: str,
                 tracker_config: TrackerConfig = TrackerConfig()) -> list[np.ndarray]:
    """One bool mask [H, W] per frame of the clip (RGB uint8 [H, W, 3] frames, same size)."""
    if not frames:
        raise FrameError("segment_clip needs at least one frame")
    reasoning = model.reason(frames, sentence)
    key = reasoning.keyframe_index
    mask = reasoning.keyframe_mask_logits > 0
    logger.debug("offline clip of %d frames: keyframe %d", len(frames), key)
    tracker = OnlineTracker(model.sam2, tracker_config, clip_length=len(frames),
                            mapping=MaskMapping.of(model))
    key_features = model.encode_frames([frames[key]])[0]
    forward = _propagate(model, tracker, frames, list(range(key, len(frames))), mask,
                         key_features)
    backward = _propagate(model, tracker, frames, list(range(key, -1, -1)), mask, key_features)
    return backward[::-1][:-1] + forward


def _propagate(model: Reasoner, tracker: OnlineTracker, frames: list[np.ndarray],
               order: list[int], mask: torch.Tensor,
               key_features: SAM2FrameFeatures) -> list[np.ndarray]:
    """Condition on ``frames[order[0]]`` and track through ``order``; masks in that order."""
    height, width = frames[0].shape[:2]
    memory = tracker.new_memory()
    steps = [tracker.condition(memory, 0, mask, key_features)]
    for position, index in enumerate(order[1:], start=1):
        features = model.encode_frames([frames[index]])[0]
        steps.append(tracker.step(memory, position, features))
    return [(tracker.mapping.to_frame(s.mask_logits, height, width) > 0).cpu().numpy()
            for s in steps]
