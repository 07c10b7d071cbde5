"""Typed records shared by every dataset layout: expressions, videos, evaluation sets.

The layout readers (``mask_dict.py``, ``revos.py``, ``mevis.py``, ``ref_davis.py``,
``ref_youtube_vos.py``) import this module and nothing of each other; ``datasets.py`` picks one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from vrs_hq_ros.eval.errors import DatasetFormatError

log = logging.getLogger(__name__)

FRAME_EXTENSIONS = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class Expression:
    """One referring / reasoning sentence about one or more objects of a video."""

    exp_id: str
    sentence: str
    type_id: int = 0  # ReVOS: 0 referring, 1 reasoning, 2 no target
    obj_ids: tuple[int, ...] = ()
    anno_ids: tuple[str, ...] = ()
    annotator: int | None = None  # Ref-DAVIS17: 0..3 (annotator 1/2, first-frame/full-video)


@dataclass
class Video:
    """A video on disk: ordered frame names and paths, and its expressions."""

    name: str
    frame_names: list[str]
    frame_paths: list[Path]
    expressions: list[Expression]

    def load_frames(self) -> list[np.ndarray]:
        """Every frame as RGB uint8 ``[H, W, 3]``."""
        return [read_rgb(p) for p in self.frame_paths]

    def frame_size(self) -> tuple[int, int]:
        """(H, W) of the first frame."""
        return read_rgb(self.frame_paths[0]).shape[:2]


@dataclass
class LabelledVideo:
    """A video in memory with per-expression ground truth (used by replay and bags)."""

    name: str
    frame_names: list[str]
    frames: list[np.ndarray]  # RGB uint8 [H, W, 3] each
    expressions: list[Expression]
    gt_masks: dict[str, np.ndarray] = field(default_factory=dict)  # exp_id -> bool [T, H, W]
    stamps_ns: list[int] | None = None  # recorded stamps (bags); None for datasets on disk
    void_masks: np.ndarray | None = None  # bool [T, H, W]: pixels left out of J and F (DAVIS 255)
    foreground: np.ndarray | None = None  # uint8 [T, H, W]: all objects (ReVOS R), when known
    gt_counts: dict[str, np.ndarray] = field(default_factory=dict)  # exp_id -> uint8 [T, H, W]
    gt_labels: np.ndarray | None = None  # uint8 [T, H, W] palette (Ref-DAVIS17 palette protocol)


class GroundTruth(Protocol):
    """Where an evaluation set's masks come from."""

    def masks(self, video: Video, expression: Expression) -> np.ndarray:
        """Bool ``[T, H, W]`` ground truth of ``expression`` on every frame of ``video``."""


@dataclass
class EvalSet:
    """A benchmark split: its videos and a ground-truth source (None: scored by a server)."""

    name: str
    kind: str  # "revos", "mevis", "davis" or "ref_youtube_vos"
    videos: list[Video]
    ground_truth: GroundTruth | None
    split: str | None = None

    @property
    def has_ground_truth(self) -> bool:
        """False for sets scored only by a benchmark server (MeViS valid, Ref-YouTube-VOS valid)."""
        return self.ground_truth is not None

    def gt_masks(self, video: Video, expression: Expression) -> np.ndarray:
        """Bool ``[T, H, W]`` ground truth of one expression."""
        if self.ground_truth is None:
            raise DatasetFormatError(f"{self.name} ({self.kind}, split {self.split}) has no "
                                     "ground truth; write a server submission instead")
        return self.ground_truth.masks(video, expression)

    def labelled_videos(self, names: list[str] | None = None) -> Iterator[LabelledVideo]:
        """Load videos one at a time (frames and, where known, ground truth, void, foreground)."""
        truth = self.ground_truth
        for video in self.videos:
            if names and video.name not in names:
                continue
            frames = video.load_frames()
            labelled = LabelledVideo(video.name, list(video.frame_names), frames,
                                     list(video.expressions))
            if truth is not None:
                void = getattr(truth, "void", None)
                labelled.void_masks = void(video) if void else None
                foreground = getattr(truth, "foreground", None)
                labelled.foreground = foreground(video) if foreground else None
                counts = getattr(truth, "counts", None)
                if counts and labelled.foreground is not None:  # ReVOS R reads the counts
                    labelled.gt_counts = {e.exp_id: counts(video, e) for e in video.expressions}
                    labelled.gt_masks = {k: c > 0 for k, c in labelled.gt_counts.items()}
                else:
                    labelled.gt_masks = {e.exp_id: truth.masks(video, e)
                                         for e in video.expressions}
                labels = getattr(truth, "labels", None)
                if labels and self.kind == "davis":
                    labelled.gt_labels = labels(video)
            yield labelled


def read_rgb(path: Path) -> np.ndarray:
    """Read an image file as RGB uint8 ``[H, W, 3]``."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise DatasetFormatError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def find_frame(folder: Path, frame_name: str) -> Path:
    """Path of ``<folder>/<frame_name>.<jpg|jpeg|png>``."""
    for ext in FRAME_EXTENSIONS:
        path = folder / f"{frame_name}{ext}"
        if path.is_file():
            return path
    raise DatasetFormatError(f"frame {frame_name!r} not found in {folder}")


def list_frames(folder: Path) -> list[Path]:
    """Image files of a frame folder, sorted by name."""
    if not folder.is_dir():
        raise DatasetFormatError(f"frame folder {folder} does not exist")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in FRAME_EXTENSIONS)


def _as_tuple(value) -> tuple:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def parse_expressions(raw: dict) -> list[Expression]:
    """Expressions of one video entry of ``meta_expressions.json``."""
    out = []
    for exp_id, entry in raw.items():
        if "exp" not in entry:
            raise DatasetFormatError(f"expression {exp_id} has no 'exp' sentence")
        out.append(Expression(
            exp_id=str(exp_id), sentence=str(entry["exp"]), type_id=int(entry.get("type_id", 0)),
            obj_ids=tuple(int(o) for o in _as_tuple(entry.get("obj_id"))),
            anno_ids=tuple(str(a) for a in _as_tuple(entry.get("anno_id")))))
    return out


def videos_from_meta(videos_raw: dict, images: Path, source: Path) -> list[Video]:
    """``Video`` records of a ``meta_expressions`` ``videos`` dict, frames under ``images``."""
    videos = []
    for name, entry in videos_raw.items():
        if "frames" not in entry or "expressions" not in entry:
            raise DatasetFormatError(f"{source}: video {name} lacks 'frames' or 'expressions'")
        frame_names = [str(f) for f in entry["frames"]]
        folder = images / name
        paths = [find_frame(folder, f) for f in frame_names]
        videos.append(Video(name, frame_names, paths, parse_expressions(entry["expressions"])))
    return videos


def read_meta_videos(path: Path) -> dict:
    """Return the ``videos`` dict of a ``meta_expressions`` JSON file."""
    try:
        return json.loads(path.read_text())["videos"]
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise DatasetFormatError(f"{path} is not a meta_expressions file: {exc!r}") from exc


def choose_split(root: Path, found: list[str], split: str | None, layout: str) -> str:
    """Return the split to read: ``split`` if found, the only one found, else raise."""
    if split is not None:
        if split not in found:
            raise DatasetFormatError(f"{root} ({layout}) has no split {split!r}; found "
                                     f"{found or 'none'}")
        return split
    if len(found) == 1:
        return found[0]
    if not found:
        raise DatasetFormatError(f"{root} ({layout}) has no split")
    raise DatasetFormatError(f"{root} ({layout}) holds several splits {found}: pass "
                             f"--split {'|'.join(found)}")
