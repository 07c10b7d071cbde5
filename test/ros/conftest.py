"""Fixtures for node tests: a tiny saved model, and a node + peer spinning in the background."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

IMAGE_HW = (64, 96)  # small frames keep the tiny model fast on CPU
NODE_NAME = "vrs_hq_segment"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A random tiny VRS-HQ saved with save_pretrained (what model.path points at)."""
    from vrs_hq_ros.model.config import VRSHQConfig
    from vrs_hq_ros.model.vrshq import VRSHQ

    path = tmp_path_factory.mktemp("tiny_vrshq")
    VRSHQ(VRSHQConfig.tiny()).save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def whole_frame_model_dir(tmp_path_factory):
    """A tiny model whose SAM2 decoder calls every pixel the object, with a confident score.

    Random tiny models ground nothing (their keyframe masks are empty), which would leave the
    mask, label, overlay and depth outputs untested. Zeroing the last layers of the mask
    decoder and setting their biases makes every mask logit about +27 and the object-score
    logit +5, so goals become TRACKED with whole-frame masks after their first keyframe.
    """
    import torch

    from vrs_hq_ros.model.config import VRSHQConfig
    from vrs_hq_ros.model.vrshq import VRSHQ

    model = VRSHQ(VRSHQConfig.tiny())
    decoder = model.sam2.sam_mask_decoder
    with torch.no_grad():
        decoder.conv_s0.weight.zero_()  # no high-res detail added to the upscaled embedding
        decoder.conv_s0.bias.zero_()
        upscale = decoder.output_upscaling[3]
        upscale.weight.zero_()
        upscale.bias.fill_(1.0)
        for mlp in decoder.output_hypernetworks_mlps:
            mlp.layers[-1].weight.zero_()
            mlp.layers[-1].bias.fill_(1.0)
        score = decoder.pred_obj_score_head.layers[-1]
        score.weight.zero_()
        score.bias.fill_(5.0)
    path = tmp_path_factory.mktemp("whole_frame_vrshq")
    model.save_pretrained(path)
    return path


def node_parameters(model_dir, **values):
    """rclpy Parameters for SegmentNode: the tiny model, autostart, plus ``values``."""
    from rclpy.parameter import Parameter

    merged = {"model.path": str(model_dir), "model.device": "cpu", "autostart": True,
              "output.status_period_s": 0.2, "engine.window_length": 4, "engine.stride": 4,
              "engine.frames_per_window": 2, **values}
    return [Parameter(name, value=value) for name, value in merged.items()]


def rgb_image(stamp_ns: int, frame_id: str = "camera", hw=IMAGE_HW, seed: int = 0):
    """A sensor_msgs/Image (rgb8) with a bright moving square on noise."""
    from sensor_msgs.msg import Image

    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 60, (*hw, 3), dtype=np.uint8)
    x = (stamp_ns // 1_000_000) % max(1, hw[1] - 16)
    rgb[8:24, x:x + 16] = (250, 40, 40)
    msg = Image(height=hw[0], width=hw[1], encoding="rgb8", is_bigendian=0, step=hw[1] * 3,
                data=rgb.tobytes())
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    msg.header.frame_id = frame_id
    return msg


class Harness:
    """The node under test and a peer node, spun by a MultiThreadedExecutor in a thread."""

    def __init__(self, context, node):
        from rclpy.executors import MultiThreadedExecutor
        from rclpy.node import Node

        self.context = context
        self.node = node
        self.peer = Node("test_peer", context=context)
        self.executor = MultiThreadedExecutor(num_threads=4, context=context)
        self.executor.add_node(node)
        self.executor.add_node(self.peer)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def publisher(self, msg_type, topic: str, qos=10):
        """A peer publisher, returned once the node's subscription has matched it."""
        pub = self.peer.create_publisher(msg_type, topic, qos)
        self.wait_for(lambda: pub.get_subscription_count() > 0, 10.0, f"no subscriber on {topic}")
        return pub

    def collect(self, msg_type, topic: str, qos=10) -> list:
        """Messages the peer receives on ``topic``, appended as they arrive."""
        received: list = []
        self.peer.create_subscription(msg_type, topic, received.append, qos)
        return received

    @staticmethod
    def wait_for(predicate: Callable[[], bool], timeout_s: float = 20.0, what: str = "") -> None:
        """Poll ``predicate`` until true; fail the test after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout_s} s: {what}")
            time.sleep(0.02)

    def close(self) -> None:
        """Stop spinning and destroy both nodes (always runs, even after a failure)."""
        self.executor.shutdown(timeout_sec=5.0)
        self._thread.join(5.0)
        self.node.shutdown()
        self.node.destroy_node()
        self.peer.destroy_node()


@pytest.fixture
def make_harness(ros_context):
    """``make_harness(**parameters)`` → a running Harness around a SegmentNode."""
    from vrs_hq_ros.ros.segment_node import SegmentNode

    harnesses: list[Harness] = []

    def make(model_dir, **values) -> Harness:
        node = SegmentNode(NODE_NAME, context=ros_context,
                           parameter_overrides=node_parameters(model_dir, **values))
        harness = Harness(ros_context, node)
        harnesses.append(harness)
        return harness

    yield make
    for harness in harnesses:
        harness.close()


@pytest.fixture
def image_factory():
    """``rgb_image`` as a fixture (test modules cannot import conftest under importlib mode)."""
    return rgb_image
