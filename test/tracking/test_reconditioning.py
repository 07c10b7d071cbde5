import torch

from vrs_hq_ros.tracking.reconditioning import KeyframeDecision, decide, mask_iou

from .conftest import square_mask


def test_iou_of_shifted_squares():
    a, b = square_mask(left=0), square_mask(left=10)
    assert mask_iou(a, b) == (20 * 10) / (20 * 30)
    assert mask_iou(torch.zeros(4, 4, dtype=torch.bool), torch.zeros(4, 4, dtype=torch.bool)) == 1


def test_iou_resizes_the_track_mask_to_the_keyframe_size():
    low_res = torch.zeros(16, 16, dtype=torch.bool)
    low_res[4:8, 4:8] = True
    full = torch.zeros(64, 64, dtype=torch.bool)
    full[16:32, 16:32] = True
    assert mask_iou(full, low_res) == 1.0


def test_decisions():
    key = square_mask()
    assert decide(torch.zeros_like(key), key, 0.5)[0] is KeyframeDecision.EMPTY
    assert decide(key, None, 0.5)[0] is KeyframeDecision.START
    assert decide(key, square_mask(left=7), 0.5)[0] is KeyframeDecision.AGREE
    decision, iou = decide(key, square_mask(left=40), 0.5)
    assert decision is KeyframeDecision.DISAGREE and iou == 0.0
