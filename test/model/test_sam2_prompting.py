import copy

import pytest
import torch

from vrs_hq_ros.model.sam2_features import encode_frames, stack_features
from vrs_hq_ros.model.sam2_prompting import (
    PromptShapeError,
    decode_with_token,
    memoryless_pixel_features,
    resize_mask_logits,
)


def _with_object_bias(sam2, bias):
    """A copy of SAM2 whose object-score head is shifted (random init scores ~ -0.05)."""
    shifted = copy.deepcopy(sam2)
    with torch.no_grad():
        shifted.sam_mask_decoder.pred_obj_score_head.layers[-1].bias += bias
    return shifted


@pytest.fixture(scope="module")
def frame_features(tiny_sam2):
    torch.manual_seed(2)
    return encode_frames(tiny_sam2, torch.randn(3, 3, 128, 128))


def _reference(sam2, feats, token, monkeypatch):
    """SAM2's own _forward_sam_heads on one frame, its prompt encoder output + [TAK]."""
    encoder = sam2.sam_prompt_encoder
    original = encoder.forward
    seen = {}

    def with_token(*args, **kwargs):
        sparse, dense = original(*args, **kwargs)
        seen["sparse"] = sparse.shape
        return torch.cat([sparse, token[None, None]], dim=1), dense

    monkeypatch.setattr(encoder, "forward", with_token)
    pix = sam2._prepare_memory_conditioned_features(
        frame_idx=0, is_init_cond_frame=True, current_vision_feats=feats.vision_feats[-1:],
        current_vision_pos_embeds=feats.vision_pos_embeds[-1:], feat_sizes=feats.feat_sizes[-1:],
        output_dict={"cond_frame_outputs": {}, "non_cond_frame_outputs": {}}, num_frames=1)
    out = sam2._forward_sam_heads(backbone_features=pix, point_inputs=None, mask_inputs=None,
                                  high_res_features=feats.high_res_maps(), multimask_output=False)
    monkeypatch.setattr(encoder, "forward", original)
    return out, seen["sparse"]


@torch.no_grad()
@pytest.mark.parametrize("object_bias", [3.0, -3.0])
def test_batched_decoding_equals_sam2_forward_sam_heads(tiny_sam2, frame_features, monkeypatch,
                                                       object_bias):
    sam2 = _with_object_bias(tiny_sam2, object_bias)
    torch.manual_seed(3)
    tokens = torch.randn(3, 256)

    ours = decode_with_token(sam2, frame_features, tokens)

    # +3: real masks and pointers; -3: SAM2's no-object fill and no-object pointer
    assert bool((ours.object_logits > 0).all()) == (object_bias > 0)
    for i, feats in enumerate(frame_features):
        ref, sparse_shape = _reference(sam2, feats, tokens[i], monkeypatch)
        _, _, ious, low_res, high_res, obj_ptr, object_logits = ref
        assert sparse_shape == (1, 2, 256)  # dummy point + padding point, then [TAK]
        torch.testing.assert_close(ours.mask_logits[i], high_res[0, 0], atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(ours.low_res_logits[i], low_res[0, 0], atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(ours.object_logits[i], object_logits[0, 0], atol=1e-5,
                                   rtol=1e-5)
        torch.testing.assert_close(ours.iou[i], ious[0, 0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(ours.object_pointer[i], obj_ptr[0], atol=1e-5, rtol=1e-5)
    if object_bias > 0:
        assert float(ours.mask_logits.std()) > 0


@torch.no_grad()
def test_gating_fills_no_object_frames_and_keeps_the_others(tiny_sam2, frame_features):
    token = torch.randn(256)
    for bias, seen in ((3.0, True), (-3.0, False)):
        sam2 = _with_object_bias(tiny_sam2, bias)
        gated = decode_with_token(sam2, frame_features, token)
        raw = decode_with_token(sam2, frame_features, token, gate_by_object_score=False)
        assert bool((gated.object_logits > 0).all()) == seen
        if seen:
            assert torch.equal(gated.mask_logits, raw.mask_logits)
        else:
            assert bool((gated.mask_logits == -1024.0).all())
            assert float(raw.mask_logits.std()) > 0


def test_memoryless_frames_get_no_mem_embed_added(tiny_sam2, frame_features):
    stacked = stack_features(frame_features)
    pix = memoryless_pixel_features(tiny_sam2, stacked)
    top = frame_features[1].vision_feats[-1][:, 0] + tiny_sam2.no_mem_embed[0, 0]  # [HW, C]
    torch.testing.assert_close(pix[1].flatten(1).T, top)


def test_a_single_token_is_shared_by_all_frames(tiny_sam2, frame_features):
    token = torch.randn(256)
    shared = decode_with_token(tiny_sam2, frame_features, token)
    explicit = decode_with_token(tiny_sam2, frame_features, token[None].expand(3, -1))
    assert torch.equal(shared.object_logits, explicit.object_logits)


def test_wrong_token_shape_raises(tiny_sam2, frame_features):
    with pytest.raises(PromptShapeError):
        decode_with_token(tiny_sam2, frame_features, torch.zeros(2, 256))


def test_mask_logits_resize_to_the_source_resolution():
    logits = torch.zeros(128, 128)
    logits[:64] = 5.0
    out = resize_mask_logits(logits, 30, 50)
    assert out.shape == (30, 50)
    assert bool((out[:14] > 0).all()) and bool((out[16:] == 0).all())
