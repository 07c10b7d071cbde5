"""Benchmark video ⇄ rosbag2 (``rosbags``, mcap or sqlite3), with the node's own message types.

Bag layout for one video (topic names are ``BagTopics`` fields):

- ``/image`` sensor_msgs/msg/Image ``rgb8``, one per frame, header stamps
  ``start_ns + round(i * 1e9 / fps)``, frame_id ``camera``; the bag timestamp equals the stamp.
- ``/vrs_hq_segment/goal`` vrs_hq_ros/msg/Goal: one ADD per expression (``goal_id`` = expression id,
  ``sentence``), stamped 1 ms before the first frame so a node has every goal before any image.
- ``/ground_truth/<token>`` sensor_msgs/msg/Image ``mono8`` (0/255), one topic per expression
  (overlapping expressions rule out a single label image), one message per frame with exactly the
  frame's header. ``<token>`` is ``gt_topic_token(goal_id)``: ``g_`` + the id with every character
  outside ``[A-Za-z0-9_]`` replaced by ``_`` (ROS names may not start with a digit).
- custom metadata ``vrs_hq_ros.eval`` (JSON): video name, frame names, fps and per expression
  ``goal_id``, ``type_id``, ``obj_ids`` and its ground-truth topic. Bags recorded elsewhere may lack
  it; then frames are named by index and ground-truth topics are found from the goal ids.

The project's ``msg/*.msg`` are registered with ``get_types_from_msg``, so the bag's ``Goal`` type
(and its definition and hash in mcap) is exactly the node's.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from vrs_hq_ros.eval.errors import BagFormatError, MaskShapeError
from vrs_hq_ros.eval.records import Expression, LabelledVideo

log = logging.getLogger(__name__)

METADATA_KEY = "vrs_hq_ros.eval"
GOAL_TYPE = "vrs_hq_ros/msg/Goal"
IMAGE_TYPE = "sensor_msgs/msg/Image"
GOAL_ACTION_ADD = 0
GOAL_ACTION_REPLACE = 1
DEFAULT_START_NS = 1_700_000_000 * 10**9  # a plausible wall-clock epoch; any value works
_STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}


@dataclass(frozen=True)
class BagTopics:
    """Topic names of an evaluation bag."""

    # Defaults are what the segment node subscribes to with no remapping (``image``, ``~/goal`` of
    # node ``vrs_hq_segment``), so a bag plays straight into the node.
    image: str = "/image"
    goal: str = "/vrs_hq_segment/goal"
    ground_truth_prefix: str = "/ground_truth/"

    def ground_truth(self, goal_id: str) -> str:
        """Ground-truth topic of one goal."""
        return self.ground_truth_prefix + gt_topic_token(goal_id)


def gt_topic_token(goal_id: str) -> str:
    """Make a valid ROS name token of ``goal_id`` (``g_`` prefix, non-word characters → ``_``)."""
    return "g_" + re.sub(r"[^A-Za-z0-9_]", "_", goal_id)


def _msg_dirs() -> list[Path]:
    repo_msg = Path(__file__).resolve().parents[2] / "msg"
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    return [repo_msg] + [Path(p) / "share/vrs_hq_ros/msg" for p in prefixes]


def project_typestore(msg_dir: Path | None = None) -> Typestore:
    """ROS 2 Kilted types plus this package's ``msg/*.msg`` (source tree or colcon install)."""
    candidates = [msg_dir] if msg_dir else _msg_dirs()
    found = next((d for d in candidates if d and (d / "Goal.msg").is_file()), None)
    if found is None:
        raise BagFormatError(f"vrs_hq_ros message definitions not found in {candidates}")
    store = get_typestore(Stores.ROS2_KILTED)
    types = {}
    for path in sorted(found.glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"vrs_hq_ros/msg/{path.stem}"))
    store.register(types)
    return store


def _stamp(store: Typestore, stamp_ns: int):
    time_type = store.types["builtin_interfaces/msg/Time"]
    return time_type(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)


def _header(store: Typestore, stamp_ns: int, frame_id: str):
    return store.types["std_msgs/msg/Header"](stamp=_stamp(store, stamp_ns), frame_id=frame_id)


