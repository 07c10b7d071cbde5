"""Per-frame SAM2 image features, computed once and reused by TKS and the tracker."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from sam2.modeling.sam2_base import SAM2Base


class FeatureShapeError(ValueError):
    """Cached SAM2 features do not fit the model or the frames they are used with."""


@dataclass
class SAM2FrameFeatures:
    """One frame's features in the layout ``SAM2Base.track_step`` consumes (batch of 1).

    Levels go from high to low resolution (strides 4, 8, 16 with high-res features on);
    the first two levels are already projected by the decoder's ``conv_s0`` / ``conv_s1``.
    """

    vision_feats: list[torch.Tensor]  # per level [H_l*W_l, 1, C_l]
    vision_pos_embeds: list[torch.Tensor]  # per level [H_l*W_l, 1, 256]
    feat_sizes: list[tuple[int, int]]  # per level (H_l, W_l)

    def to(self, device: torch.device | str | None = None,
           dtype: torch.dtype | None = None) -> SAM2FrameFeatures:
        """Copy onto ``device`` and/or cast to ``dtype``."""
        return SAM2FrameFeatures([f.to(device=device, dtype=dtype) for f in self.vision_feats],
                                 [p.to(device=device, dtype=dtype)
                                  for p in self.vision_pos_embeds],
                                 list(self.feat_sizes))

    def top_level_map(self) -> torch.Tensor:
        """Stride-16 features as an image [1, 256, H, W]."""
        return level_map(self.vision_feats[-1], self.feat_sizes[-1])

    def high_res_maps(self) -> list[torch.Tensor]:
        """Return the decoder's high-res features [[1, C0, 4H, 4W], [1, C1, 2H, 2W]]."""
        return [level_map(f, s)
                for f, s in zip(self.vision_feats[:-1], self.feat_sizes[:-1], strict=True)]


def level_map(flat: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """[HW, B, C] -> [B, C, H, W]."""
    return flat.permute(1, 2, 0).reshape(flat.size(1), flat.size(2), *size)


def encode_frames(sam2: SAM2Base, images: torch.Tensor) -> list[SAM2FrameFeatures]:
    """Run the image encoder on preprocessed frames [B, 3, S, S] -> B per-frame features.

    The decoder's conv_s0/conv_s1 project the high-res levels, as ``SAM2Base.forward_image``
    does; ``_prepare_backbone_features`` selects and flattens the levels. Gradients flow only
    into modules in training mode with trainable weights (cached features at inference hold
    no autograd graph).
    """
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[-1] != sam2.image_size \
            or images.shape[-2] != sam2.image_size:
        raise FeatureShapeError(
            f"expected images [B, 3, {sam2.image_size}, {sam2.image_size}], "
            f"got {list(images.shape)}")
    param = next(sam2.image_encoder.parameters())
    trains = sam2.image_encoder.training and param.requires_grad and torch.is_grad_enabled()
    with torch.set_grad_enabled(trains):
        backbone_out = sam2.image_encoder(images.to(param.device, param.dtype))
    if sam2.use_high_res_features_in_sam:
        # As SAM2Base.forward_image; the decoder's conv_s0/conv_s1 train with the decoder
        # (official recipe) even when the trunk is frozen.
        decoder = sam2.sam_mask_decoder
        convs_train = decoder.training and decoder.conv_s0.weight.requires_grad
        with torch.set_grad_enabled(torch.is_grad_enabled() and (trains or convs_train)):
            fpn = backbone_out["backbone_fpn"]
            fpn[0] = decoder.conv_s0(fpn[0])
            fpn[1] = decoder.conv_s1(fpn[1])
    _, feats, pos, sizes = sam2._prepare_backbone_features(backbone_out)
    sizes = [(int(h), int(w)) for h, w in sizes]
    return [
        SAM2FrameFeatures(
            vision_feats=[f[:, b:b + 1].contiguous() for f in feats],
            vision_pos_embeds=[p[:, b:b + 1].contiguous() for p in pos],
            feat_sizes=list(sizes),
        )
        for b in range(images.shape[0])
    ]


def stack_features(features: list[SAM2FrameFeatures]) -> SAM2FrameFeatures:
    """Concatenate frames along the batch dim: per level [HW, N, C]."""
    if not features:
        raise FeatureShapeError("no features to stack")
    sizes = features[0].feat_sizes
    if any(f.feat_sizes != sizes for f in features):
        raise FeatureShapeError("features of different sizes cannot be stacked")
    levels = range(len(sizes))
    return SAM2FrameFeatures(
        vision_feats=[torch.cat([f.vision_feats[i] for f in features], dim=1) for i in levels],
        vision_pos_embeds=[torch.cat([f.vision_pos_embeds[i] for f in features], dim=1)
                           for i in levels],
        feat_sizes=list(sizes),
    )
