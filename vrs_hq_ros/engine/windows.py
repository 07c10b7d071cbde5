"""Sliding reasoning windows over the frame buffer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vrs_hq_ros.engine.frame_buffer import BufferedFrame


@dataclass(frozen=True)
class Window:
    """The T' frames (oldest first) one reasoning run reads; ``window_id`` counts from 1."""

    window_id: int
    frames: tuple[BufferedFrame, ...]

    @property
    def newest_index(self) -> int:
        """Engine index of the window's newest frame."""
        return self.frames[-1].index


def sample_window_frames(buffered: list[BufferedFrame], window_length: int,
                         frames_per_window: int) -> tuple[BufferedFrame, ...]:
    """Evenly spaced T' frames from the newest ``window_length`` of ``buffered``.

    The newest frame is always included (the keyframe should be as fresh as possible) and
    so is the oldest of the span. Fewer frames come back when fewer are buffered.
    """
    span = buffered[-window_length:]
    if len(span) <= frames_per_window:
        return tuple(span)
    positions = np.linspace(0, len(span) - 1, frames_per_window).round().astype(int)
    return tuple(span[p] for p in positions)