def image_message(store: Typestore, pixels: np.ndarray, encoding: str, stamp_ns: int,
                  frame_id: str):
    """sensor_msgs/Image from ``[H, W, 3]`` rgb8 or ``[H, W]`` mono8 pixels."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    return store.types[IMAGE_TYPE](
        header=_header(store, stamp_ns, frame_id), height=h, width=w, encoding=encoding,
        is_bigendian=0, step=w * channels, data=pixels.reshape(-1))


def goal_message(store: Typestore, goal_id: str, sentence: str, stamp_ns: int,
                 action: int = GOAL_ACTION_ADD):
    """vrs_hq_ros/msg/Goal."""
    return store.types[GOAL_TYPE](header=_header(store, stamp_ns, ""), goal_id=goal_id,
                                  sentence=sentence, action=action)


def stamp_ns_of(msg) -> int:
    """Header stamp of a deserialised message, in nanoseconds."""
    return int(msg.header.stamp.sec) * 10**9 + int(msg.header.stamp.nanosec)


def decode_image(msg) -> np.ndarray:
    """Convert a sensor_msgs/Image (rgb8, bgr8, rgba8, bgra8, mono8) to RGB uint8 ``[H, W, 3]``."""
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    channels = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1}.get(msg.encoding)
    if channels is None:
        raise BagFormatError(f"image encoding {msg.encoding!r} is not supported")
    data = np.asarray(msg.data, dtype=np.uint8)
    if step < w * channels or data.size < step * h:
        raise BagFormatError(f"image {w}x{h} {msg.encoding}: step {step}, {data.size} bytes")
    pixels = data[:step * h].reshape(h, step)[:, :w * channels].reshape(h, w, channels)
    if msg.encoding == "mono8":
        return np.repeat(pixels, 3, axis=2)
    if msg.encoding.startswith("bgr"):
        pixels = pixels[:, :, [2, 1, 0]]
    return np.ascontiguousarray(pixels[:, :, :3])


def decode_mask(msg) -> np.ndarray:
    """Convert a mono8 mask image to bool ``[H, W]`` (any non-zero pixel is foreground)."""
    if msg.encoding != "mono8":
        raise BagFormatError(f"ground-truth masks must be mono8, got {msg.encoding!r}")
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    data = np.asarray(msg.data, dtype=np.uint8)
    return data[:step * h].reshape(h, step)[:, :w] > 0


def frame_stamps_ns(count: int, fps: float, start_ns: int = DEFAULT_START_NS) -> list[int]:
    """Stamps of ``count`` frames at ``fps``."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return [start_ns + round(i * 1e9 / fps) for i in range(count)]


def write_bag(video: LabelledVideo, path: str | Path, storage: str = "mcap", fps: float = 10.0,
              start_ns: int = DEFAULT_START_NS, topics: BagTopics = BagTopics(),
              frame_id: str = "camera", store: Typestore | None = None) -> Path:
    """Write one labelled video as a rosbag2 directory at ``path`` (which must not exist)."""
    if storage not in _STORAGES:
        raise BagFormatError(f"storage must be one of {sorted(_STORAGES)}, got {storage!r}")
    store = store or project_typestore()
    path = Path(path)
    stamps = video.stamps_ns or frame_stamps_ns(len(video.frames), fps, start_ns)
    goal_ns = stamps[0] - 1_000_000
    metadata = {"video": video.name, "frame_names": list(video.frame_names), "fps": fps,
                "expressions": [{"goal_id": e.exp_id, "type_id": e.type_id,
                                 "obj_ids": list(e.obj_ids), "topic": topics.ground_truth(e.exp_id)}
                                for e in video.expressions]}
    with Writer(path, version=Writer.VERSION_LATEST, storage_plugin=_STORAGES[storage]) as writer:
        writer.set_custom_data(METADATA_KEY, json.dumps(metadata))
        image_conn = writer.add_connection(topics.image, IMAGE_TYPE, typestore=store)
        goal_conn = writer.add_connection(topics.goal, GOAL_TYPE, typestore=store)
        gt_conns = {e.exp_id: writer.add_connection(topics.ground_truth(e.exp_id), IMAGE_TYPE,
                                                    typestore=store)
                    for e in video.expressions}
        for exp in video.expressions:
            msg = goal_message(store, exp.exp_id, exp.sentence, goal_ns)
            writer.write(goal_conn, goal_ns, store.serialize_cdr(msg, GOAL_TYPE))
        for i, (rgb, stamp) in enumerate(zip(video.frames, stamps, strict=True)):
            msg = image_message(store, rgb, "rgb8", stamp, frame_id)
            writer.write(image_conn, stamp, store.serialize_cdr(msg, IMAGE_TYPE))
            for exp in video.expressions:
                mask = video.gt_masks[exp.exp_id][i]
                if mask.shape != rgb.shape[:2]:
                    raise MaskShapeError(f"{exp.exp_id}: mask {mask.shape} on frame {rgb.shape}")
                gt = image_message(store, mask.astype(np.uint8) * 255, "mono8", stamp, frame_id)
                writer.write(gt_conns[exp.exp_id], stamp, store.serialize_cdr(gt, IMAGE_TYPE))
    log.info("wrote %s (%s): %d frames, %d expressions", path, storage, len(video.frames),
             len(video.expressions))
    return path


