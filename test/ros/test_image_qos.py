"""Image QoS: what the node receives from reliable and best-effort cameras."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def _camera_frames(pub, peer, hw, rate_hz: float, seconds: float) -> int:
    """Publish rgb8 frames of size ``hw`` at ``rate_hz`` for ``seconds``; return frames sent."""
    from sensor_msgs.msg import Image

    rgb = np.random.default_rng(0).integers(0, 255, (*hw, 3), dtype=np.uint8)
    data = rgb.tobytes()
    sent, start = 0, time.monotonic()
    while sent < rate_hz * seconds:
        msg = Image(height=hw[0], width=hw[1], encoding="rgb8", step=hw[1] * 3, data=data)
        msg.header.stamp = peer.get_clock().now().to_msg()
        msg.header.frame_id = "camera"
        pub.publish(msg)
        sent += 1
        time.sleep(max(0.0, start + sent / rate_hz - time.monotonic()))
    return sent


def test_a_reliable_640x480_camera_at_30_hz_is_received_with_default_parameters(tiny_model_dir):
    """The node as users start it (its own process, config/segment.yaml) counts >= 95 %."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from vrs_hq_ros.msg import NodeStatus

    domain = random.Random(os.getpid() + 7).randint(1, 200)
    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", ROS_DOMAIN_ID=str(domain))
    env["PYTHONPATH"] = f"{REPO}{os.pathsep}{env.get('PYTHONPATH', '')}"
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "segment_node"), "--ros-args", "--params-file",
         str(REPO / "config" / "segment.yaml"), "-p", f"model.path:={tiny_model_dir}",
         "-p", "model.device:=cpu", "-p", "autostart:=true"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    context = rclpy.context.Context()
    rclpy.init(context=context, domain_id=domain)
    peer = rclpy.create_node("qos_test_camera", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(peer)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    status: list = []
    reliable = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    peer.create_subscription(NodeStatus, "/vrs_hq_segment/status", status.append, reliable)
    pub = peer.create_publisher(Image, "/image", reliable)
    try:
        deadline = time.monotonic() + 120
        while pub.get_subscription_count() == 0 or not status:
            assert time.monotonic() < deadline and proc.poll() is None, "node did not start"
            time.sleep(0.1)
        sent = _camera_frames(pub, peer, (480, 640), 30.0, 5.0)
        deadline = time.monotonic() + 10
        while status[-1].frames_received < sent and time.monotonic() < deadline:
            time.sleep(0.1)
        received = status[-1].frames_received
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        executor.shutdown()
        peer.destroy_node()
        context.try_shutdown()

    assert received >= 0.95 * sent


def test_auto_reliability_follows_a_best_effort_publisher_that_appears_later(
        make_harness, tiny_model_dir):
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    h = make_harness(tiny_model_dir)
    assert h.node._io.image_reliability == ReliabilityPolicy.RELIABLE  # no publisher yet
    best_effort = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
    pub = h.publisher(Image, "/image", best_effort)

    sent = _camera_frames(pub, h.peer, (64, 96), 10.0, 1.0)

    h.wait_for(lambda: h.node.metrics.snapshot().frames_received > 0, 5.0, "frames")
    assert h.node._io.image_reliability == ReliabilityPolicy.BEST_EFFORT
    assert sent == 10



def test_frames_missing_between_header_stamps_are_reported_in_status_and_diagnostics(
        make_harness, tiny_model_dir, image_factory):
    from diagnostic_msgs.msg import DiagnosticArray
    from sensor_msgs.msg import Image
    from vrs_hq_ros.msg import NodeStatus

    h = make_harness(tiny_model_dir)
    diagnostics = h.collect(DiagnosticArray, "/diagnostics")
    statuses = h.collect(NodeStatus, "/vrs_hq_segment/status")
    pub = h.publisher(Image, "/image")
    sent = [i for i in range(12) if i not in (6, 7, 9)]  # the camera sent 12, 3 got lost
    for i in sent:
        pub.publish(image_factory(1_000_000_000 + i * 33_000_000))
        time.sleep(0.02)
    h.wait_for(lambda: h.node.metrics.snapshot().frames_received == len(sent), 10.0, "frames")

    def lost() -> str | None:
        for msg in reversed(diagnostics):
            values = {kv.key: kv.value for s in msg.status for kv in s.values}
            if "frames_lost_before_node" in values:
                return values["frames_lost_before_node"]
        return None

    h.wait_for(lambda: lost() == "3", 5.0, f"lost frames in /diagnostics, last {lost()}")
    h.wait_for(lambda: statuses and statuses[-1].frames_lost_before_node == 3, 5.0,
               "lost frames in ~/status")
