"""Play a rosbag2 on ROS topics at its recorded rate, with /clock (where rosbag2_py is absent)."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from rclpy.node import Node
from rosbags.rosbag2 import Reader
from rosgraph_msgs.msg import Clock


class PlaybackError(RuntimeError):
    """The bag cannot be played (unknown message type, nobody listening)."""


def message_class(msgtype: str):
    """Return the rclpy class of a ROS type name such as ``sensor_msgs/msg/Image``."""
    package, _, name = msgtype.rpartition("/")
    try:
        return getattr(importlib.import_module(package.replace("/", ".")), name)
    except (ImportError, AttributeError) as exc:
        raise PlaybackError(f"message type {msgtype} is not importable here: {exc}") from exc


@dataclass
class PlaybackStats:
    """What was published: per topic counts and, per image stamp, the wall time it went out."""

    published: dict[str, int] = field(default_factory=dict)
    sent_wall_s: dict[int, float] = field(default_factory=dict)  # header stamp ns -> time.monotonic
    duration_s: float = 0.0


class BagPlayer:
    """Publish every message of ``bag`` on its own topic, paced by the bag's receive stamps.

    Messages go out as the recorded CDR bytes (no re-serialisation). ``rate`` > 1 plays faster;
    /clock carries the bag time before each message, for nodes with ``use_sim_time``.
    """

    def __init__(self, node: Node, bag: str | Path, rate: float = 1.0, image_topic: str = "/image",
                 skip_prefixes: tuple[str, ...] = ("/ground_truth/",)) -> None:
        if rate <= 0:
            raise PlaybackError(f"rate must be > 0, got {rate}")
        self.node, self.bag, self.rate = node, Path(bag), rate
        self.image_topic = image_topic
        self._skip = skip_prefixes
        self._clock = node.create_publisher(Clock, "/clock", 10)
        self._publishers = {}
        with Reader(self.bag) as reader:
            for conn in reader.connections:
                if not conn.topic.startswith(self._skip) and conn.topic not in self._publishers:
                    self._publishers[conn.topic] = node.create_publisher(
                        message_class(conn.msgtype), conn.topic, 10)

    @property
    def topics(self) -> tuple[str, ...]:
        """The topics this player publishes (the bag's, less the skipped prefixes)."""
        return tuple(self._publishers)

    def wait_for_subscribers(self, topics: list[str], timeout_s: float = 10.0) -> None:
        """Block until each topic has a subscriber, so the first messages are not lost."""
        deadline = time.monotonic() + timeout_s
        for topic in topics:
            while self._publishers[topic].get_subscription_count() == 0:
                if time.monotonic() > deadline:
                    raise PlaybackError(f"nobody subscribes to {topic} after {timeout_s} s")
                time.sleep(0.02)

    def play(self) -> PlaybackStats:
        """Publish the whole bag in real time (÷ rate); returns what was sent."""
        from rclpy.serialization import deserialize_message

        stats = PlaybackStats()
        start_wall = time.monotonic()
        with Reader(self.bag) as reader:
            start_bag = None
            for conn, bag_ns, data in reader.messages():
                if conn.topic not in self._publishers:
                    continue
                start_bag = bag_ns if start_bag is None else start_bag
                delay = (bag_ns - start_bag) / 1e9 / self.rate - (time.monotonic() - start_wall)
                if delay > 0:
                    time.sleep(delay)
                clock = Clock()
                clock.clock.sec, clock.clock.nanosec = divmod(bag_ns, 1_000_000_000)
                self._clock.publish(clock)
                self._publishers[conn.topic].publish(bytes(data))
                if conn.topic == self.image_topic:
                    header = deserialize_message(bytes(data), message_class(conn.msgtype)).header
                    stamp = header.stamp.sec * 1_000_000_000 + header.stamp.nanosec
                    stats.sent_wall_s[stamp] = time.monotonic()
                stats.published[conn.topic] = stats.published.get(conn.topic, 0) + 1
        stats.duration_s = time.monotonic() - start_wall
        return stats
