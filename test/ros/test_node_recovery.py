"""The node never goes silent: time jumps, size changes, large frames, bombs, status recovery."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

pytestmark = pytest.mark.ros

YEAR_2038_NS = 2_145_916_800 * 1_000_000_000


def _results_for(harness, results, msg, what):
    harness.wait_for(lambda: any(r.header == msg.header for r in results), 30.0, what)
    return next(r for r in results if r.header == msg.header)


def _rejected(harness, cause, count, what):
    harness.wait_for(lambda: harness.node.metrics.snapshot().rejected_by_cause.get(cause, 0)
                     == count, 30.0, what)


def test_time_jumps_start_a_new_stream_that_keeps_the_goals_and_never_locks(
        make_harness, tiny_model_dir, image_factory):
    from sensor_msgs.msg import Image
    from vrs_hq_ros.msg import SegmentationResult

    harness = make_harness(tiny_model_dir, **{"goals.initial_sentence": "the red square"})
    results = harness.collect(SegmentationResult, "/vrs_hq_segment/result")
    images = harness.publisher(Image, "/image")

    def send(stamp_ns, what):
        msg = image_factory(stamp_ns)
        images.publish(msg)
        return _results_for(harness, results, msg, what)

    for i in range(3):
        send(1_000_000_000 + i * 33_000_000, "stream start")
    send(YEAR_2038_NS, "a frame from 2038")  # forward beyond input.max_stamp_jump_s
    after_2038 = send(1_100_000_000, "back from 2038")
    after_backward = send(600_000_000, "a 0.5 s backward jump")
    repeated = image_factory(600_000_000, seed=1)
    images.publish(repeated)
    _rejected(harness, "duplicate_stamp", 1, "the repeated stamp")
    after_repeat = send(633_000_000, "after the repeated stamp")
    after_zero = [send(0, "a zero stamp"), send(33_000_000, "after the zero stamp")]

    snap = harness.node.metrics.snapshot()
    assert snap.restarts_by_cause == {"forward": 1, "backward": 3}  # 2038 → 1.1 s, 0.6 s, 0
    assert snap.frames_rejected == 1
    for result in (after_2038, after_backward, after_repeat, *after_zero):
        assert [g.goal_id for g in result.goals] == ["text"]  # the goal survived every jump
    assert harness.node._io.engine.stats().stream_restarts == 4


def test_a_large_frame_then_the_old_size_goes_on_and_too_many_pixels_are_refused(
        make_harness, tiny_model_dir, image_factory):
    from sensor_msgs.msg import Image
    from vrs_hq_ros.msg import SegmentationResult

    harness = make_harness(tiny_model_dir, **{"input.max_pixels": 4000 * 4000})
    results = harness.collect(SegmentationResult, "/vrs_hq_segment/result")
    images = harness.publisher(Image, "/image")
    big = image_factory(1_000_000_000, hw=(4000, 4000))
    images.publish(big)
    assert _results_for(harness, results, big, "4000x4000 frame")
    del big
    small = [image_factory(1_033_000_000 + i * 33_000_000, hw=(256, 256)) for i in range(2)]
    for msg in small:
        images.publish(msg)
        _results_for(harness, results, msg, "256x256 frame after the large one")

    too_big = image_factory(2_000_000_000, hw=(4001, 4000))
    images.publish(too_big)
    _rejected(harness, "too_large", 1, "a frame over input.max_pixels")
    del too_big
    after = image_factory(2_100_000_000, hw=(256, 256))
    images.publish(after)
    _results_for(harness, results, after, "frame after the refused one")
    snap = harness.node.metrics.snapshot()
    assert snap.restarts_by_cause == {"size": 1}
    assert "more than input.max_pixels" in snap.last_error


def _png_bomb(width: int, height: int) -> bytes:
    """A valid all-black RGB PNG: a small file that decodes to ``width`` x ``height``."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    packer, row = zlib.compressobj(9), b"\0" * (1 + 3 * width)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def test_a_compressed_bomb_is_refused_before_decoding_and_the_stream_goes_on(
        make_harness, tiny_model_dir):
    import cv2
    from sensor_msgs.msg import CompressedImage
    from vrs_hq_ros.msg import SegmentationResult

    harness = make_harness(tiny_model_dir, **{"input.compressed": True,
                                               "input.max_pixels": 1_000_000})
    results = harness.collect(SegmentationResult, "/vrs_hq_segment/result")
    images = harness.publisher(CompressedImage, "/image/compressed")

    def compressed(stamp_ns, data):
        msg = CompressedImage(format="png", data=data)
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
        return msg

    good_png = cv2.imencode(".png", np.full((64, 96, 3), 90, np.uint8))[1].tobytes()
    first = compressed(1_000_000_000, good_png)
    images.publish(first)
    _results_for(harness, results, first, "first compressed frame")
    images.publish(compressed(1_033_000_000, _png_bomb(4000, 4000)))  # 48 MB in ~50 kB
    _rejected(harness, "too_large", 1, "the bomb")
    after = compressed(1_066_000_000, good_png)
    images.publish(after)
    _results_for(harness, results, after, "compressed frame after the bomb")
    assert "4000x4000 = 16000000 px" in harness.node.metrics.snapshot().last_error


