"""Camera frames as the engine receives them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vrs_hq_ros.engine.errors import FrameError


@dataclass(frozen=True)
class Frame:
    """One camera image: ``rgb`` uint8 [H, W, 3], ``stamp_ns`` its capture time in nanoseconds."""

    stamp_ns: int
    rgb: np.ndarray

    def check(self) -> None:
        """Raise ``FrameError`` unless this is a non-empty uint8 [H, W, 3] image."""
        rgb = self.rgb
        if not isinstance(rgb, np.ndarray):
            raise FrameError(f"frame {self.stamp_ns}: rgb must be a numpy array, "
                             f"got {type(rgb).__name__}")
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or 0 in rgb.shape:
            raise FrameError(f"frame {self.stamp_ns}: rgb must be uint8 [H, W, 3], "
                             f"got {rgb.dtype} {list(rgb.shape)}")

    @property
    def size_hw(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        return int(self.rgb.shape[0]), int(self.rgb.shape[1])
