"""One re-grounding run: reason over a window, then re-condition the track and catch up.

It runs on the worker thread (asynchronous mode) or inline (deterministic mode). It never
touches a live track: it works on a copy of the goal's memory bank taken at submit time and
hands back a new bank, caught up as far as the buffer reached, for the push thread to
install (``StreamingEngine``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Optional

import torch

from vrs_hq_ros.engine.frame_buffer import BufferedFrame, FrameRingBuffer
from vrs_hq_ros.engine.reasoner import Reasoner
from vrs_hq_ros.engine.windows import Window
from vrs_hq_ros.model.window_reasoning import WindowReasoning
from vrs_hq_ros.tracking.memory_bank import ObjectMemory
from vrs_hq_ros.tracking.online_tracker import OnlineTracker, TrackStep
from vrs_hq_ros.tracking.reconditioning import KeyframeDecision, decide

logger = logging.getLogger(__name__)

_FOLLOW_PASSES = 2


@dataclass(frozen=True)
class RegroundingJob:
    """A window to reason over for one goal, with a snapshot of the goal's track.

    ``track_memory`` is a copy of the goal's bank (``None`` before its first keyframe);
    ``track_masks`` its remembered bool masks [S/4, S/4] by frame index.
    """

    goal_id: str
    epoch: int
    sentence: str
    window: Window
    track_memory: Optional[ObjectMemory]
    track_masks: dict[int, torch.Tensor]


@dataclass
class RegroundingOutcome:
    """What a run found.

    ``memory`` is the re-conditioned bank and ``steps`` its results from the keyframe on
    (``None`` / empty when nothing is to be installed: no object, stale keyframe or error).
    """

    job: RegroundingJob
    decision: Optional[KeyframeDecision] = None
    reasoning: Optional[WindowReasoning] = None
    keyframe: Optional[BufferedFrame] = None
    keyframe_iou: float = 0.0
    memory: Optional[ObjectMemory] = None
    steps: list[TrackStep] = field(default_factory=list)
    stale: bool = False
    error: Optional[BaseException] = None
    reasoning_s: float = 0.0
    catch_up_s: float = 0.0


def run_regrounding(job: RegroundingJob, model: Reasoner, tracker: OnlineTracker,
                    buffer: FrameRingBuffer, agree_iou: float) -> RegroundingOutcome:
    """Reason over ``job.window``; re-condition on its keyframe and catch up to the newest frame.

    Errors are caught and returned in the outcome (the worker thread must survive them).
    """
    outcome = RegroundingOutcome(job=job)
    try:
        start = time.perf_counter()
        frames = list(job.window.frames)
        reasoning = model.reason([f.frame.rgb for f in frames], job.sentence,
                                 features=[f.features for f in frames])
        outcome.reasoning = reasoning
        outcome.reasoning_s = time.perf_counter() - start
        keyframe = frames[reasoning.keyframe_index]
        outcome.keyframe = keyframe
        mask = reasoning.keyframe_mask_logits > 0
        outcome.decision, outcome.keyframe_iou = decide(
            mask, job.track_masks.get(keyframe.index), agree_iou)
        if outcome.decision is KeyframeDecision.EMPTY:
            return outcome
        if buffer.get(keyframe.index) is None:  # frames after it are gone: cannot catch up
            outcome.stale = True
            return outcome
        start = time.perf_counter()
        keep = outcome.decision is KeyframeDecision.AGREE and job.track_memory is not None
        memory = job.track_memory.copy() if keep else tracker.new_memory()
        later = [(f.index, f.features) for f in buffer.after(keyframe.index)]
        steps = tracker.recondition(memory, keyframe.index, mask, keyframe.features, later,
                                    keep_keyframes=keep)
        # Follow frames pushed meanwhile, a bounded number of times: when tracking is as fast
        # as the camera this would never end; the push thread steps whatever is left.
        for _ in range(_FOLLOW_PASSES):
            more = buffer.after(steps[-1].frame_index)
            if not more:
                break
            steps.extend(tracker.step(memory, f.index, f.features) for f in more)
        outcome.memory, outcome.steps = memory, steps
        outcome.catch_up_s = time.perf_counter() - start
        logger.debug("goal %r window %d: keyframe %d (%s, IoU %.2f), caught up %d frames",
                     job.goal_id, job.window.window_id, keyframe.index,
                     outcome.decision.value, outcome.keyframe_iou, len(steps) - 1)
    except Exception as exc:  # reported to the push thread, which logs and counts it
        logger.exception("re-grounding goal %r failed", job.goal_id)
        outcome.error = exc
    return outcome
