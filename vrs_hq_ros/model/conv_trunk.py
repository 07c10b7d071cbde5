"""A small convolutional trunk for SAM2's image encoder (the tiny from-scratch model only).

Deviation from SAM2 (which uses Hiera), for models trained from scratch on this CPU: a tiny
Hiera trained from random weights learnt colour but not shape. A linear probe on its features
read an object's shape at chance level even after 1,500 steps of direct dense shape
supervision, while this trunk reached 0.74 in the same steps (docs/TRAINING.md). The
decoder then confused objects of one colour. Official and pretrained weights use Hiera.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv(in_channels: int, out_channels: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, 3, stride, 1),
            nn.GroupNorm(min(8, out_channels), out_channels), nn.GELU()]


def _stage(in_channels: int, out_channels: int, layers: int) -> nn.Sequential:
    """Build a stride-2 3x3 conv and ``layers`` more 3x3 convs, each with GroupNorm + GELU."""
    modules = _conv(in_channels, out_channels, 2)
    for _ in range(layers):
        modules += _conv(out_channels, out_channels, 1)
    return nn.Sequential(*modules)


class ConvTrunk(nn.Module):
    """Feature maps at strides 4, 8, 16 and 32 with ``embed_dim * (1, 2, 4, 8)`` channels.

    Outputs and ``channel_list`` match SAM2's ``Hiera`` trunk, so ``FpnNeck`` and the rest of
    SAM2 are unchanged. ``stages`` gives the extra conv layers per stage (Hiera's blocks per
    stage).
    """

    def __init__(self, embed_dim: int, stages: tuple[int, ...]):
        super().__init__()
        dims = [embed_dim * 2 ** i for i in range(len(stages))]
        self.stem = _stage(3, embed_dim, 0)  # stride 2
        self.stages = nn.ModuleList(_stage(d_in, d_out, layers) for d_in, d_out, layers in
                                    zip([embed_dim, *dims[:-1]], dims, stages, strict=True))
        self.channel_list = dims[::-1]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Images [B, 3, S, S] -> per stage [B, C_i, S / 2**(i+2), S / 2**(i+2)]."""
        x = self.stem(x)
        outputs = []
        for stage in self.stages:
            x = stage(x)
            outputs.append(x)
        return outputs
