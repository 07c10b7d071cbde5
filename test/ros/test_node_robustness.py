"""Bad images and floods of frames: the node stays up, stays bounded and counts everything."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.ros


def _wait_result(harness, results, header, what="result"):
    harness.wait_for(lambda: any(r.header == header for r in results), 30.0, what)


def test_malformed_images_are_counted_per_cause_and_the_node_keeps_running(
        make_harness, tiny_model_dir, image_factory):
    from diagnostic_msgs.msg import DiagnosticArray
    from sensor_msgs.msg import Image
    from vrs_hq_ros.msg import NodeStatus, SegmentationResult

    harness = make_harness(tiny_model_dir)
    results = harness.collect(SegmentationResult, "/vrs_hq_segment/result")
    statuses = harness.collect(NodeStatus, "/vrs_hq_segment/status")
    diagnostics = harness.collect(DiagnosticArray, "/diagnostics")
    images = harness.publisher(Image, "/image")
    good = image_factory(1_000_000_000)
    images.publish(good)
    _wait_result(harness, results, good.header, "first good frame")

    wrong_step = image_factory(2_000_000_000)
    wrong_step.step = 10
    unknown = image_factory(3_000_000_000)
    unknown.encoding = "yuv422_yuy2"
    empty = Image(encoding="rgb8")
    for bad in (wrong_step, unknown, empty):
        images.publish(bad)
    harness.wait_for(lambda: harness.node.metrics.snapshot().frames_rejected == 3, 10.0,
                     "three rejections")
    resized = image_factory(4_000_000_000, hw=(32, 48))  # a new size: tracks restart
    images.publish(resized)
    _wait_result(harness, results, resized.header, "frame of a new size")
    after = image_factory(5_000_000_000)
    images.publish(after)
    _wait_result(harness, results, after.header, "good frame after the bad ones")

    snap = harness.node.metrics.snapshot()
    assert snap.rejected_by_cause == {"layout": 1, "encoding": 1, "empty": 1}
    assert snap.restarts_by_cause == {"size": 2}  # there and back
    assert snap.frames_received == 6 and snap.frames_processed == 3
    harness.wait_for(lambda: statuses and statuses[-1].frames_rejected == 3, 10.0, "status")
    assert "zero size" in statuses[-1].last_error
    # diagnostics go out on a timer: wait for one published after the second restart too
    harness.wait_for(lambda: diagnostics and _diag(diagnostics[-1], "frames_rejected") == "3"
                     and _diag(diagnostics[-1], "restarts_size") == "2", 10.0, "diagnostics")
    assert _diag(diagnostics[-1], "rejected_layout") == "1"
    assert _diag(diagnostics[-1], "restarts_size") == "2"


def _diag(array, key):
    return {kv.key: kv.value for kv in array.status[0].values}.get(key)


def test_a_flood_of_frames_keeps_the_queue_bounded_counts_drops_and_serves_the_latest(
        make_harness, tiny_model_dir, image_factory):
    from sensor_msgs.msg import Image
    from vrs_hq_ros.msg import SegmentationResult

    # Reliable transport, so every frame reaches the node and only its own queue drops.
    harness = make_harness(tiny_model_dir, **{"qos.reliability": "reliable", "qos.depth": 100})
    results = harness.collect(SegmentationResult, "/vrs_hq_segment/result")
    images = harness.publisher(Image, "/image", 100)
    sent = [image_factory(1_000_000_000 + i * 1_000_000, seed=i) for i in range(40)]

    for msg in sent:
        images.publish(msg)
    node = harness.node
    harness.wait_for(lambda: node.metrics.snapshot().frames_received == 40, 20.0, "all frames")
    harness.wait_for(lambda: (lambda s: s.frames_processed + s.frames_dropped == 40)(
        node.metrics.snapshot()), 60.0, "queue drained")

    snap = node.metrics.snapshot()
    assert snap.frames_dropped > 0
    assert node._io.queue.max_seen <= 1  # queue.depth defaults to 1
    assert node._io.queue.dropped == snap.frames_dropped
    harness.wait_for(lambda: len(results) == snap.frames_processed, 10.0, "results published")
    served = [r.header for r in results]
    assert served[-1] == sent[-1].header  # latest frame wins
    stamps = [h.stamp.sec * 10**9 + h.stamp.nanosec for h in served]
    assert stamps == sorted(stamps)
