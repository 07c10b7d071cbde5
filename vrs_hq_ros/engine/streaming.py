"""The streaming engine: a facade over the frame buffer, the goals, the tracker and the model.

``push(frame)`` encodes the frame once (SAM2 image encoder), caches the features in the ring
buffer, installs finished re-grounding runs, steps every goal's track on the frame, starts
the re-grounding runs that are due, and returns one result per goal. In asynchronous mode
reasoning (MLLM + TKS) and the catch-up after a keyframe run on a worker thread, so
``push`` never waits for them; in deterministic mode they run inline, in push order.

``push``, ``apply``, ``stats`` and ``close`` are to be called from one thread at a time.
"""

from __future__ import annotations

import logging
import time

from vrs_hq_ros.engine.config import EngineConfig
from vrs_hq_ros.engine.errors import EngineClosedError, FrameError
from vrs_hq_ros.engine.feature_sharing import SharedPositionEncodings
from vrs_hq_ros.engine.frame_buffer import BufferedFrame, FrameRingBuffer
from vrs_hq_ros.engine.frames import Frame
from vrs_hq_ros.engine.goal_results import goal_frame_result
from vrs_hq_ros.engine.goals import Goal, GoalRegistry
from vrs_hq_ros.engine.reasoner import Reasoner
from vrs_hq_ros.engine.reasoning_worker import ReasoningWorker
from vrs_hq_ros.engine.regrounding import RegroundingJob, RegroundingOutcome, run_regrounding
from vrs_hq_ros.engine.results import EngineStats, FrameResult, GoalCommand
from vrs_hq_ros.engine.windows import Window, sample_window_frames, uses_official_sampling
from vrs_hq_ros.tracking.object_track import ObjectTrack
from vrs_hq_ros.tracking.online_tracker import MaskMapping, OnlineTracker
from vrs_hq_ros.tracking.reconditioning import KeyframeDecision

logger = logging.getLogger(__name__)


