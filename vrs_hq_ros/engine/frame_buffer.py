"""Ring buffer of recent frames with their cached SAM2 features (each frame encoded once)."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Optional

from vrs_hq_ros.engine.frames import Frame
from vrs_hq_ros.model.sam2_features import SAM2FrameFeatures


@dataclass(frozen=True)
class BufferedFrame:
    """A pushed frame, its engine-wide index (0, 1, ...) and its SAM2 features."""

    index: int
    frame: Frame
    features: SAM2FrameFeatures

    @property
    def stamp_ns(self) -> int:
        """Capture time of the frame."""
        return self.frame.stamp_ns


class FrameRingBuffer:
    """The newest ``capacity`` frames, none older than ``max_age_ns`` before the newest.

    Thread-safe: the engine appends on the push thread while the reasoning worker reads.
    """

    def __init__(self, capacity: int, max_age_ns: int):
        self.capacity = capacity
        self.max_age_ns = max_age_ns
        self._frames: deque[BufferedFrame] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def append(self, item: BufferedFrame) -> None:
        """Add the newest frame; evict the oldest beyond capacity or age."""
        with self._lock:
            self._frames.append(item)
            oldest_allowed = item.stamp_ns - self.max_age_ns
            while self._frames[0].stamp_ns < oldest_allowed:
                self._frames.popleft()

    def __len__(self) -> int:
        with self._lock:
            return len(self._frames)

    def newest(self) -> Optional[BufferedFrame]:
        """Return the last appended frame, ``None`` when empty."""
        with self._lock:
            return self._frames[-1] if self._frames else None

    def get(self, index: int) -> Optional[BufferedFrame]:
        """Return the frame with engine index ``index`` if still buffered."""
        with self._lock:
            if not self._frames:
                return None
            position = index - self._frames[0].index
            # indices are consecutive unless age eviction emptied the front; check anyway
            if 0 <= position < len(self._frames) and self._frames[position].index == index:
                return self._frames[position]
            return next((f for f in self._frames if f.index == index), None)

    def after(self, index: int) -> list[BufferedFrame]:
        """Buffered frames with an index greater than ``index``, oldest first."""
        with self._lock:
            return [f for f in self._frames if f.index > index]

    def latest(self, count: int) -> list[BufferedFrame]:
        """Return the newest ``count`` frames (fewer if not buffered), oldest first."""
        with self._lock:
            items = list(self._frames)
        return items[-count:] if count > 0 else []

    def clear(self) -> None:
        """Drop every frame (and the features it holds)."""
        with self._lock:
            self._frames.clear()
