"""Per-frame results of the streaming engine (what the node turns into messages)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np


class GoalAction(enum.IntEnum):
    """What a goal command does; values equal ``vrs_hq_ros/msg/Goal`` constants."""

    ADD = 0
    REPLACE = 1
    REMOVE = 2
    CLEAR_ALL = 3


class TrackState(enum.IntEnum):
    """Per-goal state; values equal ``vrs_hq_ros/msg/GoalResult`` constants."""

    SEARCHING = 0
    TRACKED = 1
    LOST = 2


@dataclass(frozen=True)
class GoalCommand:
    """A request to add / replace / remove one goal, or to clear all goals."""

    action: GoalAction
    goal_id: str = ""
    sentence: str = ""


@dataclass
class BoundingBox:
    """Axis-aligned box in pixels, inclusive-exclusive: x in [x_min, x_max)."""

    x_min: int
    y_min: int
    x_max: int
    y_max: int


@dataclass
class GoalFrameResult:
    """One goal on one frame."""

    goal_id: str
    sentence: str
    track_id: int
    state: TrackState
    score: float  # sigmoid of SAM2's object-score logit, in [0, 1]
    mask_hw: np.ndarray  # bool [H, W] at the source image size
    bbox: BoundingBox | None  # None when the mask is empty
    centroid_xy: tuple[float, float] | None  # (column, row) in pixels
    area_px: int
    keyframe_stamp_ns: int  # stamp of the keyframe that last grounded it; 0 = never
    window_id: int  # reasoning window that last grounded it; 0 = never
    label: int = 0  # pixel value in the label image (stable per goal), 0 = none


@dataclass
class FrameResult:
    """Every goal's result for one pushed frame."""

    stamp_ns: int
    frame_index: int
    goals: list[GoalFrameResult] = field(default_factory=list)
    latency_s: float = 0.0  # push() entry to result


@dataclass
class EngineStats:
    """Counters of a ``StreamingEngine`` since it was created."""

    frames: int = 0  # frames pushed
    reasoning_runs: int = 0  # reasoning runs finished (successful or not)
    last_reasoning_s: float = 0.0  # duration of the last reasoning run (MLLM + TKS)
    goals: int = 0  # live goals
    reasoning_failures: int = 0  # runs that raised
    reasoning_in_flight: int = 0  # runs queued or running on the worker
    keyframes_applied: int = 0  # keyframes the tracks were re-conditioned on
    keyframes_empty: int = 0  # runs whose keyframe held no object
    keyframes_stale: int = 0  # keyframes that left the buffer before they arrived
    last_catch_up_frames: int = 0  # frames re-tracked after the last applied keyframe
    buffered_frames: int = 0  # frames (with SAM2 features) held for windows and catch-up
    stream_restarts: int = 0  # time jumps / size changes that started a new stream