def test_status_counts_since_activation_returns_to_ok_and_counts_goals_once(
        make_harness, tiny_model_dir):
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from rclpy.lifecycle import TransitionCallbackReturn
    from std_msgs.msg import String
    from vrs_hq_ros.msg import Goal

    harness = make_harness(tiny_model_dir, **{"output.warn_hold_s": 1.0})
    node = harness.node
    diagnostics = harness.collect(DiagnosticArray, "/diagnostics")
    goals = harness.publisher(Goal, "/vrs_hq_segment/goal")
    text = harness.publisher(String, "/vrs_hq_segment/goal_text")

    def counts():
        snap = node.metrics.snapshot()
        return snap.goals_accepted, snap.goals_rejected

    text.publish(String(data="the red square"))
    harness.wait_for(lambda: counts() == (1, 0), 10.0, "text goal counted once")
    for _ in range(3):  # identical REPLACE: no re-grounding, not counted
        goals.publish(Goal(goal_id="text", sentence="the red square", action=Goal.ACTION_REPLACE))
    goals.publish(Goal(goal_id="text", sentence="x" * 20_000, action=Goal.ACTION_REPLACE))
    goals.publish(Goal(goal_id="text", sentence="the\x1b[2J square", action=Goal.ACTION_REPLACE))
    harness.wait_for(lambda: counts() == (1, 2), 10.0, "long + control sentences rejected")
    assert "control character" in node.metrics.snapshot().last_error
    goals.publish(Goal(action=9))
    harness.wait_for(lambda: counts() == (1, 3), 10.0, "bad goal")
    harness.wait_for(lambda: diagnostics and diagnostics[-1].status[0].level
                     == DiagnosticStatus.WARN, 10.0, "WARN after the bad goal")
    harness.wait_for(lambda: diagnostics[-1].status[0].level == DiagnosticStatus.OK, 10.0,
                     "OK again after output.warn_hold_s of clean input")
    status = diagnostics[-1].status[0]
    assert status.hardware_id == "cpu"  # the device in use, not the parameter ("auto")
    assert {kv.key: kv.value for kv in status.values}["goals_rejected"] == "3"

    ok = TransitionCallbackReturn.SUCCESS
    assert node.trigger_deactivate() == ok and node.trigger_activate() == ok
    snap = node.metrics.snapshot()
    assert counts() == (0, 0) and snap.last_error == ""  # re-applied goals are not counted
    assert node._goals.book.goals == {"text": "the red square"}


def test_a_nul_in_a_sentence_is_refused_with_the_reason(make_harness, tiny_model_dir):
    from std_msgs.msg import String

    node = make_harness(tiny_model_dir).node
    node._goals.on_text(String(data="the red\0 square"))  # the callback, as rclpy would call it

    snap = node.metrics.snapshot()
    assert (snap.goals_accepted, snap.goals_rejected) == (0, 1)
    assert "NUL character at position 7" in snap.last_error
    assert node._goals.book.goals == {}


def test_a_sim_time_clock_jump_restarts_the_stream(make_harness, tiny_model_dir, image_factory):
    from builtin_interfaces.msg import Time
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Image
    from vrs_hq_ros.msg import SegmentationResult

    harness = make_harness(tiny_model_dir, use_sim_time=True)
    node = harness.node
    results = harness.collect(SegmentationResult, "/vrs_hq_segment/result")
    images = harness.publisher(Image, "/image")
    clock = harness.publisher(Clock, "/clock")

    def set_clock(sec):
        clock.publish(Clock(clock=Time(sec=sec)))
        harness.wait_for(lambda: node.get_clock().now().nanoseconds == sec * 10**9, 10.0,
                         f"/clock at {sec} s")

    def send(stamp_ns, what):
        msg = image_factory(stamp_ns)
        images.publish(msg)
        return _results_for(harness, results, msg, what)

    set_clock(100)
    send(1_000_000_000, "first frame")
    send(1_033_000_000, "second frame")
    set_clock(50)  # a simulator reset: the stamps alone would not show it yet
    send(1_066_000_000, "frame after the clock jump")

    assert node.metrics.snapshot().restarts_by_cause == {"clock": 2}  # 0 → 100 s, 100 → 50 s
