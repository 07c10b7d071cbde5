import pytest
import torch

from vrs_hq_ros.tracking.batched_step import group_by_layout, shared_frame_attention
from vrs_hq_ros.tracking.online_tracker import OnlineTracker, TrackerError

from .conftest import square_mask

# Batched matrix products may round differently from single ones; nothing else may differ.
TOL = {"atol": 1e-4, "rtol": 1e-4}


@pytest.fixture(params=[True, False], ids=["pointers", "no-pointers"])
def tracker(sam2, request, monkeypatch):
    # the shipped tiny model keeps object pointers out of memory attention (SAM2Config)
    monkeypatch.setattr(sam2, "use_obj_ptrs_in_encoder", request.param)
    return OnlineTracker(sam2)


def _objects(tracker, feats):
    """Five banks: a, b, d grounded on frame 0 and c, e on frame 2 (different masks each)."""
    banks = {name: tracker.new_memory() for name in "abcde"}
    for name, left in (("a", 5), ("b", 30), ("d", 18)):
        tracker.condition(banks[name], 0, square_mask(left=left), feats[0])
    for index in (1, 2):
        for name in "abd":
            tracker.step(banks[name], index, feats[index])
    tracker.condition(banks["c"], 2, square_mask(left=9), feats[2])
    tracker.condition(banks["e"], 2, square_mask(top=20, left=35, size=12), feats[2])
    return banks


def _assert_same_memory(a, b):
    assert a.layout() == b.layout()
    for x, y in zip(a.tensors(), b.tensors(), strict=True):
        torch.testing.assert_close(x, y, **TOL)


def test_batched_steps_equal_stepping_each_object_alone(tracker, frame_features):
    feats = frame_features
    batched = _objects(tracker, feats)
    alone = {name: bank.copy() for name, bank in batched.items()}
    order = list("abcde")
    # Same keyframes share one call, different keyframes get their own.
    assert group_by_layout([batched[n] for n in order]) == [[0, 1, 3], [2, 4]]
    for index in range(3, 10):  # spatial memories fill up (num_maskmem - 1 = 6)
        steps = tracker.step_many([batched[n] for n in order], index, feats[index])
        assert not torch.equal(steps[0].mask_logits, steps[1].mask_logits)  # objects apart
        for name, step in zip(order, steps, strict=True):
            reference = tracker.step(alone[name], index, feats[index])
            assert step.frame_index == index
            torch.testing.assert_close(step.mask_logits, reference.mask_logits, **TOL)
            assert step.object_score_logit == pytest.approx(reference.object_score_logit,
                                                            abs=1e-4)
    for name in order:
        _assert_same_memory(batched[name], alone[name])


def test_batched_step_of_banks_without_keyframe_is_refused(tracker, frame_features):
    with pytest.raises(TrackerError):
        tracker.step_many([tracker.new_memory(), tracker.new_memory()], 0, frame_features[0])


def test_shared_frame_attention_acts_only_inside_its_block(tracker, frame_features):
    attention = tracker.sam2.memory_attention.layers[0].self_attn
    tokens = frame_features[0].vision_feats[-1].shape[0]
    with torch.inference_mode():
        x = torch.randn(2, tokens, attention.embedding_dim)
        with shared_frame_attention(tracker.sam2):
            inside = attention(x, x, v=x)
        outside = attention(x, x, v=x)
    assert torch.equal(inside[1], inside[0])  # item 0's answer for all (identical items only)
    assert not torch.equal(outside[1], outside[0])
