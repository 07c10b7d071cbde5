"""J and F match davis2017-evaluation on hand-computed cases and on a literal re-implementation."""

from __future__ import annotations

import math

import cv2
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
    revos_robustness,
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
    assert boundary_tolerance_px(480, 854, bound_th=2.5) == 2.5  # used as is, not truncated


# skimage 0.26.0 ``disk(r)`` printed for these radii (its offsets are ``arange(-r, r + 1)``).
SKIMAGE_DISKS = {
    1.5: [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]],
    2.5: [[0, 0, 0, 0, 0, 0], [0, 1, 1, 1, 1, 0], [0, 1, 1, 1, 1, 0], [0, 1, 1, 1, 1, 0],
          [0, 1, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0]],
    2.7: [[0, 0, 0, 0, 0, 0, 0], [0, 1, 1, 1, 1, 0, 0], [0, 1, 1, 1, 1, 1, 0],
          [0, 1, 1, 1, 1, 1, 0], [0, 1, 1, 1, 1, 1, 0], [0, 0, 1, 1, 1, 0, 0],
          [0, 0, 0, 0, 0, 0, 0]],
}


@pytest.mark.parametrize("radius", sorted(SKIMAGE_DISKS))
def test_non_integer_disks_are_skimages(radius):
    assert disk_kernel(radius).tolist() == SKIMAGE_DISKS[radius]


# davis2017-evaluation ``f_measure`` (with skimage 0.26.0, OpenCV 4) on the pair below.
OFFICIAL_F = {0.008: 0.17647058823529413, 0.1: 1.0, 1: 0.17647058823529413,
              1.5: 0.11764705882352941, 2: 0.5882352941176471, 2.5: 0.3407707910750507,
              2.7: 0.6320109439124487, 3: 0.9411764705882353}


@pytest.mark.parametrize("bound_th", sorted(OFFICIAL_F))
def test_f_equals_the_official_value_for_every_bound_th(bound_th):
    gt = np.zeros((20, 24), bool)
    gt[5:13, 6:15] = True
    pred = np.zeros_like(gt)
    pred[7:15, 9:18] = True

    assert f_measure(pred, gt, bound_th)[0] == OFFICIAL_F[bound_th]  # to the last bit


def test_even_sized_disk_dilates_off_centre_without_leaking_between_frames():
    masks = np.zeros((2, 8, 8), bool)
    masks[0, 7, 3] = True
    masks[1, 0, 3] = True

    dilated = dilate_stack(masks, 1.5)  # [[1, 1], [1, 1]] inside a 4 x 4 kernel, anchor (2, 2)

    single = [cv2.dilate(m.astype(np.uint8), disk_kernel(1.5)).astype(bool) for m in masks]
    np.testing.assert_array_equal(dilated, np.stack(single))
    assert dilated[0].sum() == 2 and dilated[1].sum() == 4


def test_void_pixels_count_neither_way():
    gt = square(20, 20, 4, 4, 8)
    pred = gt.copy()
    pred[0:2, :] = True  # spurious rows, all of them void
    void = np.zeros_like(gt)
    void[0:2, :] = True

    assert jaccard(pred, gt)[0] < 1.0
    assert jaccard(pred, gt, void[None])[0] == 1.0
    assert f_measure(pred, gt, void=void[None])[0] == 1.0


def test_revos_robustness_by_hand():
    # 16 x 16 frames, foreground 200 px. Frame 0: the prediction covers 3 px annotated twice
    # (n - 1 = 1 each) and nothing outside: neg = 3. Frame 1: 1 false-positive px weighs 255 (the
    # 0/255 PNG): 1 - 255/200 < 0 -> 0. Frame 2: empty prediction -> 1.
    fg = np.zeros((3, 16, 16), np.uint8)
    fg.reshape(3, -1)[:, :200] = 1
    counts = fg.copy()
    counts[0, 0, :3] = 2
    pred = np.zeros((3, 16, 16), bool)
    pred[0, 0, :3] = True
    pred[1] = counts[1] > 0
    pred[1, 15, 15] = True  # outside the foreground's first 200 px

    r = revos_robustness(pred, counts, fg)

    assert r.tolist() == [1 - 3 / (200 + 1e-6), 0.0, 1.0]


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
