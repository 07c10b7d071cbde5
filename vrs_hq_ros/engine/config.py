"""Every knob of the streaming engine, with its default, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from vrs_hq_ros.tracking.online_tracker import TrackerConfig


class EngineConfigError(ValueError):
    """An ``EngineConfig`` value is out of range or inconsistent with another."""


@dataclass(frozen=True)
class EngineConfig:
    """Streaming engine settings.

    Windows: a goal's reasoning window spans the newest ``window_length`` buffered frames
    (none older than ``max_age_s`` before the newest); ``frames_per_window`` (T') of them,
    evenly spaced and ending at the newest, go to the model. A goal's first window runs as
    soon as ``first_window_frames`` frames are buffered (``None``: ``frames_per_window``; fewer
    give a first mask sooner from a shorter window), then every ``stride`` frames; a goal
    whose object has been invisible for ``lost_regrounding_frames`` frames is re-grounded
    early (at most once per ``lost_regrounding_frames`` frames).

    ``buffer_frames`` bounds the frames (with cached SAM2 features) kept for windows and
    catch-up (``None``: ``3 * window_length``, room for a window plus the frames that arrive
    while it is reasoned about); a keyframe older than the buffer is dropped.
    ``asynchronous`` runs reasoning in a worker thread; ``deterministic`` forces inline
    reasoning at every scheduled window (no threads, bit-for-bit reproducible replay) and
    overrides ``asynchronous``.
    ``window_sampling``: "even" (the rule above), "official" (the whole ``window_length``
    span goes to the model, which samples at most 11 frames around its CLIP anchor as the
    VRS-HQ inference does) or "auto" (official for models that ask for it: the release).
    ``agree_iou``: a keyframe whose mask overlaps the track by at least this IoU is added as
    a conditioning frame; below it the track restarts from the keyframe
    (``tracking.reconditioning``).
    """

    window_length: int = 16
    stride: int = 8
    frames_per_window: int = 8
    first_window_frames: Optional[int] = None
    max_age_s: float = 10.0
    buffer_frames: Optional[int] = None
    asynchronous: bool = True
    deterministic: bool = False
    lost_regrounding_frames: int = 15
    agree_iou: float = 0.5
    window_sampling: str = "auto"
    tracker: TrackerConfig = field(default_factory=TrackerConfig)

    def __post_init__(self):
        for name in ("window_length", "stride", "frames_per_window", "lost_regrounding_frames"):
            if getattr(self, name) < 1:
                raise EngineConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.frames_per_window > self.window_length:
            raise EngineConfigError(f"frames_per_window ({self.frames_per_window}) exceeds "
                                    f"window_length ({self.window_length})")
        if self.first_window_frames is not None and not \
                1 <= self.first_window_frames <= self.frames_per_window:
            raise EngineConfigError(f"first_window_frames must be in [1, frames_per_window="
                                    f"{self.frames_per_window}], got {self.first_window_frames}")
        if self.buffer_frames is not None and self.buffer_frames < self.window_length:
            raise EngineConfigError(f"buffer_frames ({self.buffer_frames}) must hold a whole "
                                    f"window ({self.window_length})")
        if self.max_age_s <= 0:
            raise EngineConfigError(f"max_age_s must be > 0, got {self.max_age_s}")
        if self.window_sampling not in ("auto", "even", "official"):
            raise EngineConfigError(f"window_sampling must be auto, even or official, got "
                                    f"{self.window_sampling!r}")
        if not 0.0 <= self.agree_iou <= 1.0:
            raise EngineConfigError(f"agree_iou must be in [0, 1], got {self.agree_iou}")

    @property
    def first_window_min_frames(self) -> int:
        """Frames buffered before a goal's first window runs."""
        return self.first_window_frames or self.frames_per_window

    @property
    def buffer_capacity(self) -> int:
        """Frames the ring buffer keeps."""
        if self.buffer_frames is not None:
            return self.buffer_frames
        return 3 * self.window_length

    @property
    def runs_in_worker(self) -> bool:
        """Whether reasoning runs on the worker thread."""
        return self.asynchronous and not self.deterministic
