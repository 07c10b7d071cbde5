"""Share the position encodings of cached SAM2 features between frames.

SAM2's sine position encodings depend only on the feature-map size, yet every encoded frame
carries its own copy, and at 256 channels on the stride-4 level they are the largest part
of a frame's features. The engine keeps one copy per level and size.
"""

from __future__ import annotations

import torch

from vrs_hq_ros.model.sam2_features import SAM2FrameFeatures


class SharedPositionEncodings:
    """Interns ``vision_pos_embeds`` by (level, shape, dtype, device)."""

    def __init__(self) -> None:
        self._canonical: dict[tuple, torch.Tensor] = {}

    def share(self, features: SAM2FrameFeatures) -> SAM2FrameFeatures:
        """Return the same features with position encodings replaced by the shared copies."""
        shared = []
        for level, pos in enumerate(features.vision_pos_embeds):
            key = (level, tuple(pos.shape), pos.dtype, pos.device)
            shared.append(self._canonical.setdefault(key, pos))
        return SAM2FrameFeatures(vision_feats=features.vision_feats, vision_pos_embeds=shared,
                                 feat_sizes=features.feat_sizes)
