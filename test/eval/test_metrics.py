"""J and F match davis2017-evaluation on hand-computed cases and on a literal re-implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vrs_hq_ros.eval.errors import MaskShapeError
from vrs_hq_ros.eval.metrics import (
    boundary_map,
    boundary_tolerance_px,
    dilate_stack,
    disk_kernel,
    f_measure,
    jaccard,
)


def square(h: int, w: int, top: int, left: int, side: int) -> np.ndarray:
    mask = np.zeros((h, w), bool)
    mask[top:top + side, left:left + side] = True
    return mask


def literal_f(pred: np.ndarray, gt: np.ndarray, bound_th: float = 0.008) -> float:
    """The definition, pixel by pixel: per-frame loops, Euclidean distance checks, no OpenCV."""
    radius = math.ceil(bound_th * math.hypot(*pred.shape))

    def bmap(seg):
        h, w = seg.shape
        out = np.zeros_like(seg)
        for y in range(h):
            for x in range(w):
                e = seg[y, x + 1] if x + 1 < w else False
                s = seg[y + 1, x] if y + 1 < h else False
                se = seg[y + 1, x + 1] if (x + 1 < w and y + 1 < h) else False
                if y == h - 1 and x == w - 1:
                    out[y, x] = False
                elif y == h - 1:
                    out[y, x] = seg[y, x] != e
                elif x == w - 1:
                    out[y, x] = seg[y, x] != s
                else:
                    out[y, x] = (seg[y, x] != e) or (seg[y, x] != s) or (seg[y, x] != se)
        return out

    def matched(a, b):
        pts_b = np.argwhere(b)
        if len(pts_b) == 0:
            return 0
        return sum(((pts_b - p) ** 2).sum(1).min() <= radius**2 for p in np.argwhere(a))

    pb, gb = bmap(pred), bmap(gt)
    n_p, n_g = pb.sum(), gb.sum()
    if n_p == 0 and n_g == 0:
        return 1.0
    if n_p == 0 or n_g == 0:
        return 0.0
    precision, recall = matched(pb, gb) / n_p, matched(gb, pb) / n_g
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def test_both_empty_scores_one():
    empty = np.zeros((2, 32, 40), bool)

    assert jaccard(empty, empty).tolist() == [1.0, 1.0]
    assert f_measure(empty, empty).tolist() == [1.0, 1.0]


def test_one_empty_scores_zero_either_way():
    gt = square(32, 32, 8, 8, 10)
    empty = np.zeros_like(gt)

    assert jaccard(empty, gt)[0] == 0.0
    assert f_measure(empty, gt)[0] == 0.0
    assert jaccard(gt, empty)[0] == 0.0
    assert f_measure(gt, empty)[0] == 0.0


def test_identical_masks_score_one():
    gt = square(48, 64, 5, 7, 20)

    assert jaccard(gt, gt)[0] == 1.0
    assert f_measure(gt, gt)[0] == 1.0


def test_shifted_square_by_hand():
    # 64x64: tolerance ceil(0.008 * 90.5) = 1 px (a plus-shaped disk). Side-20 square at rows/cols
    # 10..29, prediction 5 px to the right. Each boundary is the 80-pixel ring rows/cols 9 and 29.
    # Predicted boundary pixels within 1 px of the true ring: 17 on the top row (cols 14..30),
    # 17 on the bottom row, 2 on the left column (rows 10 and 28 touch the true rows 9 and 29);
    # 36 / 80 = 0.45 both ways (the geometry is symmetric), so F = 0.45.
    # J: overlap 20 x 15 = 300, union 500.
    gt = square(64, 64, 10, 10, 20)
    pred = square(64, 64, 10, 15, 20)

    assert boundary_map(gt).sum() == 80
    assert f_measure(pred, gt)[0] == pytest.approx(0.45)
    assert jaccard(pred, gt)[0] == pytest.approx(0.6)


def test_tolerance_uses_the_image_diagonal():
    assert boundary_tolerance_px(64, 64) == 1
    assert boundary_tolerance_px(40, 120) == 2  # 0.008 * 126.5 = 1.01 -> 2
    assert boundary_tolerance_px(480, 854) == 8
    assert boundary_tolerance_px(480, 854, bound_th=3) == 3


def test_non_square_image_tolerates_two_pixels():
    # 40x120: radius 2, so a 2 px shift matches every boundary pixel and a 3 px shift does not.
    gt = square(40, 120, 10, 30, 15)

    assert f_measure(np.roll(gt, 2, axis=1), gt)[0] == 1.0
    shifted3 = np.roll(gt, 3, axis=1)
    assert f_measure(shifted3, gt)[0] < 1.0
    assert f_measure(shifted3, gt)[0] == pytest.approx(literal_f(shifted3, gt))


def test_random_masks_match_the_literal_definition():
    rng = np.random.default_rng(3)
    for h, w in [(24, 31), (37, 20)]:
        # Thresholded noise: many small blobs, boundaries everywhere, edge pixels included.
        noise = rng.random((h, w))
        gt = noise > 0.55
        pred = np.roll(noise, (1, 2), axis=(0, 1)) > 0.6

        assert f_measure(pred, gt)[0] == pytest.approx(literal_f(pred, gt))


def test_boundary_touching_the_image_edge_is_scored_like_the_tool():
    # A mask filling the last rows: the bottom row compares only eastwards, the right column only
    # southwards, the corner never counts.
    gt = np.zeros((20, 20), bool)
    gt[15:, 5:] = True
    pred = np.zeros_like(gt)
    pred[14:, 6:] = True

    assert f_measure(pred, gt)[0] == pytest.approx(literal_f(pred, gt))


def test_disk_kernel_is_the_euclidean_disk():
    assert disk_kernel(1).tolist() == [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    assert disk_kernel(2).sum() == 13


def test_stacked_dilation_does_not_leak_between_frames():
    masks = np.zeros((3, 10, 12), bool)
    masks[0, 9, 6] = True  # bottom edge of frame 0: its disk must not reach frame 1's top

    dilated = dilate_stack(masks, 3)

    assert dilated[0].sum() == disk_kernel(3)[:4].sum()  # only the rows inside frame 0
    assert not dilated[1].any() and not dilated[2].any()


def test_batch_equals_frame_by_frame():
    rng = np.random.default_rng(0)
    gt = rng.random((5, 30, 50)) > 0.5
    pred = rng.random((5, 30, 50)) > 0.5

    batch = f_measure(pred, gt)

    assert batch.tolist() == [f_measure(p, g)[0] for p, g in zip(pred, gt, strict=True)]


def test_mismatched_shapes_raise_a_named_error():
    with pytest.raises(MaskShapeError, match="differ in shape"):
        jaccard(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(MaskShapeError, match=r"\[H, W\] or \[T, H, W\]"):
        f_measure(np.zeros(4), np.zeros(4))
