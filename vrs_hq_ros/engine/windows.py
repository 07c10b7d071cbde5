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


WINDOW_SAMPLING = ("auto", "even", "official")


class WindowSamplingError(ValueError):
    """An unknown window sampling rule was configured."""


def uses_official_sampling(setting: str, model: object) -> bool:
    """Return whether windows follow the official rule.

    True for ``setting`` "official", or "auto" with a model that asks for it
    (``official_window_sampling``, set for the VRS-HQ release).
    """
    if setting not in WINDOW_SAMPLING:
        raise WindowSamplingError(f"window sampling must be one of {WINDOW_SAMPLING}, "
                                  f"got {setting!r}")
    if setting == "auto":
        return bool(getattr(model, "official_window_sampling", False))
    return setting == "official"


def sample_window_frames(buffered: list[BufferedFrame], window_length: int,
                         frames_per_window: int, official: bool = False
                         ) -> tuple[BufferedFrame, ...]:
    """Return the frames of one window, from the newest ``window_length`` of ``buffered``.

    Even rule: T' = ``frames_per_window`` evenly spaced frames; the newest frame is always
    included (the keyframe should be as fresh as possible) and so is the oldest of the span.
    ``official``: the whole span, for the model's own official sampling (VRS-HQ inference:
    CLIP anchor over all T frames, then at most 11 frames with ``step = ceil(T / 11)``
    starting at ``anchor % step``, ``tks.sample_around_anchor``). Fewer frames come back when
    fewer are buffered.
    """
    span = buffered[-window_length:]
    if official or len(span) <= frames_per_window:
        return tuple(span)
    positions = np.linspace(0, len(span) - 1, frames_per_window).round().astype(int)
    return tuple(span[p] for p in positions)
