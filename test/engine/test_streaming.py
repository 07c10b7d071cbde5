import gc
import time
import weakref

import numpy as np
import pytest

from vrs_hq_ros.engine.config import EngineConfig, EngineConfigError
from vrs_hq_ros.engine.errors import EngineClosedError, FrameError, GoalError
from vrs_hq_ros.engine.frames import Frame
from vrs_hq_ros.engine.results import GoalAction, GoalCommand, TrackState
from vrs_hq_ros.engine.streaming import StreamingEngine

from .conftest import stamp

SMALL = dict(window_length=8, stride=4, frames_per_window=4)


def _run(model, clip, config, goals):
    engine = StreamingEngine(model, config)
    for goal_id, sentence in goals:
        engine.apply(GoalCommand(GoalAction.ADD, goal_id, sentence))
    try:
        return [engine.push(Frame(stamp(i), rgb)) for i, rgb in enumerate(clip)], engine.stats()
    finally:
        engine.close()


def test_deterministic_mode_is_bit_for_bit_reproducible(model, clip):
    config = EngineConfig(deterministic=True, **SMALL)
    first, stats = _run(model, clip[:16], config, [("a", "the red square")])
    second, _ = _run(model, clip[:16], config, [("a", "the red square")])
    assert stats.keyframes_applied >= 3  # windows at frames 3, 7, 11, 15 re-grounded the track
    for x, y in zip(first, second, strict=True):
        (gx,), (gy,) = x.goals, y.goals
        assert np.array_equal(gx.mask_hw, gy.mask_hw)
        assert (gx.score, gx.state, gx.keyframe_stamp_ns, gx.window_id) == \
            (gy.score, gy.state, gy.keyframe_stamp_ns, gy.window_id)


def test_first_window_runs_as_soon_as_enough_frames_are_buffered(model, clip):
    results, stats = _run(model, clip[:6], EngineConfig(deterministic=True, **SMALL),
                          [("a", "the red square")])
    states = [r.goals[0].state for r in results]
    assert states[:3] == [TrackState.SEARCHING] * 3
    assert states[3] is TrackState.TRACKED  # 4th frame = frames_per_window
    grounded = results[3].goals[0]
    assert grounded.window_id == 1 and grounded.keyframe_stamp_ns in {stamp(i) for i in range(4)}
    assert grounded.area_px == int(grounded.mask_hw.sum()) > 0
    assert grounded.bbox is not None and grounded.centroid_xy is not None
    assert grounded.mask_hw.shape == clip[0].shape[:2]
    assert stats.reasoning_runs == 1


def test_a_shorter_first_window_grounds_the_goal_sooner(model, clip):
    config = EngineConfig(deterministic=True, first_window_frames=2, **SMALL)
    results, stats = _run(model, clip[:6], config, [("a", "the red square")])
    states = [r.goals[0].state for r in results]

    assert states[0] is TrackState.SEARCHING
    assert states[1] is TrackState.TRACKED and results[1].goals[0].window_id == 1
    assert results[5].goals[0].window_id == 2  # then every stride (4) frames: frame 5
    assert stats.reasoning_runs == 2
    with pytest.raises(EngineConfigError, match="first_window_frames"):
        EngineConfig(first_window_frames=5, **SMALL)


def test_two_goals_keep_separate_ids_and_state_and_removal_frees_it(model, clip):
    config = EngineConfig(deterministic=True, **SMALL)
    alone, _ = _run(model, clip[:8], config, [("square", "the red square")])
    engine = StreamingEngine(model, config)
    engine.apply(GoalCommand(GoalAction.ADD, "square", "the red square"))
    engine.apply(GoalCommand(GoalAction.ADD, "floor", "the dark noisy background"))
    together = [engine.push(Frame(stamp(i), rgb)) for i, rgb in enumerate(clip[:8])]
    square, floor = together[-1].goals
    assert (square.goal_id, floor.goal_id) == ("square", "floor")
    assert square.track_id != floor.track_id and square.label != floor.label
    assert square.window_id != floor.window_id
    assert square.state is TrackState.TRACKED and floor.state is TrackState.TRACKED
    # No cross-talk: the square's masks are those it gets when it is the only goal.
    for one, two in zip(alone, together, strict=True):
        assert np.array_equal(one.goals[0].mask_hw, two.goals[0].mask_hw)
        assert one.goals[0].score == two.goals[0].score
    banks = [engine.goals.get(g).track.memory for g in ("square", "floor")]
    assert not set(map(id, banks[0].tensors())) & set(map(id, banks[1].tensors()))

    track = weakref.ref(engine.goals.get("floor").track)
    engine.apply(GoalCommand(GoalAction.REMOVE, "floor"))
    gc.collect()
    assert track() is None  # the removed goal's memory bank is gone
    after = engine.push(Frame(stamp(8), clip[8]))
    assert [g.goal_id for g in after.goals] == ["square"]
    assert engine.stats().goals == 1
    engine.close()


