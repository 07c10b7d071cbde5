"""The segmentation node's outputs: per-frame results and the periodic status.

``ResultPublisher`` exists while the node is active (SegmentationResult, label image,
overlay, 3D points from depth); ``StatusPublisher`` from configure to cleanup (``~/status``
and ``/diagnostics``).
"""

from __future__ import annotations

from collections.abc import Callable

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from vrs_hq_ros.msg import NodeStatus, SegmentationResult
from vrs_hq_ros.ros.depth_point import PinholeIntrinsics, mask_point_m
from vrs_hq_ros.ros.depth_sync import DepthBuffer
from vrs_hq_ros.ros.frame_queue import QueuedFrame
from vrs_hq_ros.ros.image_conversion import depth_to_metres
from vrs_hq_ros.ros.node_metrics import MetricsSnapshot
from vrs_hq_ros.ros.parameters import NodeSettings
from vrs_hq_ros.ros.result_messages import (
    label_image,
    label_image_msg,
    overlay_msg,
    segmentation_result_msg,
)
from vrs_hq_ros.ros.status_messages import EngineFigures, diagnostic_array_msg, node_status_msg


class ResultPublisher:
    """Publishes one frame's engine result on the result, label and overlay topics.

    ``warn_once(key, text)`` reports a depth problem once (the result goes out without
    points).
    """

    def __init__(self, node, settings: NodeSettings, depth: DepthBuffer,
                 warn_once: Callable[[str, str], None]):
        self._settings = settings
        self._depth = depth
        self._warn_once = warn_once
        qos = QoSProfile(depth=settings.qos_depth, reliability=ReliabilityPolicy.RELIABLE)
        self.publishers = {
            "result": node.create_publisher(SegmentationResult, settings.topics_result, qos),
            "labels": node.create_publisher(Image, settings.topics_labels, qos),
            "overlay": node.create_publisher(Image, settings.topics_overlay, qos)}

    def publish(self, frame: QueuedFrame, result, latency_s: float) -> None:
        """Publish ``result`` (an engine ``FrameResult``) for ``frame``."""
        labels = label_image(result, frame.rgb.shape[:2])
        msg = segmentation_result_msg(result, frame.header, latency_s,
                                      self._settings.output_publish_masks,
                                      self._point_lookup(frame))
        self.publishers["result"].publish(msg)
        self.publishers["labels"].publish(label_image_msg(labels, frame.header))
        overlay = self.publishers["overlay"]
        if overlay.get_subscription_count() > 0:  # rendering costs; skip it when unwatched
            overlay.publish(overlay_msg(frame.rgb, labels, frame.header,
                                        self._settings.output_overlay_opacity))

    def destroy(self, node) -> None:
        """Destroy the publishers."""
        for pub in self.publishers.values():
            node.destroy_publisher(pub)

    def _point_lookup(self, frame: QueuedFrame):
        if not self._settings.input_use_depth:
            return None
        pair = self._depth.nearest(frame.stamp_ns,
                                   int(self._settings.input_depth_slop_s * 1e9))
        if pair is None:
            return None
        try:
            depth_m = depth_to_metres(pair.depth)
            intrinsics = PinholeIntrinsics.from_camera_info(pair.info)
        except ValueError as exc:  # bad depth or camera_info: no point, node goes on
            self._warn_once(f"depth:{type(exc).__name__}", f"no 3D points: {exc}")
            return None
        frame_id = pair.depth.header.frame_id

        def lookup(goal):
            point = mask_point_m(goal.mask_hw, depth_m, intrinsics)
            return None if point is None else (*point, frame_id)
        return lookup


class StatusPublisher:
    """Publishes ``NodeStatus`` on ``topic`` and one ``DiagnosticStatus`` on /diagnostics."""

    def __init__(self, node, topic: str):
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self._status = node.create_publisher(NodeStatus, topic, qos)
        self._diagnostics = node.create_publisher(DiagnosticArray, "/diagnostics", qos)
        self._lost_logged = 0

    def publish(self, node, snap: MetricsSnapshot, figures: EngineFigures, active: bool,
                lost_before_node: int, hardware_id: str, warn_hold_s: float) -> None:
        """Publish both; warn (throttled) when more frames were lost before the node."""
        stamp = node.get_clock().now().to_msg()
        self._status.publish(node_status_msg(snap, figures, stamp, lost_before_node))
        self._diagnostics.publish(diagnostic_array_msg(
            snap, figures, stamp, f"{node.get_name()}: segmentation", hardware_id,
            active=active, warn_hold_s=warn_hold_s, lost_before_node=lost_before_node))
        if lost_before_node > self._lost_logged:
            self._lost_logged = lost_before_node
            node.get_logger().warning(
                f"{lost_before_node} frames lost before the node (header stamp gaps); "
                "best-effort images this size? see qos.reliability", throttle_duration_sec=10)

    def restart_lost_count(self) -> None:
        """Start the lost-frame warning over (a new activation restarts the counter)."""
        self._lost_logged = 0

    def destroy(self, node) -> None:
        """Destroy the publishers."""
        node.destroy_publisher(self._status)
        node.destroy_publisher(self._diagnostics)
