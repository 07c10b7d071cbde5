"""The algorithm imports with rclpy absent: only vrs_hq_ros/ros/ may need ROS."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import vrs_hq_ros

CORE_PACKAGES = ("model", "tracking", "engine", "eval", "train", "cli")

# Runs in a fresh interpreter: any attempt to import rclpy (or a ROS message package) fails.
_PROBE = """
import importlib, sys
for blocked in ("rclpy", "rosidl_runtime_py", "sensor_msgs", "std_msgs", "builtin_interfaces"):
    sys.modules[blocked] = None
failed = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def _core_modules() -> list[str]:
    root = Path(vrs_hq_ros.__file__).parent
    names = ["vrs_hq_ros"]
    for package in CORE_PACKAGES:
        path = root / package
        if not path.is_dir():
            continue
        names.append(f"vrs_hq_ros.{package}")
        prefix = f"vrs_hq_ros.{package}."
        for info in pkgutil.walk_packages([str(path)], prefix):
            names.append(info.name)
    return names


def test_every_core_module_imports_without_rclpy():
    modules = _core_modules()
    assert "vrs_hq_ros.engine.results" in modules

    proc = subprocess.run([sys.executable, "-c", _PROBE, *modules],
                          capture_output=True, text=True, timeout=600)

    assert proc.returncode == 0, f"core modules need ROS:\n{proc.stdout}{proc.stderr}"


def test_the_probe_detects_an_rclpy_import():
    proc = subprocess.run([sys.executable, "-c", _PROBE, "rclpy"],
                          capture_output=True, text=True, timeout=60)

    assert proc.returncode == 1
    assert "rclpy" in proc.stdout


def test_no_module_outside_ros_imports_rclpy_even_lazily():
    """ROS calls live in vrs_hq_ros/ros/; elsewhere (the CLI too) they go through it."""
    import ast

    root = Path(vrs_hq_ros.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if (root / "ros") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "rclpy" or n.startswith("rclpy.") for n in names):
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")

    assert not offenders, offenders
