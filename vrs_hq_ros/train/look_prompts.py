"""Teacher prompt tokens for the curriculum: a learnt embedding per look attribute.

Stage 1 of the curriculum prompts SAM2's decoder with ``colour + shape + size + texture``
embeddings (one table per attribute) instead of the MLLM's TAK', so the decoder learns to
select an object by its look with a strong, direct gradient. Stage 2 then teaches the MLLM to
produce a TAK' the decoder already understands (distillation towards the target's look
token). The tables are a training aid only: they are not part of the saved model.
"""

from __future__ import annotations

import torch
from torch import nn

from vrs_hq_ros.train.synthetic_scenes import COLOURS, SHAPES, SIZES, TEXTURES, SceneObject


class LookPrompts(nn.Module):
    """Object look -> a prompt token [dim] (sum of four attribute embeddings)."""

    def __init__(self, dim: int = 256):
        super().__init__()
        self.vocab = {"colour": list(COLOURS), "shape": list(SHAPES), "size": list(SIZES),
                      "texture": list(TEXTURES)}
        self.tables = nn.ModuleDict({name: nn.Embedding(len(values), dim)
                                     for name, values in self.vocab.items()})
        for table in self.tables.values():
            nn.init.normal_(table.weight, std=0.5)

    def forward(self, obj: SceneObject, attributes: tuple[str, ...] = ()) -> torch.Tensor:
        """Return the token [dim] of ``obj``'s look, or of the ``attributes`` named only.

        A referring sentence names some attributes ("the red one"); its teacher token sums
        just those, which the words alone determine (the decoder learns such partial tokens
        too, ``segment`` with ``partial_look_share``).
        """
        device = self.tables["colour"].weight.device
        return self.of_indices(torch.tensor(self.indices(obj), device=device), attributes)

    @classmethod
    def indices(cls, obj: SceneObject) -> tuple[int, int, int, int]:
        """``obj``'s (colour, shape, size, texture) as table rows (for ``of_indices``)."""
        return (list(COLOURS).index(obj.colour), SHAPES.index(obj.shape),
                list(SIZES).index(obj.size), TEXTURES.index(obj.texture))

    def of_indices(self, rows: torch.Tensor, attributes: tuple[str, ...] = ()) -> torch.Tensor:
        """Tokens [..., dim] of looks given as table rows [..., 4] (``indices``).

        As in ``forward``, ``attributes`` limits the sum to the named ones.
        """
        names = attributes or tuple(self.vocab)
        order = tuple(self.vocab)
        return sum(self.tables[name](rows[..., order.index(name)]) for name in names)
