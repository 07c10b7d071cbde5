"""A worker thread that runs re-grounding jobs in order while frames keep being pushed."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable

from vrs_hq_ros.engine.regrounding import RegroundingJob, RegroundingOutcome

logger = logging.getLogger(__name__)

_STOP = object()
# Linux niceness added to the reasoning thread: when the cores are contended the kernel runs
# the frame thread first, so reasoning delays the newest frame's answer less.
REASONING_NICENESS = 10


class ReasoningWorker:
    """Runs ``run(job)`` for each submitted job on one daemon thread; outcomes are polled."""

    def __init__(self, run: Callable[[RegroundingJob], RegroundingOutcome]):
        self._run = run
        self._jobs: queue.Queue = queue.Queue()
        self._outcomes: queue.Queue[RegroundingOutcome] = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="vrs-hq-reasoning",
                                        daemon=True)
        self._thread.start()

    def submit(self, job: RegroundingJob) -> None:
        """Queue ``job``; it runs after the jobs before it."""
        with self._lock:
            self._pending += 1
        self._jobs.put(job)

    def finished(self) -> list[RegroundingOutcome]:
        """Outcomes completed since the last call (never blocks)."""
        done = []
        while True:
            try:
                done.append(self._outcomes.get_nowait())
            except queue.Empty:
                return done

    @property
    def pending(self) -> int:
        """Jobs submitted and not finished yet (queued or running)."""
        with self._lock:
            return self._pending

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until every submitted job has finished (tests, replay); False on timeout."""
        done = threading.Event()
        self._jobs.put(done)
        return done.wait(timeout_s)

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop after the running job; queued jobs are dropped."""
        while True:
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                break
        self._jobs.put(_STOP)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            logger.warning("reasoning worker still busy after %.0f s; leaving it", timeout_s)

    def _loop(self) -> None:
        try:  # per-thread on Linux (a thread id is a process id for setpriority)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                           os.getpriority(os.PRIO_PROCESS, 0) + REASONING_NICENESS)
        except (AttributeError, OSError):  # not Linux, or not permitted: keep the default
            logger.debug("could not lower the reasoning thread's priority")
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            if isinstance(job, threading.Event):
                job.set()
                continue
            outcome = self._run(job)
            with self._lock:
                self._pending -= 1
            self._outcomes.put(outcome)
