"""launch/segment.launch.py: parsed here; loaded with launch_ros where it is installed."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from vrs_hq_ros.ros.parameters import SPEC_BY_NAME

REPO = Path(__file__).resolve().parents[2]
LAUNCH_FILE = REPO / "launch" / "segment.launch.py"
ARGUMENTS = {"namespace", "camera_topic", "goal", "device", "config_file", "use_sim_time",
             "autostart"}


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and getattr(n.func, "id", getattr(n.func, "attr", None)) == name]


def test_launch_file_declares_the_documented_arguments():
    tree = ast.parse(LAUNCH_FILE.read_text())

    declared = {call.args[0].value for call in _calls(tree, "DeclareLaunchArgument")}
    used = {call.args[0].value for name in ("LaunchConfiguration", "text")
            for call in _calls(tree, name) if isinstance(call.args[0], ast.Constant)}

    assert declared == ARGUMENTS
    assert used == declared  # each argument is used, and only declared ones are


def test_launch_file_starts_the_installed_executable_with_known_parameters():
    tree = ast.parse(LAUNCH_FILE.read_text())
    (node,) = _calls(tree, "Node")
    keywords = {k.arg: k.value for k in node.keywords}

    assert ast.literal_eval(keywords["package"]) == "vrs_hq_ros"
    assert ast.literal_eval(keywords["executable"]) == "segment_node"
    assert (REPO / "scripts" / "segment_node").is_file()  # installed by CMakeLists.txt
    overrides = next(e for e in keywords["parameters"].elts if isinstance(e, ast.Dict))
    names = {ast.literal_eval(k) for k in overrides.keys}
    assert names - {"use_sim_time"} <= set(SPEC_BY_NAME)
    config_default = next(c for c in _calls(tree, "DeclareLaunchArgument")
                          if c.args[0].value == "config_file")
    assert "segment.yaml" in ast.unparse(config_default)


def test_launch_description_loads_with_launch_ros():
    pytest.importorskip("launch_ros", reason="launch_ros is not installed here (PyPI wheels "
                        "lack it); the ast tests above check the file instead")
    from launch.actions import DeclareLaunchArgument
    from launch_ros.actions import Node

    spec = importlib.util.spec_from_file_location("segment_launch", LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()

    entities = description.entities
    assert {e.name for e in entities if isinstance(e, DeclareLaunchArgument)} == ARGUMENTS
    assert sum(isinstance(e, Node) for e in entities) == 1
