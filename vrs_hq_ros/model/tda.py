"""Temporal Dynamic Aggregation (TDA): fuse the per-frame [SEG] tokens into [TAK]."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


class TokenShapeError(ValueError):
    """[SEG]/[TAK] embeddings have incompatible shapes."""


@dataclass
class TDAResult:
    """``tak_fused`` [C] = tak + alpha * sum_i weights_i * seg_i; ``weights`` [T'] sum to 1."""

    tak_fused: torch.Tensor
    weights: torch.Tensor


def temporal_dynamic_aggregation(seg: torch.Tensor, tak: torch.Tensor,
                                 alpha: float = 0.1, mean_pooling: bool = False) -> TDAResult:
    """Weight frames by softmax over frames of cos(seg_i, tak) and add their mix to [TAK].

    seg [T', C], tak [C] -> TDAResult (tak_fused [C], weights [T']). ``mean_pooling`` (an
    ablation) weights every frame 1 / T'.
    """
    if seg.ndim != 2 or tak.ndim != 1 or seg.shape[1] != tak.shape[0] or seg.shape[0] == 0:
        raise TokenShapeError(f"expected seg [T', C] and tak [C], got {list(seg.shape)} and "
                              f"{list(tak.shape)}")
    weights = torch.softmax(F.cosine_similarity(seg, tak[None], dim=1), dim=0)
    if mean_pooling:
        weights = torch.full_like(weights, 1.0 / seg.shape[0])
    return TDAResult(tak_fused=tak + alpha * (weights @ seg), weights=weights)
