"""SAM2's mask decoder prompted with the fused [TAK] token, on cached frame features.

Token layout of the official video path: with no clicks SAM2 pads one dummy point labelled -1
and the prompt encoder adds one padding point, giving two "not-a-point" sparse tokens; VRS-HQ
appends TAK' as a third. Dense prompt = ``no_mask_embed``; ``multimask_output=False``.
A frame without memory is conditioned as ``SAM2Base`` conditions an initial frame
(``no_mem_embed`` added to its top-level features).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from sam2.modeling.sam2_base import NO_OBJ_SCORE, SAM2Base

from vrs_hq_ros.model.sam2_features import SAM2FrameFeatures, level_map, stack_features


class PromptShapeError(ValueError):
    """The prompt tokens do not match the frames or SAM2's prompt width."""


@dataclass
class PromptedMasks:
    """Decoder outputs for N frames.

    ``mask_logits`` [N, S, S] at SAM2's input size, ``low_res_logits`` [N, S/4, S/4],
    ``object_logits`` [N] (>0: object present), ``iou`` [N], ``object_pointer`` [N, 256]
    (SAM2's pointer for the memory attention, with its no-object handling).
    """

    mask_logits: torch.Tensor
    low_res_logits: torch.Tensor
    object_logits: torch.Tensor
    iou: torch.Tensor
    object_pointer: torch.Tensor


def sparse_prompt_with_token(sam2: SAM2Base, token: torch.Tensor
                             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokens [N, 256] -> (sparse [N, 3, 256], dense [N, 256, h, w]) in the official layout."""
    n, device = token.shape[0], token.device
    coords = torch.zeros(n, 1, 2, device=device)
    labels = -torch.ones(n, 1, dtype=torch.int32, device=device)
    sparse, dense = sam2.sam_prompt_encoder(points=(coords, labels), boxes=None, masks=None)
    sparse = torch.cat([sparse, token[:, None].to(sparse.dtype)], dim=1)
    return sparse, dense


def memoryless_pixel_features(sam2: SAM2Base, stacked: SAM2FrameFeatures) -> torch.Tensor:
    """Top-level features of N frames conditioned as initial frames -> [N, 256, H, W]."""
    return sam2._prepare_memory_conditioned_features(
        frame_idx=0, is_init_cond_frame=True,
        current_vision_feats=stacked.vision_feats[-1:],
        current_vision_pos_embeds=stacked.vision_pos_embeds[-1:],
        feat_sizes=stacked.feat_sizes[-1:], output_dict={}, num_frames=1)


def decode_with_token(sam2: SAM2Base, features: list[SAM2FrameFeatures], token: torch.Tensor,
                      gate_by_object_score: Optional[bool] = None) -> PromptedMasks:
    """Decode N frames in one batch, each prompted with ``token`` ([256] shared, or [N, 256]).

    With ``gate_by_object_score`` (SAM2's inference behaviour) frames whose object logit is
    <= 0 get constant "no object" mask logits and the no-object pointer. ``None`` gates only
    outside training, as the official VRS-HQ code: gated masks carry no gradient.
    """
    if gate_by_object_score is None:
        gate_by_object_score = not sam2.training
    n = len(features)
    if token.ndim == 1:
        token = token[None].expand(n, -1)
    if token.shape != (n, sam2.sam_prompt_embed_dim):
        raise PromptShapeError(f"expected tokens [{n}, {sam2.sam_prompt_embed_dim}], "
                               f"got {list(token.shape)}")
    stacked = stack_features(features)
    pix_feat = memoryless_pixel_features(sam2, stacked)
    high_res = [level_map(f, s) for f, s in
                zip(stacked.vision_feats[:-1], stacked.feat_sizes[:-1], strict=True)]
    sparse, dense = sparse_prompt_with_token(sam2, token.to(pix_feat.dtype))
    low_res, iou, out_tokens, object_logits = sam2.sam_mask_decoder(
        image_embeddings=pix_feat, image_pe=sam2.sam_prompt_encoder.get_dense_pe(),
        sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
        multimask_output=False, repeat_image=False, high_res_features=high_res or None)
    if gate_by_object_score and sam2.pred_obj_scores:
        low_res = torch.where(object_logits[:, :, None, None] > 0, low_res, NO_OBJ_SCORE)
    low_res = low_res.float()
    high = F.interpolate(low_res, size=(sam2.image_size, sam2.image_size), mode="bilinear",
                         align_corners=False)
    return PromptedMasks(mask_logits=high[:, 0], low_res_logits=low_res[:, 0],
                         object_logits=object_logits[:, 0].float(), iou=iou[:, 0].float(),
                         object_pointer=_object_pointer(sam2, out_tokens[:, 0], object_logits,
                                                        gate_by_object_score))


def _object_pointer(sam2: SAM2Base, token: torch.Tensor, object_logits: torch.Tensor,
                    gated: bool) -> torch.Tensor:
    """SAM2's pointer from the output token [N, 256], as ``_forward_sam_heads`` derives it.

    ``gated`` mixes in the no-object pointer by the object score (inference only).
    """
    pointer = sam2.obj_ptr_proj(token)
    if gated and sam2.pred_obj_scores:
        appearing = (object_logits > 0).to(pointer.dtype)
        if sam2.soft_no_obj_ptr:
            appearing = object_logits.sigmoid().to(pointer.dtype)
        if sam2.fixed_no_obj_ptr:
            pointer = appearing * pointer
        pointer = pointer + (1 - appearing) * sam2.no_obj_ptr
    return pointer


@contextlib.contextmanager
def ungated_sam_heads(sam2: SAM2Base, ungated: bool = True) -> Iterator[None]:
    """Within the block, ``SAM2Base`` neither gates masks nor mixes the no-object pointer.

    ``_forward_sam_heads`` gates unconditionally (mask logits -> -1024 when the object score
    is <= 0, which zeroes the gradient of that frame); the official VRS-HQ applies both only
    when not training. Switching ``pred_obj_scores`` off for the call does exactly that: the
    decoder still predicts object scores (its own flag), the memory encoder still reads them.
    """
    saved = sam2.pred_obj_scores
    if ungated:
        sam2.pred_obj_scores = False
    try:
        yield
    finally:
        sam2.pred_obj_scores = saved


def resize_mask_logits(logits: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """[S, S] or [N, S, S] -> source resolution, bilinear as SAM2's video predictor does."""
    squeeze = logits.ndim == 2
    batch = logits[None, None] if squeeze else logits[:, None]
    out = F.interpolate(batch, size=(height, width), mode="bilinear", align_corners=False)
    return out[0, 0] if squeeze else out[:, 0]
