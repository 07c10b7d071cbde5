"""The MLP that maps LLM hidden states into SAM2's 256-d prompt space."""

from __future__ import annotations

import torch
from torch import nn


class TokenProjection(nn.Module):
    """``Linear(D, D) -> ReLU -> Linear(D, out)``, shared by [SEG] and [TAK] as in VRS-HQ."""

    def __init__(self, hidden_size: int, out_dim: int = 256):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(hidden_size, hidden_size), nn.ReLU(),
                                 nn.Linear(hidden_size, out_dim))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """[..., D] -> [..., out_dim]."""
        return self.mlp(hidden)
