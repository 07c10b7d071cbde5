"""Ground truth from palette PNGs (DAVIS, Ref-YouTube-VOS): pixel value = object id, 255 = void."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from vrs_hq_ros.eval.errors import DatasetFormatError
from vrs_hq_ros.eval.records import Expression, Video

VOID_LABEL = 255  # davis2017-evaluation: left out of J and F


@dataclass
class PaletteGroundTruth:
    """``<annotations_dir>/<video>/<frame>.png`` with object ids; no PNG: all background."""

    annotations_dir: Path
    void_label: int | None = VOID_LABEL
    _cache: tuple[str, np.ndarray] | None = field(default=None, repr=False, compare=False)

    def labels(self, video: Video) -> np.ndarray:
        """Uint8 ``[T, H, W]`` palette indices (not colours) of every frame (last video cached)."""
        if self._cache is not None and self._cache[0] == video.name:
            return self._cache[1]
        h, w = video.frame_size()
        out = np.zeros((len(video.frame_names), h, w), np.uint8)
        for i, frame in enumerate(video.frame_names):
            path = self.annotations_dir / video.name / f"{frame}.png"
            if not path.is_file():
                continue
            labels = np.array(Image.open(path))
            if labels.shape != (h, w):
                raise DatasetFormatError(f"{path} is {labels.shape}, frames are {(h, w)}")
            out[i] = labels
        self._cache = (video.name, out)
        return out

    def masks(self, video: Video, expression: Expression) -> np.ndarray:
        """Bool ``[T, H, W]``: pixels whose label is one of the expression's object ids."""
        if not expression.obj_ids:
            raise DatasetFormatError(f"{video.name}/{expression.exp_id} has no obj_id")
        return np.isin(self.labels(video), expression.obj_ids)

    def void(self, video: Video) -> np.ndarray | None:
        """Bool ``[T, H, W]`` void pixels (label 255), None when the set has no void label."""
        if self.void_label is None:
            return None
        return self.labels(video) == self.void_label