def _bag_metadata(path: Path) -> dict:
    # rosbags' Reader does not expose custom_data; it sits in metadata.yaml.
    info = yaml.safe_load((path / "metadata.yaml").read_text()) or {}
    custom = info.get("rosbag2_bagfile_information", {}).get("custom_data") or {}
    raw = custom.get(METADATA_KEY)
    return json.loads(raw) if raw else {}


def read_bag(path: str | Path, topics: BagTopics = BagTopics(),
             store: Typestore | None = None) -> LabelledVideo:
    """Read a bag back into a ``LabelledVideo`` (frames, goals as expressions, ground truth)."""
    store = store or project_typestore()
    path = Path(path)
    meta = _bag_metadata(path)
    with Reader(path) as reader:
        by_topic = {c.topic: c for c in reader.connections}
        if topics.image not in by_topic:
            raise BagFormatError(f"{path} has no image topic {topics.image}; "
                                 f"topics: {sorted(by_topic)}")
        frames, stamps = [], []
        goals: dict[str, str] = {}
        gt_by_topic: dict[str, dict[int, np.ndarray]] = {}
        for conn, _, data in reader.messages():
            if conn.topic == topics.image:
                msg = store.deserialize_cdr(data, conn.msgtype)
                frames.append(decode_image(msg))
                stamps.append(stamp_ns_of(msg))
            elif conn.topic == topics.goal:
                msg = store.deserialize_cdr(data, conn.msgtype)
                if msg.action in (GOAL_ACTION_ADD, GOAL_ACTION_REPLACE):
                    goals[msg.goal_id] = msg.sentence
            elif conn.topic.startswith(topics.ground_truth_prefix):
                msg = store.deserialize_cdr(data, conn.msgtype)
                gt_by_topic.setdefault(conn.topic, {})[stamp_ns_of(msg)] = decode_mask(msg)
    if not frames:
        raise BagFormatError(f"{path} has no messages on {topics.image}")
    described = {e["goal_id"]: e for e in meta.get("expressions", [])}
    expressions, gt_masks = [], {}
    h, w = frames[0].shape[:2]
    for goal_id, sentence in goals.items():
        info = described.get(goal_id, {})
        topic = info.get("topic", topics.ground_truth(goal_id))
        expressions.append(Expression(exp_id=goal_id, sentence=sentence,
                                      type_id=int(info.get("type_id", 0)),
                                      obj_ids=tuple(info.get("obj_ids", ()))))
        if topic in gt_by_topic:
            gt_masks[goal_id] = _align_masks(gt_by_topic[topic], stamps, h, w, topic)
    names = meta.get("frame_names") or [f"{i:05d}" for i in range(len(frames))]
    if len(names) != len(frames):
        raise BagFormatError(f"{path}: metadata names {len(names)} frames, bag has {len(frames)}")
    return LabelledVideo(name=meta.get("video", path.name), frame_names=list(names), frames=frames,
                         expressions=expressions, gt_masks=gt_masks, stamps_ns=stamps)


def _align_masks(by_stamp: dict[int, np.ndarray], stamps: list[int], h: int, w: int,
                 topic: str) -> np.ndarray:
    out = np.zeros((len(stamps), h, w), bool)
    missing = 0
    for i, stamp in enumerate(stamps):
        mask = by_stamp.get(stamp)
        if mask is None:
            missing += 1
            continue
        if mask.shape != (h, w):
            raise BagFormatError(f"{topic}: mask {mask.shape} on {h}x{w} frames")
        out[i] = mask
    if missing:
        log.warning("%s: %d of %d frames have no ground truth; counted as empty", topic, missing,
                    len(stamps))
    return out


def bag_dir_name(video_name: str) -> str:
    """Folder name of a video's bag (video names may contain ``/``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "__", video_name)


def videos_to_bags(videos: Iterable[LabelledVideo], out_dir: str | Path, **kwargs) -> list[Path]:
    """Write one bag per video under ``out_dir``; ``kwargs`` go to ``write_bag``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    store = kwargs.pop("store", None) or project_typestore()
    return [write_bag(v, out_dir / bag_dir_name(v.name), store=store, **kwargs) for v in videos]


def is_bag(path: str | Path) -> bool:
    """Tell whether ``path`` is a rosbag2 directory (it holds ``metadata.yaml``)."""
    return (Path(path) / "metadata.yaml").is_file()


def find_bags(path: str | Path) -> list[Path]:
    """``path`` itself if it is a bag, else the bags directly inside it, sorted."""
    path = Path(path)
    if is_bag(path):
        return [path]
    return sorted(p for p in path.iterdir() if p.is_dir() and is_bag(p)) if path.is_dir() else []
