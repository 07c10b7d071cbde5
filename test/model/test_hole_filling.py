import torch

from vrs_hq_ros.model.hole_filling import HOLE_SCORE, fill_holes_in_mask_logits


def _ring(hole: int) -> torch.Tensor:
    logits = torch.full((20, 20), -5.0)
    logits[4:16, 4:16] = 3.0
    logits[8:8 + hole, 8:8 + hole] = -2.0  # a background hole of hole*hole px
    return logits


def test_holes_up_to_the_area_are_filled_with_the_small_score():
    filled = fill_holes_in_mask_logits(_ring(2))  # 4 px <= 8
    assert torch.all(filled[8:10, 8:10] == HOLE_SCORE)
    assert torch.all(filled[:4] == -5.0)  # the outer background is one large component


def test_larger_holes_and_foreground_stay():
    logits = _ring(3)  # 9 px > 8
    filled = fill_holes_in_mask_logits(logits)
    assert torch.equal(filled, logits)


def test_diagonal_pixels_join_one_component():
    logits = torch.full((12, 12), 2.0)
    for i in range(3, 8):  # a 5-px diagonal line plus 4 more below: 9 px, 8-connected
        logits[i, i] = -1.0
        if i < 7:
            logits[i + 1, i] = -1.0
    assert torch.equal(fill_holes_in_mask_logits(logits), logits)
    assert (fill_holes_in_mask_logits(logits, max_area=9) == HOLE_SCORE).sum() == 9


def test_batched_logits_and_zero_area():
    batch = torch.stack([_ring(2), _ring(3)])
    filled = fill_holes_in_mask_logits(batch)
    assert filled[0, 8, 8] == HOLE_SCORE and filled[1, 8, 8] == -2.0
    assert torch.equal(fill_holes_in_mask_logits(batch, 0), batch)
