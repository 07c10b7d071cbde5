import copy

import pytest
import torch

from vrs_hq_ros.model.keyframe_propagation import clip_around, propagate_from_keyframe
from vrs_hq_ros.model.sam2_features import encode_frames
from vrs_hq_ros.model.sam2_prompting import decode_with_token


@pytest.mark.parametrize("key,num_frames,expected", [
    (0, 8, [0, 1, 2]), (7, 8, [5, 6, 7]), (4, 8, [3, 4, 5]), (1, 2, [0, 1]), (0, 1, [0]),
])
def test_clip_around_keeps_the_keyframe_inside(key, num_frames, expected):
    assert clip_around(key, num_frames, 3) == expected


@pytest.fixture(scope="module")
def seeing_sam2(tiny_sam2):
    sam2 = copy.deepcopy(tiny_sam2)
    with torch.no_grad():
        sam2.sam_mask_decoder.pred_obj_score_head.layers[-1].bias += 3.0
    return sam2


@pytest.fixture(scope="module")
def clip_features(tiny_sam2):
    torch.manual_seed(4)
    return encode_frames(tiny_sam2, torch.randn(3, 3, 128, 128))


def test_keyframe_mask_is_the_prompted_decode_and_neighbours_come_from_memory(
        seeing_sam2, clip_features):
    token = torch.randn(256, requires_grad=True)
    masks = propagate_from_keyframe(seeing_sam2, clip_features, 1, token)
    alone = decode_with_token(seeing_sam2, clip_features[1:2], token, gate_by_object_score=False)
    assert masks.shape == (3, 128, 128)
    torch.testing.assert_close(masks[1], alone.mask_logits[0])
    # neighbours differ from a memory-less decode of the same frame
    no_memory = decode_with_token(seeing_sam2, clip_features[2:3], token)
    assert not torch.allclose(masks[2], no_memory.mask_logits[0])


def test_gradients_flow_to_the_token_through_propagated_frames(seeing_sam2, clip_features):
    token = torch.randn(256, requires_grad=True)
    masks = propagate_from_keyframe(seeing_sam2, clip_features, 0, token)
    masks[2].sum().backward()  # a frame two steps away from the keyframe
    assert token.grad is not None and float(token.grad.abs().sum()) > 0


@pytest.fixture
def training_sam2(tiny_sam2):
    """The random tiny SAM2 (object scores mostly <= 0) in training mode, as training runs."""
    sam2 = copy.deepcopy(tiny_sam2)
    sam2.train()
    return sam2


def test_loss_gradient_reaches_the_token_through_every_propagated_frame(training_sam2):
    torch.manual_seed(5)
    features = encode_frames(training_sam2, torch.randn(5, 3, 128, 128))
    token = torch.randn(256, requires_grad=True)
    masks = propagate_from_keyframe(training_sam2, features, 2, token)
    assert training_sam2.pred_obj_scores  # the switch is restored after each step
    target = torch.zeros_like(masks[0])
    target[32:64, 32:64] = 1
    for idx in (0, 1, 3, 4):
        # a gated frame is the constant -1024: BCE ~1024 and no gradient at all
        bce = torch.nn.functional.binary_cross_entropy_with_logits(masks[idx], target)
        assert float(bce.detach()) < 100
        (grad,) = torch.autograd.grad(bce, token, retain_graph=True)
        assert torch.isfinite(grad).all() and float(grad.abs().sum()) > 0, idx


def test_eval_mode_still_gates_frames_without_an_object(tiny_sam2):
    sam2 = copy.deepcopy(tiny_sam2)
    with torch.no_grad():
        sam2.sam_mask_decoder.pred_obj_score_head.layers[-1].bias -= 20.0  # "absent" everywhere
    torch.manual_seed(5)
    features = encode_frames(sam2, torch.randn(3, 3, 128, 128))
    with torch.no_grad():
        masks = propagate_from_keyframe(sam2, features, 0, torch.zeros(256))
    assert float(masks[0].max()) > -1024.0  # the keyframe itself is never gated
    assert float(masks[1:].max()) == -1024.0
