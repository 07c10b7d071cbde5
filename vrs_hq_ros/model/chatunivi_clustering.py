"""Chat-UniVi's visual token clustering (DPC-KNN), parameter-free.

A frame's patch tokens are clustered three times in a chain (official spatial cluster numbers
64 -> 32 -> 16, k = 5, 3, 3); the merged tokens of the three steps are concatenated, giving
64 + 32 + 16 = 112 visual tokens per frame. The math follows ``cluster.py`` of
PKU-YuanGroup/Chat-UniVi (``cluster_dpc_knn`` + ``merge_tokens``), including the ``1e-6`` added
to each cluster's weight. The official code adds ``rand * 1e-6`` to the densities to break ties;
here that noise is optional (off by default) so a robot run is deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch

# Official Chat-UniVi-7B config ("config": spatial_cluster_rate0..2) and CTM k values.
OFFICIAL_CLUSTER_NUMS = (64, 32, 16)
OFFICIAL_KS = (5, 3, 3)


@dataclass
class ClusterStep:
    """One clustering step: ``rate`` > 1 is a cluster count, <= 1 a fraction of the tokens."""

    rate: float
    k: int

    def cluster_num(self, num_tokens: int) -> int:
        """Clusters for ``num_tokens`` input tokens (official ``CTM.forward``)."""
        if self.rate > 1:
            return max(math.ceil(self.rate), 1)
        return max(math.ceil(num_tokens * self.rate), 1)

    def effective_k(self, cluster_num: int) -> int:
        """K for the local density; the official code shrinks it when k > cluster_num."""
        return min(3, max(cluster_num // 2, 1)) if self.k > cluster_num else self.k


def official_steps(rates: tuple[float, ...] = OFFICIAL_CLUSTER_NUMS) -> list[ClusterStep]:
    """Return the three spatial steps with the official k values."""
    return [ClusterStep(rate=float(r), k=k) for r, k in zip(rates, OFFICIAL_KS, strict=True)]


def dpc_knn(x: torch.Tensor, cluster_num: int, k: int,
            noise: Optional[torch.Generator] = None) -> torch.Tensor:
    """Cluster tokens [B, N, C] -> cluster index [B, N] in ``[0, cluster_num)``."""
    batch, num, channels = x.shape
    dist = torch.cdist(x.float(), x.float()) / (channels ** 0.5)
    nearest, _ = torch.topk(dist, k=k, dim=-1, largest=False)
    density = (-(nearest ** 2).mean(dim=-1)).exp()
    if noise is not None:
        density = density + torch.rand(density.shape, generator=noise,
                                       device=density.device, dtype=density.dtype) * 1e-6
    # distance to the nearest token of higher density (the max distance for the peak)
    higher = (density[:, None, :] > density[:, :, None]).to(dist.dtype)
    dist_max = dist.flatten(1).max(dim=-1)[0][:, None, None]
    parent_dist = (dist * higher + dist_max * (1 - higher)).min(dim=-1)[0]
    _, centers = torch.topk(parent_dist * density, k=cluster_num, dim=-1)
    center_dist = torch.gather(dist, 1, centers[:, :, None].expand(batch, cluster_num, num))
    assign = center_dist.argmin(dim=1)
    # every center belongs to its own cluster
    rows = torch.arange(batch, device=x.device)[:, None].expand(batch, cluster_num)
    assign[rows, centers] = torch.arange(cluster_num, device=x.device)[None].expand(
        batch, cluster_num)
    return assign


def merge_clusters(x: torch.Tensor, assign: torch.Tensor, cluster_num: int) -> torch.Tensor:
    """Mean of each cluster's tokens, weights ``1 / (count + 1e-6)`` -> [B, cluster_num, C]."""
    batch, num, channels = x.shape
    idx = (assign + torch.arange(batch, device=x.device)[:, None] * cluster_num).reshape(-1)
    counts = x.new_zeros(batch * cluster_num, 1).index_add_(
        0, idx, x.new_ones(batch * num, 1)) + 1e-6
    weight = 1.0 / counts[idx]
    merged = x.new_zeros(batch * cluster_num, channels).index_add_(
        0, idx, (x.reshape(-1, channels) * weight).to(x.dtype))
    return merged.reshape(batch, cluster_num, channels)


def cluster_frame_tokens(x: torch.Tensor, steps: list[ClusterStep],
                         noise: Optional[torch.Generator] = None) -> torch.Tensor:
    """Patch tokens [T, N, C] -> concatenated merged tokens of each chained step [T, M, C]."""
    outputs = []
    for step in steps:
        cluster_num = step.cluster_num(x.shape[1])
        assign = dpc_knn(x, cluster_num, step.effective_k(cluster_num), noise)
        x = merge_clusters(x, assign, cluster_num)
        outputs.append(x)
    return torch.cat(outputs, dim=1)


def tokens_per_frame(steps: list[ClusterStep], num_patches: int) -> int:
    """Visual tokens a frame of ``num_patches`` patches becomes (112 officially)."""
    total, num = 0, num_patches
    for step in steps:
        num = step.cluster_num(num)
        total += num
    return total
