import numpy as np
import pytest

from vrs_hq_ros.train.synthetic import COLOURS, make_clip


def test_the_same_seed_gives_the_same_clip_and_another_seed_does_not():
    a, b, c = make_clip(3), make_clip(3), make_clip(4)

    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(a.masks, b.masks)
    assert a.sentence == b.sentence
    assert not np.array_equal(a.frames, c.frames)


def test_masks_cover_exactly_the_visible_target_pixels():
    clip = make_clip(7, num_frames=10, size=96)
    colour = np.array(COLOURS[clip.target.colour], np.uint8)

    assert clip.frames.shape == (10, 96, 96, 3) and clip.masks.shape == (10, 96, 96)
    assert clip.masks.any(axis=(1, 2)).all()
    for frame, mask in zip(clip.frames, clip.masks, strict=True):
        assert (frame[mask] == colour).all()
        # The background noise never reaches the target colour's value in every channel.
        assert not (frame[~mask] == colour).all(axis=-1).any()
    assert clip.sentence == f"the {clip.target.colour} {clip.target.shape}"


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError):
        make_clip(0, num_frames=0)
