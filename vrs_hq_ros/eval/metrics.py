"""Per-frame region (J) and boundary (F) scores, identical to davis2017-evaluation.

J is the Jaccard index (1 when both masks are empty). F is the boundary F-measure of
davis2017-evaluation's ``f_measure``: one-pixel boundaries from ``seg2bmap`` (a pixel differs from
its east, south or south-east neighbour), each boundary dilated by a disk of radius
``ceil(bound_th * ||(H, W)||)`` px, precision = predicted boundary pixels near the true boundary,
recall = the reverse, F = 2PR / (P + R), with the tool's conventions for empty boundaries.

Everything is vectorised over a stack of frames ``[T, H, W]``; the dilation runs as one OpenCV call
per chunk of frames stacked vertically with zero rows between them.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from vrs_hq_ros.eval.errors import MaskShapeError

BOUND_TH = 0.008  # davis2017-evaluation default, used by ReVOS, MeViS and Ref-DAVIS17
_DILATE_CHUNK_PIXELS = 64 * 480 * 854  # frames per OpenCV call: bounded scratch memory


def as_mask_stack(masks: np.ndarray, name: str = "masks") -> np.ndarray:
    """Return ``masks`` as bool ``[T, H, W]`` (a single ``[H, W]`` mask becomes ``T = 1``)."""
    array = np.asarray(masks)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise MaskShapeError(f"{name} must be [H, W] or [T, H, W], got shape {array.shape}")
    return array.astype(bool, copy=False)


def _checked_pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = as_mask_stack(pred, "prediction")
    gt = as_mask_stack(gt, "ground truth")
    if pred.shape != gt.shape:
        raise MaskShapeError(f"prediction {pred.shape} and ground truth {gt.shape} differ in shape")
    return pred, gt


def jaccard(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Region similarity per frame: ``[T]`` float64 (1.0 where both masks are empty)."""
    pred, gt = _checked_pair(pred, gt)
    inter = np.count_nonzero(pred & gt, axis=(1, 2))
    union = np.count_nonzero(pred | gt, axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        j = inter / union
    j[union == 0] = 1.0
    return j


def pixel_accuracy(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Fraction of pixels where prediction and ground truth agree, per frame: ``[T]``.

    The ReVOS "A" metric on binary masks (the official script compares the 0/255 PNG with the 0/1
    ground truth, which undercounts agreeing foreground; this is the intended quantity).
    """
    pred, gt = _checked_pair(pred, gt)
    return np.mean(pred == gt, axis=(1, 2))


def boundary_tolerance_px(height: int, width: int, bound_th: float = BOUND_TH) -> int:
    """Dilation radius: ``bound_th`` px if it is >= 1, else ``ceil(bound_th * ||(H, W)||)``."""
    if bound_th >= 1:
        return int(bound_th)
    return int(math.ceil(bound_th * math.hypot(height, width)))


def disk_kernel(radius: int) -> np.ndarray:
    """Structuring element ``[2r+1, 2r+1]`` uint8: ``dx² + dy² <= r²`` (as skimage ``disk``)."""
    offsets = np.arange(-radius, radius + 1)
    return (offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius**2).astype(np.uint8)


def boundary_map(masks: np.ndarray) -> np.ndarray:
    """One-pixel boundaries ``[T, H, W]`` bool, as ``seg2bmap`` (half a pixel toward the origin)."""
    seg = as_mask_stack(masks)
    east = np.zeros_like(seg)
    south = np.zeros_like(seg)
    south_east = np.zeros_like(seg)
    east[:, :, :-1] = seg[:, :, 1:]
    south[:, :-1, :] = seg[:, 1:, :]
    south_east[:, :-1, :-1] = seg[:, 1:, 1:]
    bmap = (seg ^ east) | (seg ^ south) | (seg ^ south_east)
    # The last row and column only compare along the image border, and the corner never counts.
    bmap[:, -1, :] = seg[:, -1, :] ^ east[:, -1, :]
    bmap[:, :, -1] = seg[:, :, -1] ^ south[:, :, -1]
    bmap[:, -1, -1] = False
    return bmap


def dilate_stack(masks: np.ndarray, radius: int) -> np.ndarray:
    """Dilate every frame of a bool ``[T, H, W]`` stack by a disk of ``radius`` px.

    Frames are stacked vertically with ``radius`` zero rows between them, so one OpenCV call
    dilates many frames without any frame reaching into the next.
    """
    masks = as_mask_stack(masks)
    t, h, w = masks.shape
    if radius <= 0 or t == 0:
        return masks.copy()
    kernel = disk_kernel(radius)
    out = np.empty_like(masks)
    chunk = max(1, _DILATE_CHUNK_PIXELS // ((h + radius) * w))
    for start in range(0, t, chunk):
        block = masks[start:start + chunk]
        n = block.shape[0]
        tall = np.zeros((n, h + radius, w), np.uint8)
        tall[:, :h] = block
        dilated = cv2.dilate(tall.reshape(n * (h + radius), w), kernel)
        out[start:start + n] = dilated.reshape(n, h + radius, w)[:, :h].astype(bool)
    return out


def f_measure(pred: np.ndarray, gt: np.ndarray, bound_th: float = BOUND_TH) -> np.ndarray:
    """Boundary F-measure per frame: ``[T]`` float64, as davis2017-evaluation ``f_measure``.

    Both boundaries empty: 1. Exactly one empty: 0 (precision/recall set to 1/0 or 0/1).
    """
    pred, gt = _checked_pair(pred, gt)
    _, h, w = pred.shape
    radius = boundary_tolerance_px(h, w, bound_th)
    pred_bound = boundary_map(pred)
    gt_bound = boundary_map(gt)
    pred_near_gt = np.count_nonzero(pred_bound & dilate_stack(gt_bound, radius), axis=(1, 2))
    gt_near_pred = np.count_nonzero(gt_bound & dilate_stack(pred_bound, radius), axis=(1, 2))
    n_pred = np.count_nonzero(pred_bound, axis=(1, 2))
    n_gt = np.count_nonzero(gt_bound, axis=(1, 2))

    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(n_pred > 0, pred_near_gt / np.maximum(n_pred, 1), 1.0)
        recall = np.where(n_gt > 0, gt_near_pred / np.maximum(n_gt, 1), 1.0)
        # One boundary empty: the tool scores it P=1,R=0 (or P=0,R=1), i.e. F = 0.
        precision = np.where((n_pred > 0) & (n_gt == 0), 0.0, precision)
        recall = np.where((n_pred == 0) & (n_gt > 0), 0.0, recall)
        denom = precision + recall
        f = np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1.0), 0.0)
    return f.astype(np.float64)
