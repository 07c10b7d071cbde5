"""Lifecycle transitions of the node, driven directly and through the lifecycle services."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.ros


def _state(node) -> str:
    return node._state_machine.current_state[1]


def test_configure_activate_deactivate_activate_cleanup(
        make_harness, tiny_model_dir, image_factory):
    from rclpy.lifecycle import TransitionCallbackReturn
    from sensor_msgs.msg import Image
    from vrs_hq_ros.msg import Goal, SegmentationResult

    harness = make_harness(tiny_model_dir, autostart=False)
    node = harness.node
    results = harness.collect(SegmentationResult, "/vrs_hq_segment/result")
    ok = TransitionCallbackReturn.SUCCESS
    assert _state(node) == "unconfigured" and node._model is None

    assert node.trigger_configure() == ok and _state(node) == "inactive"
    assert node._model is not None and node._io is None
    assert node.trigger_activate() == ok and _state(node) == "active"
    images = harness.publisher(Image, "/image")
    goals = harness.publisher(Goal, "/vrs_hq_segment/goal")
    goals.publish(Goal(goal_id="cup", sentence="the red square", action=Goal.ACTION_ADD))
    harness.wait_for(lambda: node.metrics.snapshot().goals_accepted == 1, 10.0, "goal")

    assert node.trigger_deactivate() == ok and _state(node) == "inactive"
    assert node._io is None
    harness.wait_for(lambda: images.get_subscription_count() == 0, 10.0, "image sub removed")

    assert node.trigger_activate() == ok and _state(node) == "active"
    harness.wait_for(lambda: images.get_subscription_count() == 1, 10.0, "image sub back")
    frame = image_factory(7_000_000_000)
    images.publish(frame)
    harness.wait_for(lambda: any(r.header == frame.header for r in results), 30.0, "result")
    result = next(r for r in results if r.header == frame.header)
    assert [g.goal_id for g in result.goals] == ["cup"]  # goals survive deactivate

    assert node.trigger_deactivate() == ok
    assert node.trigger_cleanup() == ok and _state(node) == "unconfigured"
    assert node._model is None and node._io is None


def test_a_missing_model_fails_configure_with_a_readable_error(make_harness, tmp_path):
    from rclpy.lifecycle import TransitionCallbackReturn

    missing = tmp_path / "no_such_model"
    node = make_harness(missing, autostart=False).node

    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert _state(node) == "unconfigured"
    assert str(missing) in node.last_error and "not a directory" in node.last_error


def test_autostart_with_a_missing_model_leaves_the_node_unconfigured(make_harness, tmp_path):
    node = make_harness(tmp_path / "absent").node

    assert _state(node) == "unconfigured"
    assert "configure failed" in node.last_error


def test_lifecycle_services_drive_the_node(make_harness, tiny_model_dir):
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState, GetState

    harness = make_harness(tiny_model_dir, autostart=False)
    change = harness.peer.create_client(ChangeState, "/vrs_hq_segment/change_state")
    get = harness.peer.create_client(GetState, "/vrs_hq_segment/get_state")
    assert change.wait_for_service(10.0) and get.wait_for_service(10.0)

    configured = change.call(ChangeState.Request(
        transition=Transition(id=Transition.TRANSITION_CONFIGURE)), timeout_sec=30.0)
    activated = change.call(ChangeState.Request(
        transition=Transition(id=Transition.TRANSITION_ACTIVATE)), timeout_sec=30.0)
    state = get.call(GetState.Request(), timeout_sec=10.0)

    assert configured.success and activated.success
    assert state.current_state.label == "active"
