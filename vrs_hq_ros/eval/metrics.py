"""Per-frame region (J) and boundary (F) scores, identical to davis2017-evaluation.

J is the Jaccard index (1 when both masks are empty). F is the boundary F-measure of
davis2017-evaluation's ``f_measure``: one-pixel boundaries from ``seg2bmap`` (a pixel differs from
its east, south or south-east neighbour), each boundary dilated (``cv2.dilate``) by skimage's
``disk(bound_pix)`` with ``bound_pix = bound_th`` if ``bound_th >= 1`` else
``ceil(bound_th * ||(H, W)||)`` (a non-integer radius gives skimage's even-sized, off-centre disk),
precision = predicted boundary pixels near the true boundary, recall = the reverse,
F = 2PR / (P + R), with the tool's conventions for empty boundaries. Void pixels (DAVIS label 255)
are removed from both masks before J and F, as davis2017-evaluation does.

R is ReVOS's robustness (VISA ``tools/metrics.py`` ``get_r2vos_robustness``).

Everything is vectorised over a stack of frames ``[T, H, W]``; the dilation runs as one OpenCV call
per chunk of frames stacked vertically with zero rows between them.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def _kept(shape: tuple[int, ...], void: np.ndarray | None) -> np.ndarray | None:
    """Bool ``[T, H, W]`` of the pixels that count (None: all of them)."""
    if void is None:
        return None
    void = as_mask_stack(void, "void")
    if void.shape != shape:
        raise MaskShapeError(f"void {void.shape} and masks {shape} differ in shape")
    return ~void


def jaccard(pred: np.ndarray, gt: np.ndarray, void: np.ndarray | None = None) -> np.ndarray:
    """Region similarity per frame: ``[T]`` float64 (1.0 where both masks are empty).

    ``void``: bool ``[T, H, W]`` pixels that count neither way (davis2017 ``void_pixels``).
    """
    pred, gt = _checked_pair(pred, gt)
    kept = _kept(pred.shape, void)
    inter_px, union_px = pred & gt, pred | gt
    if kept is not None:
        inter_px &= kept
        union_px &= kept
    inter = np.count_nonzero(inter_px, axis=(1, 2))
    union = np.count_nonzero(union_px, axis=(1, 2))
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


def revos_robustness(pred: np.ndarray, gt_count: np.ndarray,
                     foreground: np.ndarray) -> np.ndarray:
    """ReVOS R per frame: ``[T]`` float64, ``max(1 - neg / (|foreground| + 1e-6), 0)``.

    As the official script computes it from the files: the prediction is the 0/255 PNG read back
    (``pred * 255``), ``gt_count`` the uint8 sum of the expression's annotations, and
    ``neg = ((1 - gt_count) * pred).sum()`` in uint8 arithmetic. A false-positive pixel therefore
    weighs 255 (and a pixel covered by n >= 2 annotations n - 1), so R falls to 0 once the
    false positives exceed 1/255 of the video's foreground.
    """
    pred = as_mask_stack(pred, "prediction")
    gt_count = np.asarray(gt_count)
    foreground = np.asarray(foreground)
    if gt_count.ndim == 2:
        gt_count = gt_count[None]
    if foreground.ndim == 2:
        foreground = foreground[None]
    if not pred.shape == gt_count.shape == foreground.shape:
        raise MaskShapeError(f"prediction {pred.shape}, ground truth {gt_count.shape} and "
                             f"foreground {foreground.shape} differ in shape")
    png = pred.astype(np.uint8) * np.uint8(255)
    neg = ((np.uint8(1) - gt_count.astype(np.uint8)) * png).sum(axis=(1, 2))
    pos = foreground.astype(np.uint8).sum(axis=(1, 2))
    return np.maximum(1 - neg / (pos + 1e-6), 0.0)


def boundary_tolerance_px(height: int, width: int, bound_th: float = BOUND_TH) -> float:
    """Disk radius ``bound_pix``: ``bound_th`` if it is >= 1, else ``ceil(bound_th * ||(H, W)||)``.

    Computed with the same numpy calls as davis2017-evaluation, so the radius is the same float.
    """
    if bound_th < 0:
        raise ValueError(f"bound_th must be >= 0, got {bound_th}")
    if bound_th >= 1:
        return bound_th
    return float(np.ceil(bound_th * np.linalg.norm((height, width))))


def disk_kernel(radius: float) -> np.ndarray:
    """Skimage ``disk(radius)`` as uint8: offsets ``arange(-r, r + 1)``, ``x² + y² <= r²``.

    For a non-integer radius the offsets are not symmetric (``disk(2.5)`` is 6 x 6 with a ring of
    zeros), and ``cv2.dilate`` anchors the kernel at ``(size // 2, size // 2)``; both are kept.
    """
    offsets = np.arange(-radius, radius + 1)
    x, y = np.meshgrid(offsets, offsets)
    return np.array((x**2 + y**2) <= radius**2, dtype=np.uint8)


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


def dilate_stack(masks: np.ndarray, radius: float) -> np.ndarray:
    """Dilate every frame of a bool ``[T, H, W]`` stack by ``disk_kernel(radius)`` (``cv2.dilate``).

    Frames are stacked vertically with a kernel height of zero rows between them, so one OpenCV
    call dilates many frames without any frame reaching into the next.
    """
    masks = as_mask_stack(masks)
    t, h, w = masks.shape
    kernel = disk_kernel(radius)
    if t == 0 or (kernel.shape == (1, 1) and kernel[0, 0]):
        return masks.copy()
    pad = kernel.shape[0]
    out = np.empty_like(masks)
    chunk = max(1, _DILATE_CHUNK_PIXELS // ((h + pad) * w))
    for start in range(0, t, chunk):
        block = masks[start:start + chunk]
        n = block.shape[0]
        tall = np.zeros((n, h + pad, w), np.uint8)
        tall[:, :h] = block
        dilated = cv2.dilate(tall.reshape(n * (h + pad), w), kernel)
        out[start:start + n] = dilated.reshape(n, h + pad, w)[:, :h].astype(bool)
    return out


@dataclass
class Boundary:
    """One-pixel boundary ``[T, H, W]`` of a mask stack and its dilation by the F tolerance."""

    bound: np.ndarray
    dilated: np.ndarray

    @classmethod
    def of(cls, masks: np.ndarray, radius: float) -> Boundary:
        """Boundary of bool ``[T, H, W]`` ``masks`` (void removed first), dilated by ``radius``."""
        bound = boundary_map(masks)
        return cls(bound, dilate_stack(bound, radius))


def f_from_boundaries(pred: Boundary, gt: Boundary) -> np.ndarray:
    """F per frame ``[T]`` from precomputed boundaries (lets one mask meet many others)."""
    pred_near_gt = np.count_nonzero(pred.bound & gt.dilated, axis=(1, 2))
    gt_near_pred = np.count_nonzero(gt.bound & pred.dilated, axis=(1, 2))
    n_pred = np.count_nonzero(pred.bound, axis=(1, 2))
    n_gt = np.count_nonzero(gt.bound, axis=(1, 2))

    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(n_pred > 0, pred_near_gt / np.maximum(n_pred, 1), 1.0)
        recall = np.where(n_gt > 0, gt_near_pred / np.maximum(n_gt, 1), 1.0)
        # One boundary empty: the tool scores it P=1,R=0 (or P=0,R=1), i.e. F = 0.
        precision = np.where((n_pred > 0) & (n_gt == 0), 0.0, precision)
        recall = np.where((n_pred == 0) & (n_gt > 0), 0.0, recall)
        denom = precision + recall
        f = np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1.0), 0.0)
    return f.astype(np.float64)


def f_measure(pred: np.ndarray, gt: np.ndarray, bound_th: float = BOUND_TH,
              void: np.ndarray | None = None) -> np.ndarray:
    """Boundary F-measure per frame: ``[T]`` float64, as davis2017-evaluation ``f_measure``.

    Both boundaries empty: 1. Exactly one empty: 0 (precision/recall set to 1/0 or 0/1).
    ``void``: bool ``[T, H, W]`` pixels removed from both masks before their boundaries are taken.
    """
    pred, gt = _checked_pair(pred, gt)
    kept = _kept(pred.shape, void)
    if kept is not None:
        pred, gt = pred & kept, gt & kept
    _, h, w = pred.shape
    radius = boundary_tolerance_px(h, w, bound_th)
    return f_from_boundaries(Boundary.of(pred, radius), Boundary.of(gt, radius))
