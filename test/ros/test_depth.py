"""3D points from depth + camera_info, and the built-in depth/camera_info stamp matcher."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from vrs_hq_ros.ros.depth_point import CameraInfoError, PinholeIntrinsics, mask_point_m
from vrs_hq_ros.ros.depth_sync import DepthBuffer, StampPairer, message_filters_available


def _stamped(ns: int, name: str = ""):
    header = SimpleNamespace(stamp=SimpleNamespace(sec=ns // 10**9, nanosec=ns % 10**9))
    return SimpleNamespace(header=header, name=name)


def _info(fx=100.0, fy=100.0, cx=32.0, cy=24.0, width=64, height=48):
    return SimpleNamespace(k=[fx, 0, cx, 0, fy, cy, 0, 0, 1], width=width, height=height)


def test_intrinsics_come_from_k_and_bad_k_raises():
    intr = PinholeIntrinsics.from_camera_info(_info())

    assert (intr.fx, intr.fy, intr.cx, intr.cy) == (100.0, 100.0, 32.0, 24.0)
    with pytest.raises(CameraInfoError):
        PinholeIntrinsics.from_camera_info(_info(fx=0.0))


def test_point_back_projects_the_mask_centroid_at_its_median_depth():
    depth = np.full((48, 64), 4.0, np.float32)
    depth[10:20, 42:52] = 2.0
    depth[10, 42] = np.nan  # a hole inside the mask is ignored
    mask = np.zeros((48, 64), bool)
    mask[10:20, 42:52] = True  # centroid (46.5, 14.5)

    x, y, z = mask_point_m(mask, depth, PinholeIntrinsics.from_camera_info(_info()))

    assert z == pytest.approx(2.0)
    assert x == pytest.approx((46.5 - 32.0) * 2.0 / 100.0, abs=0.01)
    assert y == pytest.approx((14.5 - 24.0) * 2.0 / 100.0, abs=0.01)


def test_point_is_the_same_when_the_depth_image_has_half_the_resolution():
    mask = np.zeros((48, 64), bool)
    mask[10:20, 42:52] = True
    full = np.full((48, 64), 2.0, np.float32)
    intr = PinholeIntrinsics.from_camera_info(_info())

    x_full, y_full, _ = mask_point_m(mask, full, intr)
    x_half, y_half, _ = mask_point_m(mask, full[::2, ::2], intr)

    assert x_half == pytest.approx(x_full, abs=0.02) and y_half == pytest.approx(y_full, abs=0.02)


def test_no_point_for_an_empty_mask_or_missing_depth():
    intr = PinholeIntrinsics.from_camera_info(_info())
    mask = np.zeros((48, 64), bool)
    assert mask_point_m(mask, np.ones((48, 64), np.float32), intr) is None
    mask[0:4, 0:4] = True
    assert mask_point_m(mask, np.full((48, 64), np.nan, np.float32), intr) is None


def test_stamp_pairer_pairs_within_slop_and_discards_older_messages():
    pairs = []
    pairer = StampPairer(lambda a, b: pairs.append((a.name, b.name)), slop_ns=10)

    pairer.add_first(_stamped(100, "d100"))
    pairer.add_first(_stamped(200, "d200"))
    pairer.add_second(_stamped(205, "i205"))  # pairs with d200; d100 is now stale
    pairer.add_second(_stamped(300, "i300"))  # nothing within 10 ns
    pairer.add_first(_stamped(150, "d150"))  # older than i300 and beyond the slop
    pairer.add_first(_stamped(295, "d295"))

    assert pairs == [("d200", "i205"), ("d295", "i300")]


def test_depth_buffer_returns_the_nearest_pair_within_slop():
    buffer = DepthBuffer(size=3)
    for ns in (100, 200, 300, 400):  # 100 is evicted
        buffer.add(_stamped(ns, f"d{ns}"), _info())

    assert buffer.nearest(290, slop_ns=20).depth.name == "d300"
    assert buffer.nearest(100, slop_ns=20) is None
    buffer.clear()
    assert buffer.nearest(300, slop_ns=20) is None


def test_message_filters_synchronizer_pairs_depth_and_info_where_installed():
    message_filters = pytest.importorskip(
        "message_filters", reason="message_filters is not installed here; the built-in "
        "StampPairer above is what the node uses")
    assert message_filters_available()
    pairs = []
    first, second = message_filters.SimpleFilter(), message_filters.SimpleFilter()
    sync = message_filters.ApproximateTimeSynchronizer([first, second], 10, 0.01)
    sync.registerCallback(lambda a, b: pairs.append((a.name, b.name)))
    # message_filters reads header.stamp as a builtin_interfaces Time
    from builtin_interfaces.msg import Time
    from std_msgs.msg import Header

    def stamped(ns, name):
        return SimpleNamespace(header=Header(stamp=Time(sec=0, nanosec=ns)), name=name)

    first.signalMessage(stamped(1_000_000, "d"))
    second.signalMessage(stamped(1_002_000, "i"))

    assert pairs == [("d", "i")]
