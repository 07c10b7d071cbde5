"""Letterboxed SAM2 input and hole filling in the tracker (``online_tracker.MaskMapping``)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from vrs_hq_ros.model.sam2_builder import preprocess_frame_padded
from vrs_hq_ros.model.sam2_features import encode_frames
from vrs_hq_ros.tracking.online_tracker import MaskMapping, OnlineTracker, upscale_mask_logits

from .conftest import IMAGE_SIZE, square_mask

HEIGHT, WIDTH = 40, 64  # non-square: a letterboxed SAM2 input is padded below the image


def _iou(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a & b).sum()) / float((a | b).sum())


@pytest.fixture(scope="module")
def padded_features(sam2):
    rgb = np.full((HEIGHT, WIDTH, 3), 40, dtype=np.uint8)
    rgb[8:28, 36:56] = (220, 60, 60)
    return encode_frames(sam2, preprocess_frame_padded(rgb, IMAGE_SIZE)[None])[0]


def test_letterboxed_keyframe_comes_back_where_the_object_is(sam2, padded_features):
    target = square_mask(HEIGHT, WIDTH, top=8, left=36, size=20)  # the object, lower right
    mapping = MaskMapping(padded=True)
    tracker = OnlineTracker(sam2, mapping=mapping)
    step = tracker.condition(tracker.new_memory(), 0, target, padded_features)
    on_frame = mapping.to_frame(step.mask_logits, HEIGHT, WIDTH) > 0
    assert on_frame.shape == (HEIGHT, WIDTH)
    assert _iou(on_frame, target) > 0.9
    # stretching the padded square over the frame instead misplaces it vertically
    assert _iou(MaskMapping().to_frame(step.mask_logits, HEIGHT, WIDTH) > 0, target) < 0.6


def test_letterboxed_mask_input_keeps_the_image_part_and_pads_zeros():
    target = square_mask(HEIGHT, WIDTH, top=8, left=36, size=20)
    sam2_input = MaskMapping(padded=True).to_sam2_input(target, IMAGE_SIZE)[0, 0]
    assert sam2_input.shape == (IMAGE_SIZE, IMAGE_SIZE)
    assert float(sam2_input[HEIGHT:].sum()) == 0.0  # 40 x 64 -> 40 x 64 image, 24 rows pad
    assert _iou(sam2_input[:HEIGHT] > 0, target) == 1.0


def test_square_mask_is_taken_as_sam2_input():
    mask = torch.zeros(IMAGE_SIZE, IMAGE_SIZE, dtype=torch.bool)
    mask[3:9, 50:60] = True
    for mapping in (MaskMapping(), MaskMapping(padded=True)):
        assert torch.equal(mapping.to_sam2_input(mask, IMAGE_SIZE)[0, 0] > 0, mask)


def test_default_mapping_is_the_plain_stretch():
    logits = torch.randn(16, 16)
    assert torch.equal(MaskMapping().to_frame(logits, HEIGHT, WIDTH),
                       upscale_mask_logits(logits, HEIGHT, WIDTH))
    mask = square_mask(HEIGHT, WIDTH, top=8, left=36, size=20)
    stretched = F.interpolate(mask.float()[None, None], size=(IMAGE_SIZE, IMAGE_SIZE),
                              mode="bilinear", align_corners=False, antialias=True) >= 0.5
    assert torch.equal(MaskMapping().to_sam2_input(mask, IMAGE_SIZE) > 0, stretched)


def test_small_holes_are_filled_in_outputs_only_when_asked():
    logits = torch.full((16, 16), 5.0)
    logits[4:6, 4:6] = -5.0  # a 4-pixel hole
    logits[10:16, 0:16] = -5.0  # a 96-pixel background region stays
    filled = MaskMapping(fill_hole_area=8).to_frame(logits, 16, 16)
    assert bool((filled[4:6, 4:6] > 0).all())
    assert bool((filled[11:16] <= 0).all())
    assert bool((MaskMapping().to_frame(logits, 16, 16)[4:6, 4:6] <= 0).all())


def test_mapping_follows_the_model_settings():
    class Release:
        pad_to_square = True
        fill_hole_area = 8

    assert MaskMapping.of(Release()) == MaskMapping(padded=True, fill_hole_area=8)
    assert MaskMapping.of(object()) == MaskMapping()
