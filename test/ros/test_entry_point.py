"""The node's executables start with config/segment.yaml and stop cleanly on Ctrl-C."""

from __future__ import annotations

import os
import random
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.ros

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict:
    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", PYTHONUNBUFFERED="1",
               PYTHONFAULTHANDLER="1",  # a crash at shutdown prints its stack into the output
               ROS_DOMAIN_ID=str(random.Random(os.getpid() + 1).randint(1, 200)))
    env["PYTHONPATH"] = f"{REPO}{os.pathsep}{env.get('PYTHONPATH', '')}"
    return env


def _start(*ros_args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "segment_node"), "--ros-args",
         "--params-file", str(REPO / "config" / "segment.yaml"), *ros_args],
        cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _read_until(proc: subprocess.Popen, needle: str, timeout_s: float) -> str:
    """Output of ``proc`` up to the line containing ``needle`` (fails after ``timeout_s``)."""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    seen = ""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if selector.select(timeout=0.5):
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            seen += line
            if needle in line:
                return seen
    proc.kill()
    pytest.fail(f"{needle!r} not printed within {timeout_s} s:\n{seen}")


def _crash_report(output: str) -> str:
    """faulthandler's report from its start (the crashing thread comes first), else the tail."""
    start = output.find("Fatal Python error")
    return output[start:start + 6000] if start >= 0 else output[-3000:]


def test_segment_node_script_autostarts_from_the_yaml_and_stops_on_sigint(tiny_model_dir):
    proc = _start("-p", f"model.path:={tiny_model_dir}", "-p", "model.device:=cpu",
                  "-p", "autostart:=true", "-p", "topics.image:=/entry_test/image")
    try:
        out = _read_until(proc, "active: images on /entry_test/image", 120.0)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
        rest = proc.stdout.read()
    finally:
        proc.kill()

    assert "configured: model" in out
    assert code == 0, _crash_report(rest)


def test_sigint_during_start_up_is_a_clean_stop(tiny_model_dir):
    """Ctrl-C while the node is still starting (before spinning) exits 0 without a traceback."""
    proc = _start("-p", f"model.path:={tiny_model_dir}", "-p", "model.device:=cpu",
                  "-p", "autostart:=true", "-p", "topics.image:=/entry_test/early")
    try:
        _read_until(proc, "configured: model", 120.0)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
        rest = proc.stdout.read()
    finally:
        proc.kill()

    assert code == 0, _crash_report(rest)
    assert "Traceback" not in rest, rest[-3000:]


def test_an_invalid_parameter_exits_with_status_2_and_the_reason():
    proc = _start("-p", "queue.policy:=sometimes")
    try:
        out, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()

    assert proc.returncode == 2
    assert "queue.policy" in out and "not one of" in out
