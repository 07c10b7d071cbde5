"""COCO run-length encoding of binary masks (pycocotools), in ``mask_dict.json``'s JSON form."""

from __future__ import annotations

import numpy as np
from pycocotools import mask as coco_mask

from vrs_hq_ros.eval.errors import DatasetFormatError, MaskShapeError


def encode_mask(mask_hw: np.ndarray) -> dict:
    """Encode a bool ``[H, W]`` mask as ``{"size": [H, W], "counts": str}`` (JSON-ready)."""
    mask = np.asarray(mask_hw)
    if mask.ndim != 2:
        raise MaskShapeError(f"RLE encodes one [H, W] mask, got shape {mask.shape}")
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    size = [int(rle["size"][0]), int(rle["size"][1])]
    return {"size": size, "counts": rle["counts"].decode("ascii")}


def decode_mask(rle: dict) -> np.ndarray:
    """Decode a COCO RLE (compressed string or uncompressed list counts) to bool ``[H, W]``."""
    return decode_sum(rle).astype(bool)


def decode_sum(rle: dict) -> np.ndarray:
    """Decode a COCO RLE to uint8 ``[H, W]``; stacked RLEs are summed, as the benchmark scripts."""
    try:
        size = [int(v) for v in rle["size"]]
        counts = rle["counts"]
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetFormatError(f"not a COCO RLE (needs size and counts): {rle!r:.80}") from exc
    if isinstance(counts, list):
        # Uncompressed RLE: let pycocotools compress it first.
        rle = coco_mask.frPyObjects({"size": size, "counts": counts}, size[0], size[1])
    elif isinstance(counts, str):
        rle = {"size": size, "counts": counts.encode("ascii")}
    decoded = coco_mask.decode(rle)
    if decoded.ndim == 3:  # several RLEs stacked
        decoded = decoded.sum(axis=2).astype(np.uint8)
    return decoded.astype(np.uint8, copy=False)


def decode_or_empty(rle: dict | None, height: int, width: int) -> np.ndarray:
    """Decode ``rle``; ``None`` (object absent on this frame) gives an all-False ``[H, W]`` mask."""
    if rle is None:
        return np.zeros((height, width), bool)
    mask = decode_mask(rle)
    if mask.shape != (height, width):
        raise MaskShapeError(f"RLE of size {mask.shape} on a {height}x{width} frame")
    return mask
