"""A goal's 3D point from its mask, a depth image and the depth camera's intrinsics (numpy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class CameraInfoError(ValueError):
    """camera_info has no usable intrinsics (zero focal length or zero size)."""


@dataclass(frozen=True)
class PinholeIntrinsics:
    """Pinhole model of the depth image: focal lengths and principal point in pixels."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_camera_info(cls, info) -> PinholeIntrinsics:
        """From a ``sensor_msgs/CameraInfo`` (row-major K = [fx 0 cx; 0 fy cy; 0 0 1])."""
        k = [float(v) for v in info.k]
        if len(k) != 9 or k[0] <= 0 or k[4] <= 0 or info.width == 0 or info.height == 0:
            raise CameraInfoError(f"camera_info has no usable intrinsics: K={k}, "
                                  f"size {info.width}x{info.height}")
        return cls(fx=k[0], fy=k[4], cx=k[2], cy=k[5], width=int(info.width),
                   height=int(info.height))


def mask_point_m(mask_hw: np.ndarray, depth_m: np.ndarray,
                 intrinsics: PinholeIntrinsics) -> tuple[float, float, float] | None:
    """Return the object's 3D point (x, y, z metres, depth optical frame), or None.

    The mask ``[H, W]`` (colour image size) is sampled onto the depth grid ``[h, w]`` by
    nearest neighbour, assuming both images cover the same field of view (registered depth).
    z is the median valid depth inside the mask (robust to edge pixels that hit the
    background); x, y back-project the mask's centroid on the depth grid at that z.
    """
    h, w = depth_m.shape
    rows = (np.arange(h) * mask_hw.shape[0] // h)
    cols = (np.arange(w) * mask_hw.shape[1] // w)
    on_depth = mask_hw[rows[:, None], cols[None, :]]
    ys, xs = np.nonzero(on_depth)
    if ys.size == 0:
        return None
    z_values = depth_m[ys, xs]
    valid = np.isfinite(z_values)
    if not valid.any():
        return None
    z = float(np.median(z_values[valid]))
    # Intrinsics belong to camera_info's resolution; scale them if the depth image differs.
    sx, sy = w / intrinsics.width, h / intrinsics.height
    u, v = float(xs.mean()), float(ys.mean())
    x = (u - intrinsics.cx * sx) * z / (intrinsics.fx * sx)
    y = (v - intrinsics.cy * sy) * z / (intrinsics.fy * sy)
    return x, y, z
