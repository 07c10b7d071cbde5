"""Engine ``FrameResult`` → SegmentationResult, mono8 label image and overlay image."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point, PointStamped
from sensor_msgs.msg import Image, RegionOfInterest

from vrs_hq_ros.engine.results import FrameResult, GoalFrameResult
from vrs_hq_ros.msg import GoalResult, SegmentationResult
from vrs_hq_ros.ros.image_conversion import ImageFields, mono8_to_fields, rgb_to_fields

# goal result -> (x, y, z metres, depth frame_id), or None when there is no point
PointLookup = Callable[[GoalFrameResult], tuple[float, float, float, str] | None]

# Distinct, saturated colours for the overlay, indexed by label (label 0 = background).
_PALETTE = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200],
                     [245, 130, 48], [145, 30, 180], [70, 240, 240], [240, 50, 230],
                     [210, 245, 60], [250, 190, 212]], np.uint8)


def _image(fields: ImageFields, header) -> Image:
    return Image(header=header, height=fields.height, width=fields.width,
                 encoding=fields.encoding, is_bigendian=fields.is_bigendian, step=fields.step,
                 data=fields.data)


def _time(stamp_ns: int) -> Time:
    return Time(sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000)


def goal_result_msg(goal: GoalFrameResult, header, with_mask: bool,
                    point: tuple[float, float, float, str] | None = None) -> GoalResult:
    """One goal's ``GoalResult`` (mask left empty unless ``with_mask``)."""
    msg = GoalResult(goal_id=goal.goal_id, sentence=goal.sentence, track_id=int(goal.track_id),
                     state=int(goal.state), score=float(goal.score), area=int(goal.area_px),
                     label=int(goal.label), window_id=int(goal.window_id),
                     keyframe_stamp=_time(int(goal.keyframe_stamp_ns)))
    if goal.bbox is not None:
        box = goal.bbox
        msg.bbox = RegionOfInterest(x_offset=box.x_min, y_offset=box.y_min,
                                    width=box.x_max - box.x_min, height=box.y_max - box.y_min)
    if goal.centroid_xy is not None:
        msg.centroid = Point(x=float(goal.centroid_xy[0]), y=float(goal.centroid_xy[1]), z=0.0)
    if with_mask:
        msg.mask = _image(mono8_to_fields(goal.mask_hw.astype(np.uint8) * 255), header)
    if point is not None:
        x, y, z, frame_id = point
        msg.has_point = True
        msg.point = PointStamped()
        msg.point.header.stamp = header.stamp
        msg.point.header.frame_id = frame_id
        msg.point.point = Point(x=x, y=y, z=z)
    return msg


def segmentation_result_msg(result: FrameResult, header, latency_s: float, with_masks: bool,
                            point_lookup: PointLookup | None = None) -> SegmentationResult:
    """Every goal of one frame, under the source image's ``header`` (unchanged)."""
    goals = [goal_result_msg(goal, header, with_masks,
                             point_lookup(goal) if point_lookup else None)
             for goal in result.goals]
    return SegmentationResult(header=header, goals=goals, latency=float(latency_s))


def label_image(result: FrameResult, shape_hw: tuple[int, int]) -> np.ndarray:
    """uint8 ``[H, W]``: each goal's pixels carry its label (later goals win overlaps)."""
    labels = np.zeros(shape_hw, np.uint8)
    for goal in result.goals:
        if goal.label and goal.mask_hw.shape == shape_hw:
            labels[goal.mask_hw] = goal.label
    return labels


def label_image_msg(labels: np.ndarray, header) -> Image:
    """Wrap the label image as mono8 under the source header."""
    return _image(mono8_to_fields(labels), header)


def overlay_msg(rgb: np.ndarray, labels: np.ndarray, header, opacity: float = 0.5) -> Image:
    """rgb8 image: the source frame with each label tinted in its palette colour."""
    colours = _PALETTE[1 + (labels.astype(np.int64) - 1) % (len(_PALETTE) - 1)]
    tinted = rgb.astype(np.float32)
    on = labels > 0
    tinted[on] = (1 - opacity) * tinted[on] + opacity * colours[on]
    return _image(rgb_to_fields(tinted.astype(np.uint8)), header)
