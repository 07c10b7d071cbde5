"""Record the node's results and label images, then score them against a bag's ground truth."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image

from vrs_hq_ros.eval.datasets import LabelledVideo
from vrs_hq_ros.eval.metrics import f_measure, jaccard
from vrs_hq_ros.msg import SegmentationResult


def _stamp_ns(header) -> int:
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


class ResultRecorder:
    """Subscribes to ``<node>/result`` and ``<node>/labels`` and keeps them by source stamp."""

    def __init__(self, node: Node, node_name: str = "/vrs_hq_segment") -> None:
        self._lock = threading.Lock()
        self.labels_by_stamp: dict[int, np.ndarray] = {}
        self.goal_labels_by_stamp: dict[int, dict[str, int]] = {}
        self.received_wall_s: dict[int, float] = {}
        self.node_latency_s: list[float] = []
        node.create_subscription(SegmentationResult, f"{node_name}/result", self._on_result, 50)
        node.create_subscription(Image, f"{node_name}/labels", self._on_labels, 50)

    def _on_result(self, msg: SegmentationResult) -> None:
        with self._lock:
            stamp = _stamp_ns(msg.header)
            self.goal_labels_by_stamp[stamp] = {g.goal_id: int(g.label) for g in msg.goals}
            self.received_wall_s[stamp] = time.monotonic()
            self.node_latency_s.append(float(msg.latency))

    def _on_labels(self, msg: Image) -> None:
        labels = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.step)
        with self._lock:
            self.labels_by_stamp[_stamp_ns(msg.header)] = labels[:, :msg.width].copy()

    def answered(self) -> int:
        """Frames with both a result and a label image."""
        with self._lock:
            return len(self.goal_labels_by_stamp.keys() & self.labels_by_stamp.keys())

    def masks(self, goal_id: str, stamps: list[int], hw: tuple[int, int]) -> np.ndarray:
        """Return the goal's mask on each stamp, bool [T, H, W]; unanswered frames are empty."""
        out = np.zeros((len(stamps), *hw), bool)
        with self._lock:
            for i, stamp in enumerate(stamps):
                label = self.goal_labels_by_stamp.get(stamp, {}).get(goal_id, 0)
                labels = self.labels_by_stamp.get(stamp)
                if label and labels is not None and labels.shape == hw:
                    out[i] = labels == label
        return out


@dataclass
class LiveReplayReport:
    """J&F of a live replay (in %), with what real time cost: drops and latency."""

    video: str
    expressions: list[dict] = field(default_factory=list)  # goal_id, sentence, J, F, JF
    frames_published: int = 0
    frames_answered: int = 0
    frames_dropped: int = 0
    latency_p50_s: float = float("nan")  # image published -> result received
    latency_p99_s: float = float("nan")

    @property
    def jf(self) -> float:
        """Mean J&F over expressions (unanswered frames count as empty predictions)."""
        return float(np.mean([e["JF"] for e in self.expressions])) if self.expressions else 0.0


def score_recording(video: LabelledVideo, recorder: ResultRecorder,
                    sent_wall_s: dict[int, float]) -> LiveReplayReport:
    """Score what the recorder got against ``video``'s ground truth (a bag read with read_bag)."""
    stamps = list(video.stamps_ns or [])
    hw = video.frames[0].shape[:2]
    report = LiveReplayReport(video=video.name, frames_published=len(stamps))
    answered = [s for s in stamps if s in recorder.goal_labels_by_stamp]
    report.frames_answered = len(answered)
    report.frames_dropped = len(stamps) - len(answered)
    for exp in video.expressions:
        if exp.exp_id not in video.gt_masks:
            continue
        pred, gt = recorder.masks(exp.exp_id, stamps, hw), video.gt_masks[exp.exp_id]
        j, f = 100 * float(jaccard(pred, gt).mean()), 100 * float(f_measure(pred, gt).mean())
        report.expressions.append({"goal_id": exp.exp_id, "sentence": exp.sentence,
                                   "J": round(j, 2), "F": round(f, 2), "JF": round((j + f) / 2, 2)})
    latency = [recorder.received_wall_s[s] - sent_wall_s[s] for s in answered if s in sent_wall_s]
    if latency:
        report.latency_p50_s = float(np.percentile(latency, 50))
        report.latency_p99_s = float(np.percentile(latency, 99))
    return report
