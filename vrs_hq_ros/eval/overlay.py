"""Overlay videos: frames with the predicted mask tinted and outlined (OpenCV, mp4v)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vrs_hq_ros.eval.errors import MaskShapeError

_TINT_BGR = np.array([0, 0, 255], np.float32)  # red
_ALPHA = 0.5


def overlay_frame(rgb: np.ndarray, mask: np.ndarray, caption: str = "") -> np.ndarray:
    """BGR uint8 ``[H, W, 3]``: ``rgb`` with ``mask`` tinted, its contour drawn and a caption."""
    if mask.shape != rgb.shape[:2]:
        raise MaskShapeError(f"mask {mask.shape} on frame {rgb.shape[:2]}")
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    out = bgr.astype(np.float32)
    out[mask] = (1 - _ALPHA) * out[mask] + _ALPHA * _TINT_BGR
    out = out.astype(np.uint8)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, (255, 255, 255), 1)
    if caption:
        cv2.putText(out, caption[:80], (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1,
                    cv2.LINE_AA)
    return out


def write_overlay_video(path: str | Path, frames: list[np.ndarray], masks: list[np.ndarray],
                        fps: float = 10.0, caption: str = "") -> Path:
    """Write an mp4 (mp4v) of the overlays; returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot open a video writer for {path}")
    try:
        for rgb, mask in zip(frames, masks, strict=True):
            writer.write(overlay_frame(rgb, np.asarray(mask, bool), caption))
    finally:
        writer.release()
    return path
