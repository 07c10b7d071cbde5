"""The package's messages cross real DDS (rclpy + Fast DDS) unchanged."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytestmark = pytest.mark.ros


def _exchange(context, msg_type, message, topic):
    """Publish ``message`` until one copy arrives on a subscriber in the same context."""
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node

    received = []
    node = Node("roundtrip_test", context=context)
    sub = node.create_subscription(msg_type, topic, received.append, 10)
    pub = node.create_publisher(msg_type, topic, 10)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    deadline = time.monotonic() + 10.0
    try:
        while not received and time.monotonic() < deadline:
            pub.publish(message)
            executor.spin_once(timeout_sec=0.1)
    finally:
        node.destroy_subscription(sub)
        node.destroy_node()
        executor.shutdown()
    assert received, f"no {msg_type.__name__} received within 10 s"
    return received[0]


def test_goal_round_trips_with_header(ros_context):
    from vrs_hq_ros.msg import Goal

    goal = Goal(goal_id="mug", sentence="the mug the person will pick up?",
                action=Goal.ACTION_REPLACE)
    goal.header.stamp.sec, goal.header.stamp.nanosec = 1700000000, 123456789
    goal.header.frame_id = "operator"

    got = _exchange(ros_context, Goal, goal, "test_goal")

    assert got == goal
    assert got.header.stamp.nanosec == 123456789


def test_segmentation_result_round_trips_with_mask(ros_context):
    from geometry_msgs.msg import Point
    from vrs_hq_ros.msg import GoalResult, SegmentationResult

    mask = np.zeros((48, 64), np.uint8)
    mask[10:20, 30:50] = 255
    result = SegmentationResult(latency=0.0625)  # float32-exact values compare equal
    result.header.stamp.sec, result.header.stamp.nanosec = 42, 7
    result.header.frame_id = "camera_color_optical_frame"
    goal = GoalResult(goal_id="mug", sentence="the red mug", track_id=3,
                      state=GoalResult.STATE_TRACKED, score=0.75, area=200, label=1, window_id=5)
    goal.bbox.x_offset, goal.bbox.y_offset, goal.bbox.width, goal.bbox.height = 30, 10, 20, 10
    goal.centroid = Point(x=39.5, y=14.5, z=0.0)
    goal.mask.header = result.header
    goal.mask.height, goal.mask.width = mask.shape
    goal.mask.encoding, goal.mask.step = "mono8", mask.shape[1]
    goal.mask.data = mask.tobytes()
    goal.keyframe_stamp.sec = 41
    goal.has_point = True
    goal.point.header.frame_id = "camera_depth_optical_frame"
    goal.point.point = Point(x=0.1, y=-0.2, z=0.8)
    result.goals = [goal]

    got = _exchange(ros_context, SegmentationResult, result, "test_result")

    assert got == result
    assert got.header.frame_id == "camera_color_optical_frame"
    received_mask = np.frombuffer(bytes(got.goals[0].mask.data), np.uint8).reshape(48, 64)
    np.testing.assert_array_equal(received_mask, mask)
