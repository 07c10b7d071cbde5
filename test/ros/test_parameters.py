"""Parameters: declared = config/segment.yaml, ranges in descriptors, bad values rejected."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vrs_hq_ros.ros.parameters import (
    SPECS,
    NodeSettings,
    ParameterValueError,
    settings_fields,
)

REPO = Path(__file__).resolve().parents[2]
# Declared by rclpy itself on every node, not by SegmentNode.
ROS_BUILTIN = {"use_sim_time", "start_type_description_service"}


def _flatten(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _yaml_values() -> dict:
    doc = yaml.safe_load((REPO / "config" / "segment.yaml").read_text())
    return _flatten(doc["/**"]["ros__parameters"])


@pytest.fixture
def idle_node(ros_context, tmp_path):
    """A SegmentNode that is never configured (no model needed)."""
    from rclpy.parameter import Parameter

    from vrs_hq_ros.ros.segment_node import SegmentNode

    node = SegmentNode("param_test", context=ros_context,
                       parameter_overrides=[Parameter("model.path", value=str(tmp_path))])
    yield node
    node.destroy_node()


@pytest.mark.ros
def test_every_declared_parameter_is_in_the_yaml_and_vice_versa(idle_node):
    declared = set(idle_node._parameters) - ROS_BUILTIN

    assert declared == set(_yaml_values())


def test_yaml_values_are_valid_and_settings_mirror_the_specs():
    NodeSettings.from_values(_yaml_values())

    assert settings_fields() == {spec.attribute for spec in SPECS}


@pytest.mark.ros
def test_descriptors_carry_ranges_and_read_only(idle_node):
    depth = idle_node.describe_parameter("queue.depth")
    alpha = idle_node.describe_parameter("model.alpha")

    assert (depth.integer_range[0].from_value, depth.integer_range[0].to_value) == (1, 100)
    assert alpha.floating_point_range[0].to_value == 1.0
    assert idle_node.describe_parameter("topics.image").read_only
    assert "drop_oldest" in idle_node.describe_parameter("queue.policy").description


@pytest.mark.ros
@pytest.mark.parametrize(("name", "value", "reason"), [
    ("queue.depth", 0, "range"),
    ("model.alpha", 1.5, "range"),
    ("queue.policy", "random", "not one of"),
    ("model.device", "gpu0", "model.device"),
    ("engine.stride", 100, "exceeds engine.window_length"),
    ("topics.image", "/other", "read-only"),
    ("queue.depth", "three", "type"),
])
def test_invalid_changes_are_rejected_with_a_reason(idle_node, name, value, reason):
    from rclpy.parameter import Parameter

    before = idle_node.get_parameter(name).value
    result = idle_node.set_parameters([Parameter(name, value=value)])[0]

    assert not result.successful
    assert reason in result.reason
    assert idle_node.get_parameter(name).value == before


@pytest.mark.ros
def test_a_valid_change_is_accepted(idle_node):
    from rclpy.parameter import Parameter

    result = idle_node.set_parameters([Parameter("queue.depth", value=4)])[0]

    assert result.successful and idle_node.get_parameter("queue.depth").value == 4


@pytest.mark.ros
def test_invalid_start_up_values_stop_the_node_with_a_named_error(ros_context):
    from rclpy.exceptions import InvalidParameterValueException
    from rclpy.parameter import Parameter

    from vrs_hq_ros.ros.segment_node import SegmentNode

    with pytest.raises(ParameterValueError, match="queue.policy"):
        SegmentNode("bad_choice", context=ros_context,
                    parameter_overrides=[Parameter("queue.policy", value="bogus")])
    with pytest.raises(InvalidParameterValueException):
        SegmentNode("bad_range", context=ros_context,
                    parameter_overrides=[Parameter("queue.depth", value=0)])


def test_settings_from_values_checks_combinations_and_unknown_names():
    with pytest.raises(ParameterValueError, match="frames_per_window"):
        NodeSettings.from_values({"engine.window_length": 4, "engine.stride": 2,
                                  "engine.frames_per_window": 8})
    with pytest.raises(ParameterValueError, match="unknown parameters"):
        NodeSettings.from_values({"model.pth": "x"})
