"""Pair depth images with camera_info by stamp, and find the pair nearest a colour frame.

Depth and camera_info are synchronised with ``message_filters.ApproximateTimeSynchronizer``
where message_filters is installed, and with ``StampPairer`` (the same idea, smaller) where it
is not. Pairs land in a ``DepthBuffer``; when a colour frame's result is ready the node asks
for the pair nearest that frame's stamp. The colour stream is deliberately not part of the
synchroniser: a missing depth image must never hold back segmentation.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)


def stamp_ns(header) -> int:
    """Return a ``std_msgs/Header`` stamp as integer nanoseconds."""
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


@dataclass
class DepthPair:
    """A depth image and the camera_info taken with it."""

    stamp_ns: int
    depth: object  # sensor_msgs/Image
    info: object  # sensor_msgs/CameraInfo


class StampPairer:
    """Pairs two message streams whose stamps differ by at most ``slop_ns``.

    Each stream keeps its ``queue_size`` newest unpaired messages. A new message pairs with
    the closest-stamped message of the other stream within the slop; both and everything
    older on either side are then discarded, so pairs come out in stamp order.
    """

    def __init__(self, on_pair: Callable[[object, object], None], queue_size: int = 10,
                 slop_ns: int = 50_000_000):
        self._on_pair = on_pair
        self._slop_ns = slop_ns
        self._queues = (collections.deque(maxlen=queue_size),
                        collections.deque(maxlen=queue_size))
        self._lock = threading.Lock()

    def add_first(self, msg) -> None:
        """Take a message of the first stream (e.g. depth)."""
        self._add(0, msg)

    def add_second(self, msg) -> None:
        """Take a message of the second stream (e.g. camera_info)."""
        self._add(1, msg)

    def _add(self, side: int, msg) -> None:
        stamp = stamp_ns(msg.header)
        with self._lock:
            others = self._queues[1 - side]
            best = min(others, key=lambda m: abs(stamp_ns(m.header) - stamp), default=None)
            if best is None or abs(stamp_ns(best.header) - stamp) > self._slop_ns:
                self._queues[side].append(msg)
                return
            newest = max(stamp, stamp_ns(best.header))
            for queue in self._queues:  # the match and everything older is spent
                while queue and stamp_ns(queue[0].header) <= newest:
                    queue.popleft()
            pair = (msg, best) if side == 0 else (best, msg)
        self._on_pair(*pair)


class DepthBuffer:
    """The newest depth pairs, searchable by stamp."""

    def __init__(self, size: int = 30):
        self._pairs: collections.deque[DepthPair] = collections.deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, depth, info) -> None:
        """Store one synchronised pair (the depth image's stamp keys it)."""
        with self._lock:
            self._pairs.append(DepthPair(stamp_ns(depth.header), depth, info))

    def nearest(self, stamp: int, slop_ns: int) -> DepthPair | None:
        """Return the pair closest to ``stamp`` if within ``slop_ns``, else None."""
        with self._lock:
            best = min(self._pairs, key=lambda p: abs(p.stamp_ns - stamp), default=None)
        if best is None or abs(best.stamp_ns - stamp) > slop_ns:
            return None
        return best

    def clear(self) -> None:
        """Forget every pair."""
        with self._lock:
            self._pairs.clear()


def message_filters_available() -> bool:
    """Tell whether the ROS 2 message_filters package can be imported."""
    try:
        import message_filters  # noqa: F401
    except ImportError:
        return False
    return True


def subscribe_depth_pairs(node, depth_topic: str, info_topic: str, qos, slop_s: float,
                          on_pair: Callable[[object, object], None], callback_group=None,
                          use_message_filters: bool | None = None) -> list:
    """Subscribe to depth + camera_info and call ``on_pair(depth, info)`` for matched stamps.

    Returns what must stay alive (subscriptions, synchroniser) and be destroyed on
    deactivate: message_filters ``Subscriber`` objects expose ``.sub``.
    """
    from sensor_msgs.msg import CameraInfo, Image

    if use_message_filters is None:
        use_message_filters = message_filters_available()
    if use_message_filters:
        import message_filters

        depth_sub = message_filters.Subscriber(node, Image, depth_topic, qos_profile=qos,
                                               callback_group=callback_group)
        info_sub = message_filters.Subscriber(node, CameraInfo, info_topic, qos_profile=qos,
                                              callback_group=callback_group)
        sync = message_filters.ApproximateTimeSynchronizer([depth_sub, info_sub], 10, slop_s)
        sync.registerCallback(on_pair)
        logger.info("depth synchronised with message_filters (slop %.3f s)", slop_s)
        return [depth_sub, info_sub, sync]
    pairer = StampPairer(on_pair, queue_size=10, slop_ns=int(slop_s * 1e9))
    depth_sub = node.create_subscription(Image, depth_topic, pairer.add_first, qos,
                                         callback_group=callback_group)
    info_sub = node.create_subscription(CameraInfo, info_topic, pairer.add_second, qos,
                                        callback_group=callback_group)
    logger.info("message_filters not installed; depth synchronised by the built-in "
                "stamp matcher (slop %.3f s)", slop_s)
    return [depth_sub, info_sub, pairer]
