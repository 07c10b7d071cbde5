"""One live replay session: an rclpy context, a peer node, the player and the recorder."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import rclpy
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter

from vrs_hq_ros.eval.bags import BagTopics, read_bag
from vrs_hq_ros.ros.replay.player import BagPlayer
from vrs_hq_ros.ros.replay.recorder import LiveReplayReport, ResultRecorder, score_recording


def replay_bag(bag: Path, node_name: str = "/vrs_hq_segment", rate: float = 1.0,
               model: Path | None = None, settle_s: float = 5.0) -> LiveReplayReport:
    """Play ``bag`` into the node ``node_name`` in real time (÷ ``rate``) and score its answers.

    The node is one already running, or, with ``model``, one started in this process. Waits
    for the node to subscribe to the bag's image topic and its own goal topic before playing,
    and ``settle_s`` after the last message for late results.
    """
    rclpy.init()
    executor = MultiThreadedExecutor(num_threads=4)
    peer = Node("vrs_hq_replay")
    executor.add_node(peer)
    if model is not None:
        from vrs_hq_ros.ros.segment_node import SegmentNode

        executor.add_node(SegmentNode(node_name.strip("/"), parameter_overrides=[
            Parameter("model.path", value=str(model)), Parameter("autostart", value=True)]))
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        recorder = ResultRecorder(peer, node_name)
        player = BagPlayer(peer, bag, rate=rate)
        # the node's own goal topic too: a goal sent before it subscribes would be lost
        own_goal = "/" + node_name.strip("/") + "/goal"
        player.wait_for_subscribers([t for t in (BagTopics().image, own_goal)
                                     if t in player.topics], timeout_s=60.0)
        stats = player.play()
        time.sleep(settle_s)
        return score_recording(read_bag(bag), recorder, stats.sent_wall_s)
    finally:
        executor.shutdown(timeout_sec=5.0)
        rclpy.try_shutdown()
