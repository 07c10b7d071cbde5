import numpy as np

from vrs_hq_ros.engine.offline import segment_clip


def test_offline_returns_a_mask_for_every_frame_around_the_keyframe(model, clip):
    frames = clip[:12]
    reasoning = model.reason(frames, "the red square")
    key = reasoning.keyframe_index
    masks = segment_clip(model, frames, "the red square")
    assert len(masks) == len(frames)
    assert all(m.dtype == bool and m.shape == frames[0].shape[:2] for m in masks)
    assert 0 < key < len(frames) - 1, "pick a clip whose keyframe has frames on both sides"
    assert all(m.any() for m in masks[:key]), "backward propagation left frames empty"
    assert all(m.any() for m in masks[key + 1:]), "forward propagation left frames empty"
    # The keyframe's result is the reasoning's mask passed through SAM2's S/4 output grid:
    # thin parts may vanish, nothing outside it appears.
    reasoned = (reasoning.keyframe_mask_logits > 0).numpy()
    inside = (masks[key] & reasoned).sum() / masks[key].sum()
    assert masks[key].any() and inside > 0.9


def test_offline_is_deterministic(model, clip):
    a = segment_clip(model, clip[:6], "the red square")
    b = segment_clip(model, clip[:6], "the red square")
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
