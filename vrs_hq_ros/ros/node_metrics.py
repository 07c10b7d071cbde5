"""Counters, rates and latency percentiles of the node (thread-safe, no rclpy)."""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field

import numpy as np


class RateMeter:
    """Events per second over a sliding time window."""

    def __init__(self, window_s: float = 5.0):
        self.window_s = window_s
        self._times: collections.deque[float] = collections.deque()

    def tick(self, now_s: float) -> None:
        """Record one event at monotonic time ``now_s``."""
        self._times.append(now_s)
        self._trim(now_s)

    def rate_hz(self, now_s: float) -> float:
        """Events per second in the window ending at ``now_s`` (0 with fewer than 2 events)."""
        self._trim(now_s)
        if len(self._times) < 2:
            return 0.0
        span = max(now_s, self._times[-1]) - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0

    def _trim(self, now_s: float) -> None:
        while self._times and now_s - self._times[0] > self.window_s:
            self._times.popleft()


@dataclass
class MetricsSnapshot:
    """A consistent copy of the node's counters at one instant."""

    frames_received: int = 0
    frames_processed: int = 0
    frames_dropped: int = 0
    frames_rejected: int = 0
    rejected_by_cause: dict[str, int] = field(default_factory=dict)
    goals_accepted: int = 0
    goals_rejected: int = 0
    stream_restarts: int = 0
    restarts_by_cause: dict[str, int] = field(default_factory=dict)
    seconds_since_problem: float | None = None  # None: no rejection since activation
    input_rate_hz: float = 0.0
    output_rate_hz: float = 0.0
    latency_p50_s: float = 0.0
    latency_p99_s: float = 0.0
    last_error: str = ""


class LogThrottle:
    """At most one log line per key every ``period_s`` (thread-safe).

    ``due(key)`` counts an event and returns how many events of ``key`` happened since the
    last line (this one included) when a line is due now, else None.
    """

    def __init__(self, period_s: float = 5.0):
        self.period_s = period_s
        self._lock = threading.Lock()
        self._last_s: dict[str, float] = {}
        self._pending: dict[str, int] = {}

    def due(self, key: str, now_s: float | None = None) -> int | None:
        """Count one event of ``key``; the count since the last line if one is due, else None."""
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            count = self._pending.get(key, 0) + 1
            last = self._last_s.get(key)
            if last is not None and now_s - last < self.period_s:
                self._pending[key] = count
                return None
            self._last_s[key], self._pending[key] = now_s, 0
            return count


class NodeMetrics:
    """What the node counts since it was last activated, updated from several threads."""

    def __init__(self, rate_window_s: float = 5.0, latency_samples: int = 500):
        self._lock = threading.Lock()
        self._rate_window_s = rate_window_s
        self._latency_samples = latency_samples
        self.reset()

    def reset(self) -> None:
        """Zero every counter, rate and error (on activate: status is "since activated")."""
        with self._lock:
            self._snapshot = MetricsSnapshot()
            self._input = RateMeter(self._rate_window_s)
            self._output = RateMeter(self._rate_window_s)
            self._latencies_s: collections.deque[float] = collections.deque(
                maxlen=self._latency_samples)
            self._problem_s: float | None = None

    def received(self, now_s: float | None = None) -> None:
        """One camera frame arrived."""
        with self._lock:
            self._snapshot.frames_received += 1
            self._input.tick(time.monotonic() if now_s is None else now_s)

    def processed(self, latency_s: float, now_s: float | None = None) -> None:
        """One result was published, ``latency_s`` after its image arrived."""
        with self._lock:
            self._snapshot.frames_processed += 1
            self._output.tick(time.monotonic() if now_s is None else now_s)
            self._latencies_s.append(latency_s)

    def dropped(self, count: int = 1) -> None:
        """``count`` frames were dropped by the bounded queue."""
        with self._lock:
            self._snapshot.frames_dropped += count

    def reject(self, cause: str, message: str) -> None:
        """Count a frame rejected for ``cause`` (with the reason)."""
        with self._lock:
            by_cause = self._snapshot.rejected_by_cause
            by_cause[cause] = by_cause.get(cause, 0) + 1
            self._snapshot.frames_rejected += 1
            self._problem(message)

    def stream_restart(self, cause: str) -> None:
        """Count a new stream (time jump, size change); not an error, the node goes on."""
        with self._lock:
            by_cause = self._snapshot.restarts_by_cause
            by_cause[cause] = by_cause.get(cause, 0) + 1
            self._snapshot.stream_restarts += 1

    def goal(self, accepted: bool, error: str = "") -> None:
        """Count a goal input as accepted or rejected (with the reason)."""
        with self._lock:
            if accepted:
                self._snapshot.goals_accepted += 1
            else:
                self._snapshot.goals_rejected += 1
                self._problem(error)

    def _problem(self, message: str) -> None:
        self._snapshot.last_error = message
        self._problem_s = time.monotonic()

    def note_error(self, message: str) -> None:
        """Remember an error that is not tied to one frame or goal (e.g. the engine's)."""
        with self._lock:
            self._problem(message)

    def snapshot(self, now_s: float | None = None) -> MetricsSnapshot:
        """Copy every counter, plus current rates and latency percentiles."""
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            snap = MetricsSnapshot(**{**self._snapshot.__dict__,
                                      "rejected_by_cause": dict(self._snapshot.rejected_by_cause),
                                      "restarts_by_cause": dict(self._snapshot.restarts_by_cause)})
            if self._problem_s is not None:
                snap.seconds_since_problem = time.monotonic() - self._problem_s
            snap.input_rate_hz = self._input.rate_hz(now_s)
            snap.output_rate_hz = self._output.rate_hz(now_s)
            if self._latencies_s:
                p50, p99 = np.percentile(np.asarray(self._latencies_s), [50, 99])
                snap.latency_p50_s, snap.latency_p99_s = float(p50), float(p99)
            return snap
