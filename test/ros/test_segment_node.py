"""End to end over real DDS: frames and goals in, results with the source header out."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.ros

RESULT = "/vrs_hq_segment/result"
GOAL = "/vrs_hq_segment/goal"
GOAL_TEXT = "/vrs_hq_segment/goal_text"


class _Client:
    """A test peer talking to the node: publishes frames and goals, reads results."""

    def __init__(self, harness, image_factory, image_qos=10):
        from sensor_msgs.msg import Image
        from std_msgs.msg import String
        from vrs_hq_ros.msg import Goal, SegmentationResult

        self.h = harness
        self.make_image = image_factory
        self.results = harness.collect(SegmentationResult, RESULT)
        self.labels = harness.collect(Image, "/vrs_hq_segment/labels")
        self.images = harness.publisher(Image, "/image", image_qos)
        self.goals = harness.publisher(Goal, GOAL)
        self.text = harness.publisher(String, GOAL_TEXT)
        self.stamp_ns = 1_700_000_000_000_000_000

    def frame(self, frame_id: str = "camera"):
        """Publish one frame and return its result (waits for it)."""
        self.stamp_ns += 33_000_000
        msg = self.make_image(self.stamp_ns, frame_id)
        self.images.publish(msg)
        self.h.wait_for(lambda: any(r.header == msg.header for r in self.results), 30.0,
                        f"result for frame {self.stamp_ns}")
        return next(r for r in self.results if r.header == msg.header), msg.header

    def frames_until_tracked(self, goal_id: str, limit: int = 30) -> list:
        """Publish frames until ``goal_id`` is TRACKED (its first keyframe arrived)."""
        answered = []
        for _ in range(limit):
            # A 10 Hz camera: the engine's worker gets time to catch up after the keyframe.
            time.sleep(0.1)
            answered.append(self.frame())
            goals = {g.goal_id: g for g in answered[-1][0].goals}
            if goal_id in goals and goals[goal_id].state == 1:  # GoalResult.STATE_TRACKED
                return answered
        io = self.h.node._io
        pytest.fail(f"goal {goal_id!r} not tracked within {limit} frames; engine: "
                    f"{io.engine.stats() if io else 'inactive'}")

    def goal(self, action: int, goal_id: str = "", sentence: str = "", accepted: bool = True):
        """Publish a Goal and wait until the node has accepted (or rejected) it."""
        from vrs_hq_ros.msg import Goal

        self._send(lambda: self.goals.publish(Goal(goal_id=goal_id, sentence=sentence,
                                                   action=action)), accepted)

    def say(self, sentence: str, commands: int):
        """Publish a text goal and wait for its ``commands`` engine commands."""
        from std_msgs.msg import String

        before = self.h.node.metrics.snapshot().goals_accepted
        self.text.publish(String(data=sentence))
        self.h.wait_for(lambda: self.h.node.metrics.snapshot().goals_accepted
                        == before + commands, 10.0, f"text goal {sentence!r}")

    def _send(self, publish, accepted: bool):
        before = self.h.node.metrics.snapshot()
        publish()
        self.h.wait_for(lambda: self._handled() == before.goals_accepted
                        + before.goals_rejected + 1, 10.0, "goal handled")
        rejected = self.h.node.metrics.snapshot().goals_rejected - before.goals_rejected
        assert rejected == (0 if accepted else 1), self.h.node.metrics.snapshot().last_error

    def _handled(self) -> int:
        snap = self.h.node.metrics.snapshot()
        return snap.goals_accepted + snap.goals_rejected


def _goal_ids(result) -> list[str]:
    return [g.goal_id for g in result.goals]


def test_every_frame_is_answered_with_its_own_header_and_a_label_image(
        make_harness, whole_frame_model_dir, image_factory):
    from vrs_hq_ros.msg import Goal, GoalResult

    client = _Client(make_harness(whole_frame_model_dir), image_factory)
    client.goal(Goal.ACTION_ADD, "cup", "the red square")

    answered = [client.frame(frame_id=f"camera_{i}") for i in range(4)]
    answered += client.frames_until_tracked("cup")

    for result, header in answered:
        assert result.header == header
        assert _goal_ids(result) == ["cup"]
        assert result.goals[0].sentence == "the red square"
        assert 0.0 <= result.goals[0].score <= 1.0
        assert result.latency > 0.0
    client.h.wait_for(lambda: len(client.labels) == len(answered), 10.0, "label images")
    assert [m.header for m in client.labels] == [h for _, h in answered]
    assert all((m.encoding, m.height, m.width) == ("mono8", 64, 96) for m in client.labels)
    goal = answered[-1][0].goals[0]
    assert goal.state == GoalResult.STATE_TRACKED and goal.score > 0.9
    assert goal.area == 64 * 96  # this model's masks cover the frame
    assert sum(1 for v in client.labels[-1].data if v == goal.label) == goal.area
    assert (goal.bbox.x_offset, goal.bbox.y_offset, goal.bbox.width, goal.bbox.height) == \
        (0, 0, 96, 64)
    assert (goal.centroid.x, goal.centroid.y) == pytest.approx((47.5, 31.5))


def test_goals_are_replaced_removed_and_cleared(make_harness, tiny_model_dir, image_factory):
    from vrs_hq_ros.msg import Goal

    client = _Client(make_harness(tiny_model_dir), image_factory)
    client.goal(Goal.ACTION_ADD, "cup", "the red square")
    first = client.frame()[0].goals[0]

    client.goal(Goal.ACTION_REPLACE, "cup", "the dark background")
    replaced = client.frame()[0].goals[0]
    client.goal(Goal.ACTION_ADD, "bowl", "the noise")
    both = client.frame()[0]
    client.goal(Goal.ACTION_ADD, "bowl", "a duplicate id", accepted=False)
    client.goal(Goal.ACTION_REMOVE, "cup")
    after_remove = client.frame()[0]
    client.goal(Goal.ACTION_CLEAR_ALL)
    after_clear = client.frame()[0]

    assert replaced.sentence == "the dark background"
    assert replaced.track_id != first.track_id
    assert sorted(_goal_ids(both)) == ["bowl", "cup"]
    assert len({g.label for g in both.goals}) == 2
    assert client.h.node.metrics.snapshot().goals_rejected == 1
    assert _goal_ids(after_remove) == ["bowl"]
    assert after_clear.goals == []


def test_a_text_goal_replaces_every_goal_and_an_empty_one_clears(
        make_harness, tiny_model_dir, image_factory):
    from vrs_hq_ros.msg import Goal

    client = _Client(make_harness(tiny_model_dir, **{"goals.text_goal_id": "spoken"}),
                     image_factory)
    client.goal(Goal.ACTION_ADD, "cup", "the red square")

    client.say("the bright square", commands=1)  # CLEAR_ALL + ADD: one goal input
    spoken = client.frame()[0]
    client.say("", commands=1)  # CLEAR_ALL
    cleared = client.frame()[0]

    assert _goal_ids(spoken) == ["spoken"]
    assert spoken.goals[0].sentence == "the bright square"
    assert cleared.goals == []


def test_a_best_effort_camera_publisher_is_received(make_harness, tiny_model_dir, image_factory):
    from rclpy.qos import qos_profile_sensor_data

    client = _Client(make_harness(tiny_model_dir), image_factory,
                     image_qos=qos_profile_sensor_data)

    result, header = client.frame()

    assert result.header == header


def test_overlay_is_rendered_only_while_someone_subscribes(
        make_harness, whole_frame_model_dir, image_factory):
    from sensor_msgs.msg import Image
    from vrs_hq_ros.msg import Goal

    client = _Client(make_harness(whole_frame_model_dir), image_factory)
    client.goal(Goal.ACTION_ADD, "cup", "the red square")
    overlay_pub = client.h.node._io.outputs.publishers["overlay"]
    unwatched = client.frames_until_tracked("cup")
    assert overlay_pub.get_subscription_count() == 0

    overlays = client.h.collect(Image, "/vrs_hq_segment/overlay")
    client.h.wait_for(lambda: overlay_pub.get_subscription_count() == 1, 10.0, "overlay sub")
    source_header = client.stamp_ns + 33_000_000
    _, header = client.frame()
    client.h.wait_for(lambda: len(overlays) >= 1, 10.0, "overlay image")

    assert all(h not in [m.header for m in overlays] for _, h in unwatched)
    overlay = overlays[-1]
    assert overlay.header == header
    assert (overlay.encoding, overlay.height, overlay.width) == ("rgb8", 64, 96)
    source = client.make_image(source_header, "camera")
    assert bytes(overlay.data) != bytes(source.data)  # the tracked goal is tinted


def test_depth_and_camera_info_give_a_point_for_every_non_empty_mask(
        make_harness, whole_frame_model_dir, image_factory):
    import numpy as np
    from sensor_msgs.msg import CameraInfo, Image
    from vrs_hq_ros.msg import Goal

    harness = make_harness(whole_frame_model_dir, **{"input.use_depth": True})
    client = _Client(harness, image_factory)
    depth_pub = harness.publisher(Image, "/depth/image")
    info_pub = harness.publisher(CameraInfo, "/depth/camera_info")
    client.goal(Goal.ACTION_ADD, "cup", "the red square")
    client.goal(Goal.ACTION_ADD, "all", "everything")

    points = []
    for _ in range(8):
        time.sleep(0.1)  # camera pace, as in frames_until_tracked
        stamp = client.stamp_ns + 33_000_000
        depth = Image(height=64, width=96, encoding="32FC1", step=96 * 4,
                      data=np.full((64, 96), 1.5, np.float32).tobytes())
        info = CameraInfo(width=96, height=64, k=[80.0, 0, 48, 0, 80.0, 32, 0, 0, 1])
        for msg in (depth, info):
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
            msg.header.frame_id = "depth_optical"
        depth_pub.publish(depth)
        info_pub.publish(info)
        harness.wait_for(lambda s=stamp: harness.node._depth.nearest(s, 0) is not None, 10.0,
                         "depth pair stored")
        points.extend(client.frame()[0].goals)

    assert any(goal.has_point for goal in points)  # goals are grounded within 8 frames
    for goal in points:
        assert goal.has_point == (goal.area > 0)
        if goal.has_point:
            assert goal.point.header.frame_id == "depth_optical"
            point = goal.point.point  # whole-frame mask: centroid (47.5, 31.5), K centre (48, 32)
            assert (point.x, point.y, point.z) == pytest.approx((-0.5 * 1.5 / 80,
                                                                 -0.5 * 1.5 / 80, 1.5))


def test_compressed_input_and_an_initial_sentence_from_parameters(
        make_harness, tiny_model_dir, image_factory):
    import cv2
    import numpy as np
    from sensor_msgs.msg import CompressedImage
    from vrs_hq_ros.msg import SegmentationResult

    harness = make_harness(tiny_model_dir, **{"input.compressed": True,
                                              "goals.initial_sentence": "the red square"})
    results = harness.collect(SegmentationResult, RESULT)
    publisher = harness.publisher(CompressedImage, "/image/compressed")
    raw = image_factory(3_000_000_000)
    rgb = np.frombuffer(bytes(raw.data), np.uint8).reshape(64, 96, 3)
    msg = CompressedImage(header=raw.header, format="png",
                          data=cv2.imencode(".png", rgb[:, :, ::-1])[1].tobytes())

    publisher.publish(msg)
    harness.wait_for(lambda: len(results) == 1, 30.0, "result of the compressed frame")

    assert results[0].header == raw.header
    assert [(g.goal_id, g.sentence) for g in results[0].goals] == [("text", "the red square")]