class StreamingEngine:
    """Online VRS-HQ: a result for every pushed frame, re-grounding in the background."""

    def __init__(self, model: Reasoner, config: EngineConfig = EngineConfig()):
        self.model = model
        self.config = config
        self.tracker = OnlineTracker(model.sam2, config.tracker, mapping=MaskMapping.of(model))
        self._official_windows = uses_official_sampling(config.window_sampling, model)
        self.buffer = FrameRingBuffer(config.buffer_capacity, int(config.max_age_s * 1e9))
        self.goals = GoalRegistry()
        self._positions = SharedPositionEncodings()
        self._stats = EngineStats()
        self._next_index = 0
        self._next_window_id = 1
        self._last_stamp_ns: int | None = None
        self._frame_hw: tuple[int, int] | None = None
        self._worker = ReasoningWorker(self._run_job) if config.runs_in_worker else None
        self._closed = False

    def apply(self, cmd: GoalCommand) -> None:
        """Add / replace / remove / clear goals; ``GoalError`` on a bad command.

        A removed or replaced goal's track is dropped at once; a reasoning run still in
        flight for it is discarded when it finishes.
        """
        self._check_open()
        self.goals.apply(cmd)

    def push(self, frame: Frame) -> FrameResult:
        """Process one frame; return every live goal's result on it."""
        start = time.perf_counter()
        self._check_open()
        item = self._admit(frame)
        if self._worker is not None:
            for outcome in self._worker.finished():
                self._install(outcome)
        self._advance([goal.track for goal in self.goals], item.index)
        for goal in self.goals:
            if goal.due_for_reasoning(item.index, len(self.buffer),
                                      self.config.first_window_min_frames, self.config.stride,
                                      self.config.lost_regrounding_frames):
                self._start_regrounding(goal)
        height, width = frame.size_hw
        goals = [goal_frame_result(goal, height, width, self.tracker.mapping)
                 for goal in self.goals]
        self._stats.frames += 1
        return FrameResult(stamp_ns=frame.stamp_ns, frame_index=item.index, goals=goals,
                           latency_s=time.perf_counter() - start)

    def stats(self) -> EngineStats:
        """Return a snapshot of the counters."""
        stats = EngineStats(**vars(self._stats))
        stats.goals = len(self.goals)
        stats.buffered_frames = len(self.buffer)
        stats.reasoning_in_flight = self._worker.pending if self._worker is not None else 0
        return stats

    def wait_for_reasoning(self, timeout_s: float = 60.0) -> bool:
        """Block until queued reasoning runs finish (installed at the next push); for replay."""
        return self._worker is None or self._worker.wait_idle(timeout_s)

    def close(self) -> None:
        """Stop the worker and free the buffer and tracks; the engine cannot be used after."""
        if self._closed:
            return
        self._closed = True
        if self._worker is not None:
            self._worker.close()
        self.buffer.clear()
        self.goals.goals.clear()

    # -- internals -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise EngineClosedError("the engine is closed")

    def _admit(self, frame: Frame) -> BufferedFrame:
        """Check the frame, encode it once, buffer it with its features."""
        if not isinstance(frame, Frame):
            raise FrameError(f"expected an engine Frame, got {type(frame).__name__}")
        frame.check()
        if self._last_stamp_ns is not None and frame.stamp_ns == self._last_stamp_ns:
            raise FrameError(f"frame stamp {frame.stamp_ns} ns repeats the previous frame's; "
                             "the duplicate is skipped")
        if self._last_stamp_ns is not None and frame.stamp_ns < self._last_stamp_ns:
            # A bag replayed with --loop, a simulator reset: a new stream, never a lock.
            logger.info("frame stamp went back from %d to %d ns: new stream",
                        self._last_stamp_ns, frame.stamp_ns)
            self.reset_stream()
        if self._frame_hw is not None and frame.size_hw != self._frame_hw:
            logger.info("frame size changed from %s to %s: tracks restart",
                        self._frame_hw, frame.size_hw)
            self.reset_stream()
        self._last_stamp_ns, self._frame_hw = frame.stamp_ns, frame.size_hw
        features = self._positions.share(self.model.encode_frames([frame.rgb])[0])
        item = BufferedFrame(index=self._next_index, frame=frame, features=features)
        self._next_index += 1
        self.buffer.append(item)
        return item

    def reset_stream(self) -> None:
        """Start a new stream: drop buffered frames and tracks, keep goals (re-grounded anew).

        For a time jump (bag loop, simulator reset, driver restart) or a frame size change;
        the next frame is accepted whatever its stamp or size.
        """
        self._check_open()
        self._stats.stream_restarts += 1
        self._last_stamp_ns = self._frame_hw = None
        self.buffer.clear()
        for goal in self.goals:
            goal.track, goal.last_window_index, goal.reasoning_in_flight = None, None, False
            goal.keyframe_stamp_ns = goal.window_id = 0
            goal.epoch = self.goals.new_epoch()  # runs in flight reasoned on the old frames

    def _advance(self, tracks: list[ObjectTrack | None], index: int) -> None:
        """Step every track through the buffered frames up to ``index``.

        The tracks due on a frame are stepped together (one batched SAM2 call per memory
        layout), so goals grounded by the same run cost one call, not one each.
        """
        behind = [t for t in tracks if t is not None and t.last_step is not None
                  and t.last_step.frame_index < index]
        if not behind:
            return
        for item in self.buffer.after(min(t.last_step.frame_index for t in behind)):
            due = [t for t in behind if t.last_step.frame_index < item.index]
            steps = self.tracker.step_many([t.memory for t in due], item.index, item.features)
            for track, step in zip(due, steps, strict=True):
                track.record(step)

    def _start_regrounding(self, goal: Goal) -> None:
        frames = sample_window_frames(self.buffer.latest(self.config.window_length),
                                      self.config.window_length, self.config.frames_per_window,
                                      official=self._official_windows)
        window = Window(window_id=self._next_window_id, frames=frames)
        self._next_window_id += 1
        track = goal.track
        job = RegroundingJob(goal_id=goal.goal_id, epoch=goal.epoch, sentence=goal.sentence,
                             window=window,
                             track_memory=track.memory.copy() if track is not None else None,
                             track_masks=dict(track.recent_masks) if track is not None else {})
        goal.last_window_index = window.newest_index
        goal.reasoning_in_flight = True
        if self._worker is not None:
            self._worker.submit(job)
        else:
            self._install(self._run_job(job))

    def _run_job(self, job: RegroundingJob) -> RegroundingOutcome:
        return run_regrounding(job, self.model, self.tracker, self.buffer,
                               self.config.agree_iou)

    def _install(self, outcome: RegroundingOutcome) -> None:
        """Apply a finished run to its goal (if the goal still wants it)."""
        stats = self._stats
        stats.reasoning_runs += 1
        stats.last_reasoning_s = outcome.reasoning_s
        job = outcome.job
        goal = self.goals.get(job.goal_id)
        if goal is None or goal.epoch != job.epoch:
            logger.debug("dropping window %d: goal %r was removed or replaced",
                         job.window.window_id, job.goal_id)
            return
        goal.reasoning_in_flight = False
        if outcome.error is not None:
            stats.reasoning_failures += 1
            return
        if outcome.decision is KeyframeDecision.EMPTY:
            stats.keyframes_empty += 1
            return
        if outcome.stale or outcome.memory is None:
            stats.keyframes_stale += 1
            logger.info("goal %r: keyframe of window %d left the buffer before it arrived",
                        goal.goal_id, job.window.window_id)
            return
        if goal.track is None:
            goal.track = ObjectTrack(memory=outcome.memory,
                                     history_frames=self.config.buffer_capacity)
        else:
            goal.track.memory = outcome.memory
        goal.track.record_all(outcome.steps)
        goal.keyframe_stamp_ns = outcome.keyframe.stamp_ns
        goal.window_id = job.window.window_id
        stats.keyframes_applied += 1
        stats.last_catch_up_frames = len(outcome.steps) - 1
