"""Temporal Keyframe Selection (TKS): sample frames around the CLIP anchor, score candidates.

Sampling (official ``sample_frames``): ``step = ceil(T / budget)``, ``start = anchor % step``,
then every step-th frame, so the anchor is always included and at most ``budget`` frames are
taken. Score (official): ``softmax(object logits over candidates) + TDA weights``; keyframe =
argmax.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch


class KeyframeSelectionError(ValueError):
    """TKS inputs are inconsistent (empty, out of range, mismatched lengths)."""


@dataclass
class KeyframeChoice:
    """``scores`` [N] per candidate; ``position`` indexes the candidate list."""

    scores: torch.Tensor
    position: int


def sample_around_anchor(num_frames: int, anchor: int, budget: int = 11) -> list[int]:
    """Window indices fed to the MLLM: every ceil(T/budget)-th frame, phase set by the anchor."""
    if num_frames < 1 or budget < 1:
        raise KeyframeSelectionError(f"need num_frames >= 1 and budget >= 1, got "
                                     f"{num_frames} and {budget}")
    if not 0 <= anchor < num_frames:
        raise KeyframeSelectionError(f"anchor {anchor} outside a window of {num_frames}")
    step = math.ceil(num_frames / budget)
    return list(range(anchor % step, num_frames, step))


def select_keyframe(object_logits: torch.Tensor, tda_weights: torch.Tensor,
                    clip_probabilities: Optional[torch.Tensor] = None) -> KeyframeChoice:
    """Combine object logits [N], TDA weights [N] (and optionally CLIP probabilities [N])."""
    if object_logits.ndim != 1 or object_logits.numel() == 0 \
            or tda_weights.shape != object_logits.shape:
        raise KeyframeSelectionError(f"object logits {list(object_logits.shape)} and TDA "
                                     f"weights {list(tda_weights.shape)} must both be [N]")
    scores = torch.softmax(object_logits.float(), dim=0) + tda_weights.float()
    if clip_probabilities is not None:
        if clip_probabilities.shape != scores.shape:
            raise KeyframeSelectionError("CLIP probabilities must be [N] like the candidates")
        scores = scores + clip_probabilities.float()
    return KeyframeChoice(scores=scores, position=int(torch.argmax(scores)))
