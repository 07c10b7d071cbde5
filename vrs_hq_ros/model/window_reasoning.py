"""The result of one VRS-HQ reasoning pass over a window of frames."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class WindowReasoning:
    """What ``VRSHQ.reason`` found in a window of T frames (all indices are window indices).

    Embeddings live in SAM2's 256-d prompt space. ``candidate_scores`` [N] pair with
    ``candidate_indices``; ``keyframe_mask_logits`` [H, W] is at the source resolution
    (> 0 = object); ``timings_s`` holds seconds per stage (clip, mllm, sam2_encode,
    sam2_decode, total).
    """

    sampled_indices: list[int]
    seg_embeddings: torch.Tensor  # [T', 256]
    tak: torch.Tensor  # [256]
    tak_fused: torch.Tensor  # [256]
    tda_weights: torch.Tensor  # [T']
    anchor_index: int
    clip_probabilities: torch.Tensor  # [T] over the whole window
    candidate_indices: list[int]
    candidate_scores: torch.Tensor  # [N]
    candidate_object_logits: torch.Tensor  # [N]
    keyframe_index: int
    keyframe_mask_logits: torch.Tensor  # [H, W]
    keyframe_object_logit: float
    timings_s: dict[str, float] = field(default_factory=dict)
