"""Propagate a TAK'-prompted keyframe through a short clip with SAM2's memory (training path).

The official training conditions SAM2 on the keyframe with TAK' and propagates to the frames
around it (forward, then from a reset state backward); the masks of the whole clip are
supervised. Here the keyframe's conditioning output is built from ``decode_with_token`` and
each neighbour runs ``SAM2Base.track_step`` against it, so gradients reach TAK' and the mask
decoder through the memory path too. While SAM2 is in training mode no frame is gated by its
object score (official behaviour): a gated frame's mask is a constant and its gradient zero.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from sam2.modeling.sam2_base import SAM2Base

from vrs_hq_ros.model.sam2_features import SAM2FrameFeatures
from vrs_hq_ros.model.sam2_prompting import decode_with_token, ungated_sam_heads


def clip_around(key: int, num_frames: int, length: int = 3) -> list[int]:
    """``length`` consecutive indices containing ``key``, centred where the range allows."""
    length = min(length, num_frames)
    start = min(max(key - length // 2, 0), num_frames - length)
    return list(range(start, start + length))


@dataclass
class PropagatedClip:
    """``mask_logits`` [N, S, S] and ``object_logits`` [N] of N frames (keyframe prompted)."""

    mask_logits: torch.Tensor
    object_logits: torch.Tensor


def propagate_from_keyframe(sam2: SAM2Base, features: list[SAM2FrameFeatures], key: int,
                            token: torch.Tensor) -> torch.Tensor:
    """Mask logits [N, S, S] of ``propagate_with_scores``."""
    return propagate_with_scores(sam2, features, key, token).mask_logits


def propagate_with_scores(sam2: SAM2Base, features: list[SAM2FrameFeatures], key: int,
                          token: torch.Tensor) -> PropagatedClip:
    """Masks and object scores for N consecutive frames, frame ``key`` prompted with ``token``.

    The keyframe mask is ungated (always carries gradient); the others are SAM2's tracking
    outputs, forward of the keyframe and backward, gated by object score only in eval mode.
    """
    decoded = decode_with_token(sam2, [features[key]], token, gate_by_object_score=False)
    high_res = decoded.mask_logits[:, None]  # [1, 1, S, S]
    object_logits = decoded.object_logits[:, None]
    key_feats = features[key]
    memory, memory_pos = sam2._encode_new_memory(
        current_vision_feats=key_feats.vision_feats, feat_sizes=key_feats.feat_sizes,
        pred_masks_high_res=high_res, object_score_logits=object_logits,
        is_mask_from_pts=True)
    conditioning = {"maskmem_features": memory, "maskmem_pos_enc": memory_pos,
                    "pred_masks": decoded.low_res_logits[:, None], "pred_masks_high_res": high_res,
                    "obj_ptr": decoded.object_pointer, "object_score_logits": object_logits}
    with _decoder_object_scores(sam2) as recorded:
        return _track_both_ways(sam2, features, key, conditioning, decoded.object_logits[0],
                                recorded)


def propagate_from_mask(sam2: SAM2Base, features: list[SAM2FrameFeatures], key: int,
                        mask: torch.Tensor) -> PropagatedClip:
    """Masks and object scores for N frames, frame ``key`` conditioned on ``mask`` [S, S].

    The inference path (official ``add_new_mask``): SAM2 takes the mask as its conditioning
    input on the keyframe and tracks forward and backward from it; training it teaches the
    mask-input path and the memory what the tracker uses at inference.
    """
    key_feats = features[key]
    with _decoder_object_scores(sam2) as recorded:
        with ungated_sam_heads(sam2, ungated=sam2.training):
            conditioning = sam2.track_step(
                frame_idx=key, is_init_cond_frame=True,
                current_vision_feats=key_feats.vision_feats,
                current_vision_pos_embeds=key_feats.vision_pos_embeds,
                feat_sizes=key_feats.feat_sizes, point_inputs=None,
                mask_inputs=mask[None, None].to(key_feats.vision_feats[-1].dtype),
                output_dict={"cond_frame_outputs": {}, "non_cond_frame_outputs": {}},
                num_frames=len(features))
        # the mask is the output as it is given (no decoder run without pointers): present
        key_score = recorded[-1].flatten()[0].float() if recorded else mask.new_tensor(10.0)
        return _track_both_ways(sam2, features, key, conditioning, key_score, recorded)


@contextmanager
def _decoder_object_scores(sam2: SAM2Base) -> Iterator[list[torch.Tensor]]:
    """Record the mask decoder's object-score logits (``track_step`` keeps them only in eval)."""
    recorded: list[torch.Tensor] = []
    hook = sam2.sam_mask_decoder.register_forward_hook(
        lambda _module, _args, output: recorded.append(output[3]))
    try:
        yield recorded
    finally:
        hook.remove()


def _track_both_ways(sam2: SAM2Base, features: list[SAM2FrameFeatures], key: int,
                     conditioning: dict, key_score: torch.Tensor,
                     recorded: list[torch.Tensor]) -> PropagatedClip:
    """Track forward of ``key`` and backward, each from a state holding only the keyframe.

    ``conditioning`` is the keyframe's SAM2 output; ``recorded`` fills with the decoder's
    object scores (``_decoder_object_scores``).
    """
    masks = {key: conditioning["pred_masks_high_res"][0, 0]}
    scores = {key: key_score}
    for reverse, order in ((False, range(key + 1, len(features))),
                           (True, range(key - 1, -1, -1))):
        # each direction starts from a state holding only the keyframe, as the official code
        state = {"cond_frame_outputs": {key: conditioning}, "non_cond_frame_outputs": {}}
        for idx in order:
            recorded.clear()
            feats = features[idx]
            with ungated_sam_heads(sam2, ungated=sam2.training):
                out = sam2.track_step(
                    frame_idx=idx, is_init_cond_frame=False,
                    current_vision_feats=feats.vision_feats,
                    current_vision_pos_embeds=feats.vision_pos_embeds,
                    feat_sizes=feats.feat_sizes, point_inputs=None, mask_inputs=None,
                    output_dict=state, num_frames=len(features), track_in_reverse=reverse)
            state["non_cond_frame_outputs"][idx] = out
            masks[idx] = out["pred_masks_high_res"][0, 0]
            scores[idx] = recorded[-1].flatten()[0].float()
    order = range(len(features))
    return PropagatedClip(torch.stack([masks[i] for i in order]),
                          torch.stack([scores[i] for i in order]))
