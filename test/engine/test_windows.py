"""Reasoning windows: the even rule and the official VRS-HQ sampling (engine.windows)."""

import numpy as np
import pytest

from vrs_hq_ros.engine.config import EngineConfig, EngineConfigError
from vrs_hq_ros.engine.frame_buffer import BufferedFrame
from vrs_hq_ros.engine.frames import Frame
from vrs_hq_ros.engine.results import GoalAction, GoalCommand
from vrs_hq_ros.engine.streaming import StreamingEngine
from vrs_hq_ros.engine.windows import (
    WindowSamplingError,
    sample_window_frames,
    uses_official_sampling,
)
from vrs_hq_ros.model.tks import sample_around_anchor

from .conftest import stamp

RGB = np.zeros((4, 4, 3), np.uint8)


def _items(count: int) -> list[BufferedFrame]:
    return [BufferedFrame(index=i, frame=Frame(stamp(i), RGB), features=None)
            for i in range(count)]


def test_official_windows_hand_the_whole_span_to_the_model():
    frames = sample_window_frames(_items(40), window_length=23, frames_per_window=8,
                                  official=True)
    assert [f.index for f in frames] == list(range(17, 40))
    # the model then keeps at most 11 of them, step ceil(23 / 11) = 3, phased by its anchor
    assert sample_around_anchor(len(frames), 22, 11) == [1, 4, 7, 10, 13, 16, 19, 22]
    even = sample_window_frames(_items(40), window_length=23, frames_per_window=8)
    assert len(even) == 8 and even[-1].index == 39 and even[0].index == 17


def test_official_sampling_is_chosen_by_setting_or_by_the_model():
    class Release:
        official_window_sampling = True

    assert uses_official_sampling("auto", Release())
    assert not uses_official_sampling("auto", object())
    assert uses_official_sampling("official", object())
    assert not uses_official_sampling("even", Release())
    with pytest.raises(WindowSamplingError):
        uses_official_sampling("random", object())
    with pytest.raises(EngineConfigError):
        EngineConfig(window_sampling="random")


class CountingReasoner:
    """The real model; remembers how many frames each reasoning run received."""

    def __init__(self, model, official: bool):
        self.model, self.sam2 = model, model.sam2
        self.official_window_sampling = official
        self.window_sizes: list[int] = []

    def encode_frames(self, frames):
        return self.model.encode_frames(frames)

    def reason(self, frames, sentence, features=None):
        self.window_sizes.append(len(frames))
        return self.model.reason(frames, sentence, features=features)


@pytest.mark.parametrize("official", [False, True])
def test_engine_windows_follow_the_model(model, clip, official):
    reasoner = CountingReasoner(model, official)
    config = EngineConfig(deterministic=True, window_length=8, stride=4, frames_per_window=4)
    engine = StreamingEngine(reasoner, config)
    engine.apply(GoalCommand(GoalAction.ADD, "g", "the red square"))
    try:
        for i, rgb in enumerate(clip[:12]):
            engine.push(Frame(stamp(i), rgb))
    finally:
        engine.close()
    assert reasoner.window_sizes  # windows ran
    assert max(reasoner.window_sizes) == (8 if official else 4)
