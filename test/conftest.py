"""Shared fixtures: an isolated, loopback-only ROS 2 context for tests that use rclpy."""

from __future__ import annotations

import os
import random

import pytest

# DDS discovery stays on this machine; set before rclpy loads the middleware.
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _messages_built() -> bool:
    try:
        import vrs_hq_ros.msg  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def ros_context():
    """A fresh rclpy Context on a random DDS domain, so parallel test runs never cross-talk."""
    rclpy = pytest.importorskip("rclpy", reason="rclpy is not installed (run scripts/setup.sh)")
    if not _messages_built():
        pytest.fail("vrs_hq_ros messages are not importable: "
                    "run scripts/setup.sh, then source scripts/env.sh")
    context = rclpy.context.Context()
    rclpy.init(context=context, domain_id=random.Random(os.getpid()).randint(1, 200))
    try:
        yield context
    finally:
        context.try_shutdown()
