import pytest
import torch

from vrs_hq_ros.tracking.online_tracker import OnlineTracker, TrackerConfig, TrackerError

from .conftest import square_mask


@pytest.fixture
def tracker(sam2):
    return OnlineTracker(sam2, TrackerConfig(max_older_keyframes=2))


def _assert_same_steps(a, b):
    assert [s.frame_index for s in a] == [s.frame_index for s in b]
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x.mask_logits, y.mask_logits)
        assert x.object_score_logit == y.object_score_logit


def test_keyframe_mask_gives_a_visible_object(tracker, frame_features):
    step = tracker.condition(tracker.new_memory(), 0, square_mask(), frame_features[0])
    assert step.visible
    assert step.mask_logits.shape == (16, 16)  # SAM2 low-res output, S/4
    assert 0 < int((step.mask_logits > 0).sum()) < 16 * 16


def test_empty_keyframe_mask_means_not_visible(tracker, frame_features):
    memory = tracker.new_memory()
    empty = torch.zeros(48, 64, dtype=torch.bool)
    step = tracker.condition(memory, 0, empty, frame_features[0])
    assert not step.visible and step.object_score_logit < 0
    assert not bool((step.mask_logits > 0).any())


def test_stepping_without_a_keyframe_is_refused(tracker, frame_features):
    with pytest.raises(TrackerError):
        tracker.step(tracker.new_memory(), 0, frame_features[0])


def test_catch_up_from_a_past_keyframe_equals_stepping_one_by_one(tracker, frame_features):
    feats = frame_features
    # Live track: grounded on frame 0, tracked to frame 11; then a keyframe for frame 4 arrives.
    live = tracker.new_memory()
    tracker.condition(live, 0, square_mask(), feats[0])
    for i in range(1, 12):
        tracker.step(live, i, feats[i])
    new_mask = square_mask(left=13)
    caught_up = tracker.recondition(live, 4, new_mask, feats[4],
                                    [(i, feats[i]) for i in range(5, 12)], keep_keyframes=False)
    # Reference: a fresh bank conditioned on frame 4, stepped frame by frame.
    fresh = tracker.new_memory()
    reference = [tracker.condition(fresh, 4, new_mask, feats[4])]
    reference += [tracker.step(fresh, i, feats[i]) for i in range(5, 12)]
    _assert_same_steps(caught_up, reference)
    assert list(live.keyframes) == [4]


def test_agreeing_keyframe_keeps_older_keyframes_and_catches_up_the_same(tracker, frame_features):
    feats = frame_features
    live = tracker.new_memory()
    tracker.condition(live, 0, square_mask(), feats[0])
    for i in range(1, 12):
        tracker.step(live, i, feats[i])
    caught_up = tracker.recondition(live, 6, square_mask(left=17), feats[6],
                                    [(i, feats[i]) for i in range(7, 12)], keep_keyframes=True)
    assert list(live.keyframes) == [0, 6]
    reference_bank = tracker.new_memory()
    tracker.condition(reference_bank, 0, square_mask(), feats[0])
    reference = [tracker.condition(reference_bank, 6, square_mask(left=17), feats[6])]
    reference += [tracker.step(reference_bank, i, feats[i]) for i in range(7, 12)]
    _assert_same_steps(caught_up, reference)
    # the old keyframe is really read: without it the masks differ
    alone = tracker.new_memory()
    tracker.condition(alone, 6, square_mask(left=17), feats[6])
    differs = [tracker.step(alone, i, feats[i]) for i in range(7, 12)]
    assert any(not torch.equal(a.mask_logits, b.mask_logits)
               for a, b in zip(differs, reference[1:], strict=True))


def test_two_objects_share_an_encoding_and_keep_separate_masks(tracker, frame_features):
    feats = frame_features
    left, right = tracker.new_memory(), tracker.new_memory()
    tracker.condition(left, 0, square_mask(left=0, size=16), feats[0])
    tracker.condition(right, 0, square_mask(left=44, size=16), feats[0])
    for i in range(1, 6):
        a, b = tracker.step(left, i, feats[i]), tracker.step(right, i, feats[i])
        assert not torch.equal(a.mask_logits, b.mask_logits)
    # each bank holds only its own object's memory
    assert not set(map(id, left.tensors())) & set(map(id, right.tensors()))


def test_tracker_refuses_a_model_in_training_mode(sam2):
    sam2.train()
    try:
        with pytest.raises(TrackerError):
            OnlineTracker(sam2)
    finally:
        sam2.eval()