class SlowReasoner:
    """The real model, with reasoning slowed down to one second per window."""

    def __init__(self, model, delay_s: float):
        self.model, self.delay_s = model, delay_s
        self.sam2 = model.sam2

    def encode_frames(self, frames):
        return self.model.encode_frames(frames)

    def reason(self, frames, sentence, features=None):
        time.sleep(self.delay_s)
        return self.model.reason(frames, sentence, features=features)


def test_async_push_returns_at_once_while_a_slow_reasoning_runs(model, clip):
    delay_s = 2.0
    engine = StreamingEngine(SlowReasoner(model, delay_s),
                             EngineConfig(asynchronous=True, **SMALL))
    try:
        engine.apply(GoalCommand(GoalAction.ADD, "a", "the red square"))
        latencies, in_flight = [], []
        for i, rgb in enumerate(clip[:12]):
            result = engine.push(Frame(stamp(i), rgb))
            assert [g.goal_id for g in result.goals] == ["a"]
            latencies.append(result.latency_s)
            in_flight.append(engine.stats().reasoning_in_flight)
        assert in_flight[2] == 0 and in_flight[3:] == [1] * 9  # the first window, still running
        assert max(latencies) < delay_s / 2  # no push waited for the reasoning run
        assert engine.wait_for_reasoning(timeout_s=30)
        late = engine.push(Frame(stamp(12), clip[12])).goals[0]
        assert late.state is TrackState.TRACKED
        assert late.window_id == 1
        # the keyframe came from the first window (frames 0-3); catch-up tracked it to frame 12
        assert late.keyframe_stamp_ns <= stamp(3)
        assert engine.stats().last_catch_up_frames >= 8
    finally:
        engine.close()


def test_frames_must_be_images_in_time_order(model, clip):
    engine = StreamingEngine(model, EngineConfig(deterministic=True, **SMALL))
    engine.push(Frame(stamp(5), clip[0]))
    with pytest.raises(FrameError):
        engine.push(Frame(stamp(5), clip[1]))
    with pytest.raises(FrameError):
        engine.push(Frame(stamp(6), clip[0].astype(np.float32)))
    with pytest.raises(GoalError):
        engine.apply(GoalCommand(GoalAction.REMOVE, "nobody"))
    engine.close()
    with pytest.raises(EngineClosedError):
        engine.push(Frame(stamp(7), clip[0]))


def test_replacing_a_goal_restarts_its_track(model, clip):
    engine = StreamingEngine(model, EngineConfig(deterministic=True, **SMALL))
    engine.apply(GoalCommand(GoalAction.ADD, "a", "the red square"))
    before = [engine.push(Frame(stamp(i), rgb)) for i, rgb in enumerate(clip[:5])][-1].goals[0]
    engine.apply(GoalCommand(GoalAction.REPLACE, "a", "the background"))
    after = engine.push(Frame(stamp(5), clip[5])).goals[0]
    assert before.state is TrackState.TRACKED
    assert after.sentence == "the background" and after.track_id != before.track_id
    assert after.window_id == 2  # re-grounded at once: enough frames are buffered
    engine.close()


def test_a_new_image_size_restarts_the_tracks(model, clip):
    engine = StreamingEngine(model, EngineConfig(deterministic=True, **SMALL))
    engine.apply(GoalCommand(GoalAction.ADD, "a", "the red square"))
    before = [engine.push(Frame(stamp(i), rgb)) for i, rgb in enumerate(clip[:4])][-1].goals[0]
    bigger = np.zeros((60, 80, 3), np.uint8)
    after = engine.push(Frame(stamp(4), bigger)).goals[0]
    assert before.state is TrackState.TRACKED
    assert after.state is TrackState.SEARCHING and after.mask_hw.shape == (60, 80)
    assert engine.stats().buffered_frames == 1
    engine.close()


@pytest.mark.parametrize("jump", ["backward", "reset_stream"])
def test_a_time_jump_starts_a_new_stream_that_keeps_and_regrounds_the_goals(model, clip, jump):
    engine = StreamingEngine(model, EngineConfig(deterministic=True, **SMALL))
    engine.apply(GoalCommand(GoalAction.ADD, "a", "the red square"))
    before = [engine.push(Frame(stamp(100 + i), rgb)) for i, rgb in enumerate(clip[:4])]
    assert before[-1].goals[0].state is TrackState.TRACKED
    if jump == "reset_stream":
        engine.reset_stream()
    # a bag replayed with --loop: stamps start again from the beginning
    after = [engine.push(Frame(stamp(i), rgb)) for i, rgb in enumerate(clip[:4])]
    assert after[0].goals[0].state is TrackState.SEARCHING  # the old track is gone
    assert after[-1].goals[0].state is TrackState.TRACKED  # the kept goal was re-grounded
    assert after[-1].goals[0].keyframe_stamp_ns <= stamp(3)
    stats = engine.stats()
    assert stats.stream_restarts == 1 and stats.goals == 1 and stats.buffered_frames == 4
    engine.close()
