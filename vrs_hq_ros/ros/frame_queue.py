"""Bounded hand-over of camera frames from the image callback to the processing thread.

The image callback must never wait for the model, so ``put`` never blocks: when the queue
is full one frame is dropped, chosen by the policy, and counted. ``drop_oldest`` (default,
"latest frame wins") keeps the newest frames, which is what a live robot wants;
``drop_newest`` keeps the frames already queued (a gap-free prefix, for replays).
"""

from __future__ import annotations

import collections
import enum
import statistics
import threading
from dataclasses import dataclass, field

import numpy as np


class QueuePolicy(str, enum.Enum):
    """Which frame a full queue gives up."""

    DROP_OLDEST = "drop_oldest"
    DROP_NEWEST = "drop_newest"


@dataclass
class QueuedFrame:
    """A converted camera frame waiting for the engine."""

    stamp_ns: int  # the source image's header stamp
    rgb: np.ndarray  # uint8 [H, W, 3]
    header: object  # the source std_msgs/Header, copied onto every output
    received_s: float  # time.monotonic() when the callback got it (for latency)
    extras: dict = field(default_factory=dict)


class FrameQueue:
    """Thread-safe bounded FIFO of ``QueuedFrame`` with counted drops."""

    def __init__(self, depth: int = 1, policy: QueuePolicy | str = QueuePolicy.DROP_OLDEST):
        if depth < 1:
            raise ValueError(f"queue depth must be >= 1, got {depth}")
        self.depth = depth
        self.policy = QueuePolicy(policy)
        self._frames: collections.deque[QueuedFrame] = collections.deque()
        self._ready = threading.Condition()
        self._closed = False
        self.dropped = 0
        self.max_seen = 0  # the largest length ever reached (the bound is checked in tests)

    def put(self, frame: QueuedFrame) -> QueuedFrame | None:
        """Queue ``frame`` without blocking; returns the frame dropped to make room, if any."""
        with self._ready:
            if self._closed:
                return frame
            dropped = None
            if len(self._frames) >= self.depth:
                self.dropped += 1
                if self.policy is QueuePolicy.DROP_NEWEST:
                    return frame
                dropped = self._frames.popleft()
            self._frames.append(frame)
            self.max_seen = max(self.max_seen, len(self._frames))
            self._ready.notify()
            return dropped

    def get(self, timeout_s: float | None = None) -> QueuedFrame | None:
        """Pop the oldest queued frame, waiting up to ``timeout_s``; None on timeout or close."""
        with self._ready:
            self._ready.wait_for(lambda: self._frames or self._closed, timeout_s)
            if self._closed or not self._frames:
                return None
            return self._frames.popleft()

    def clear(self) -> int:
        """Forget queued frames (not counted as drops); returns how many there were."""
        with self._ready:
            count = len(self._frames)
            self._frames.clear()
            return count

    def close(self) -> None:
        """Wake every waiting ``get`` and refuse further frames."""
        with self._ready:
            self._closed = True
            self._frames.clear()
            self._ready.notify_all()

    def __len__(self) -> int:
        with self._ready:
            return len(self._frames)


class StampGapCounter:
    """Estimates frames lost before the image callback from gaps between header stamps.

    Middleware losses (a best-effort reader dropping fragments, a full reader history)
    happen before any callback, so no counter in the node sees them. A camera stamps at a
    steady period, and a step of ``k`` periods means ``k - 1`` frames never arrived. The
    period is the median of the recent steps, a gap entering as ``k`` steps of its mean: the
    median stays put under stamp jitter (+-25 % here with a Python publisher) and under a
    publisher that fell behind and sends the late frames back to back (stamped at sending).
    Frames missing after a gap are confirmed by the next regular step; each burst step in
    between stands for one of them arriving late instead. Stamps that go back (a replay
    restarting) reset the estimate. When most frames are lost from the start, no step shows
    the period: an underestimate.
    """

    def __init__(self, history: int = 31):
        self._steps: collections.deque[int] = collections.deque(maxlen=history)
        self._last_ns: int | None = None
        self._pending = 0  # missing after the last gap, not yet confirmed
        self._lock = threading.Lock()
        self.lost = 0

    def add(self, stamp_ns: int) -> int:
        """Record a received stamp; return the frames newly confirmed lost."""
        with self._lock:
            last, self._last_ns = self._last_ns, stamp_ns
            if last is None or stamp_ns <= last:
                if last is not None:
                    self._steps.clear()
                    self._pending = 0
                return 0
            step = stamp_ns - last
            period = self._period()
            confirmed = 0
            if period is None or 0.5 * period <= step <= 1.5 * period:
                confirmed, self._pending = self._pending, 0
                self._steps.append(step)
            elif step > 1.5 * period:
                confirmed = self._pending
                self._pending = round(step / period) - 1
                self._steps.extend([int(step / (self._pending + 1))] * (self._pending + 1))
            else:  # a burst: one of the frames missing after the gap arrives late
                self._pending = max(0, self._pending - 1)
                self._steps.append(step)
            self.lost += confirmed
            return confirmed

    def _period(self) -> float | None:
        return float(statistics.median(self._steps)) if len(self._steps) >= 3 else None
