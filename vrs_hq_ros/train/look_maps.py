"""Dense look supervision of SAM2's image features (a training aid, like ``LookPrompts``).

Per feature level (strides 4, 8 and 16), a 1x1 convolution predicts the colour, shape, size
and texture of the object under each cell, or background. Without it the from-scratch image
encoder learnt colour but not shape, and the decoder confused objects of one colour
(docs/TRAINING.md). The heads are not part of the saved model.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vrs_hq_ros.model.sam2_builder import SAM2_PROMPT_DIM
from vrs_hq_ros.model.sam2_features import SAM2FrameFeatures, level_map
from vrs_hq_ros.train.synthetic_scenes import COLOURS, SHAPES, SIZES, TEXTURES, Scene

ATTRIBUTES: dict[str, tuple[str, ...]] = {"colour": tuple(COLOURS), "shape": SHAPES,
                                          "size": tuple(SIZES), "texture": TEXTURES}
# conv_s0 / conv_s1 outputs and the stride-16 level, as SAM2's decoder sizes them
LEVEL_CHANNELS = (SAM2_PROMPT_DIM // 8, SAM2_PROMPT_DIM // 4, SAM2_PROMPT_DIM)


def attribute_maps(scene: Scene, indices: list[int]) -> dict[str, np.ndarray]:
    """Per attribute, the class of the object owning each pixel [F, H, W] (0: background)."""
    maps = {}
    for name, values in ATTRIBUTES.items():
        table = np.array([0] + [values.index(getattr(o, name)) + 1 for o in scene.objects])
        maps[name] = table[scene.labels[indices]]
    return maps


def _cell_centres(size: int, cells: int) -> np.ndarray:
    step = size / cells
    return np.clip((np.arange(cells) * step + step / 2).astype(int), 0, size - 1)


def half_and_half(values: torch.Tensor, foreground: torch.Tensor) -> torch.Tensor:
    """Mean over foreground and over background cells, weighed half each (either may be empty)."""
    parts = [values[m].mean() for m in (foreground, ~foreground) if m.any()]
    return torch.stack(parts).mean()


class LookMaps(nn.Module):
    """Per-level heads: feature cell -> colour, shape, size and texture logits (+ background)."""

    def __init__(self, channels: tuple[int, ...] = LEVEL_CHANNELS):
        super().__init__()
        self.classes = [len(values) + 1 for values in ATTRIBUTES.values()]
        self.heads = nn.ModuleList(nn.Conv2d(c, sum(self.classes), 1) for c in channels)

    @classmethod
    def seeded(cls, seed: int = 0) -> LookMaps:
        """Heads initialised from their own seed; torch's global RNG is left as it was."""
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            return cls()

    def loss(self, features: list[SAM2FrameFeatures], scene: Scene,
             indices: list[int]) -> torch.Tensor:
        """Mean cross-entropy over levels and attributes for frames ``indices`` of ``scene``.

        Foreground and background cells weigh half each (objects cover a small area).
        ``features[i]`` are the features of frame ``indices[i]``.
        """
        maps = attribute_maps(scene, indices)
        size = scene.labels.shape[-1]
        terms = []
        for level, head in enumerate(self.heads):
            grid = torch.cat([level_map(f.vision_feats[level], f.feat_sizes[level])
                              for f in features])
            logits = head(grid).split(self.classes, dim=1)
            rows = _cell_centres(size, grid.shape[-2])
            cols = _cell_centres(size, grid.shape[-1])
            for lg, target in zip(logits, maps.values(), strict=True):
                labels = torch.as_tensor(target[:, rows][:, :, cols], dtype=torch.long,
                                         device=lg.device)
                ce = F.cross_entropy(lg, labels, reduction="none")
                terms.append(half_and_half(ce, labels > 0))
        return torch.stack(terms).mean()
