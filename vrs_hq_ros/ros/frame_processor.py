"""The processing thread: takes frames from the ``FrameQueue`` and pushes them to the engine.

Image callbacks only convert and enqueue; this thread is the only caller of
``engine.push``, so inference never runs on an executor thread. Reasoning itself runs in the
engine's own worker. Goal commands and pushes are serialised by ``engine_lock``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from vrs_hq_ros.ros.frame_queue import FrameQueue, QueuedFrame

logger = logging.getLogger(__name__)


class DuplicateStampError(ValueError):
    """A frame repeats the previous frame's stamp; it is skipped, the stream goes on."""

    cause = "duplicate_stamp"


class StreamWatch:
    """Decides when the frame stamps start a new stream (thread-safe).

    ``check(stamp_ns)`` returns why a new stream starts with this frame ("backward": a bag
    replayed with --loop, a camera driver restart, a zero stamp; "forward": a jump beyond
    ``max_jump_ns``; "clock": the ROS clock jumped, e.g. a simulator reset under
    use_sim_time), or None; it raises ``DuplicateStampError`` for a repeated stamp.
    """

    def __init__(self, max_jump_ns: int):
        self.max_jump_ns = max_jump_ns
        self._last_ns: int | None = None
        self._clock_jumped = False
        self._lock = threading.Lock()

    def clock_jumped(self) -> None:
        """Note a ROS clock jump: the next frame starts a new stream."""
        with self._lock:
            self._clock_jumped = True

    def check(self, stamp_ns: int) -> str | None:
        """Classify the next frame's stamp (see the class docstring)."""
        with self._lock:
            last, self._last_ns = self._last_ns, stamp_ns
            if self._clock_jumped:
                self._clock_jumped = False
                return "clock"
            if last is None:
                return None
            if stamp_ns == last:
                raise DuplicateStampError(f"frame stamp {stamp_ns} ns repeats the previous "
                                          "frame's; skipped")
            if stamp_ns < last:
                return "backward"
            return "forward" if stamp_ns - last > self.max_jump_ns else None


class FrameProcessor:
    """A thread that runs ``push(frame)`` and hands each result to ``on_result``.

    ``push`` is the engine call (``QueuedFrame`` → result); ``on_result(frame, result)``
    publishes; ``on_error(frame, exc)`` is called when ``push`` raises, and the thread goes on.
    """

    def __init__(self, queue: FrameQueue, push: Callable[[QueuedFrame], object],
                 on_result: Callable[[QueuedFrame, object], None],
                 on_error: Callable[[QueuedFrame, Exception], None],
                 engine_lock: threading.Lock | None = None, name: str = "vrs_hq_frames"):
        self._queue = queue
        self._push = push
        self._on_result = on_result
        self._on_error = on_error
        self._lock = engine_lock or threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.processed = 0

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> bool:
        """Stop after the frame in progress; True if the thread ended within ``timeout_s``.

        Safe before ``start`` (Ctrl-C during activation): there is nothing to join then.
        """
        self._stop.set()
        self._queue.close()
        if self._thread.ident is not None:
            self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = self._queue.get(timeout_s=0.1)
            if frame is None:
                continue
            try:
                with self._lock:
                    result = self._push(frame)
            except Exception as exc:  # a bad frame must not end the thread
                self._on_error(frame, exc)
                continue
            self.processed += 1
            try:
                self._on_result(frame, result)
            except Exception:
                logger.exception("publishing the result of frame %d failed", frame.stamp_ns)
