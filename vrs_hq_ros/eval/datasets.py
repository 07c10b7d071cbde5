"""Benchmark datasets as typed records: ReVOS / MeViS (mask_dict layout), Ref-DAVIS17 (palette).

ReVOS / MeViS layout::

    root/JPEGImages/<video>/<frame>.jpg
    root/meta_expressions*.json   {"videos": {<video>: {"frames": [...], "expressions":
                                     {<exp_id>: {"exp", "obj_id", "anno_id", "type_id"}}}}}
    root/mask_dict.json           {<anno_id>: [per-frame COCO RLE or null]}

The ground truth of an expression is the union of its ``anno_id`` masks. MeViS has no ``type_id``
(taken as 0, referring). The Ref-DAVIS17 reader lives in ``ref_davis.py``.
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
from vrs_hq_ros.eval.rle import decode_or_empty

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


class GroundTruth(Protocol):
    """Where an evaluation set's masks come from."""

    def masks(self, video: Video, expression: Expression) -> np.ndarray:
        """Bool ``[T, H, W]`` ground truth of ``expression`` on every frame of ``video``."""


@dataclass
class EvalSet:
    """A benchmark split: its videos and a ground-truth source."""

    name: str
    kind: str  # "revos", "mevis" or "davis"
    videos: list[Video]
    ground_truth: GroundTruth

    def gt_masks(self, video: Video, expression: Expression) -> np.ndarray:
        """Bool ``[T, H, W]`` ground truth of one expression."""
        return self.ground_truth.masks(video, expression)

    def labelled_videos(self, names: list[str] | None = None) -> Iterator[LabelledVideo]:
        """Load videos one at a time (frames and every expression's ground truth)."""
        for video in self.videos:
            if names and video.name not in names:
                continue
            frames = video.load_frames()
            gt = {e.exp_id: self.gt_masks(video, e) for e in video.expressions}
            yield LabelledVideo(video.name, list(video.frame_names), frames,
                                list(video.expressions), gt)


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


def _as_tuple(value) -> tuple:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


@dataclass
class MaskDictGroundTruth:
    """Ground truth from ``mask_dict.json``: the union of an expression's ``anno_id`` masks."""

    mask_dict: dict[str, list]

    def masks(self, video: Video, expression: Expression) -> np.ndarray:
        """Bool ``[T, H, W]``; frames where an annotation is null count as empty."""
        t = len(video.frame_names)
        tracks = []
        for anno_id in expression.anno_ids:
            if anno_id not in self.mask_dict:
                raise DatasetFormatError(f"anno_id {anno_id} of {video.name}/{expression.exp_id} "
                                         "is not in mask_dict.json")
            track = self.mask_dict[anno_id]
            if len(track) != t:
                raise DatasetFormatError(f"anno_id {anno_id} has {len(track)} frames, "
                                         f"video {video.name} has {t}")
            tracks.append(track)
        h, w = self._size(tracks) or video.frame_size()
        out = np.zeros((t, h, w), bool)
        for track in tracks:
            for i, rle in enumerate(track):
                if rle is not None:
                    out[i] |= decode_or_empty(rle, h, w)
        return out

    @staticmethod
    def _size(tracks: list[list]) -> tuple[int, int] | None:
        for track in tracks:
            for rle in track:
                if rle is not None:
                    return int(rle["size"][0]), int(rle["size"][1])
        return None


def _find_meta(root: Path, meta: str | None) -> Path:
    if meta:
        path = root / meta
        if not path.is_file():
            raise DatasetFormatError(f"{path} does not exist")
        return path
    default = root / "meta_expressions.json"
    if default.is_file():
        return default
    candidates = sorted(root.glob("meta_expressions*.json"))
    if len(candidates) != 1:
        raise DatasetFormatError(f"{root} needs exactly one meta_expressions*.json, found "
                                 f"{[c.name for c in candidates]}; pass its name")
    return candidates[0]


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


def load_mask_dict_dataset(root: str | Path, meta: str | None = None,
                           kind: str | None = None) -> EvalSet:
    """Read a ReVOS or MeViS split folder.

    ``kind`` names the aggregation to use; None: "revos" when expressions carry ``type_id``, else
    "mevis".
    """
    root = Path(root)
    meta_path = _find_meta(root, meta)
    mask_path = root / "mask_dict.json"
    if not mask_path.is_file():
        raise DatasetFormatError(f"{mask_path} does not exist (ground truth is needed to evaluate)")
    try:
        videos_raw = json.loads(meta_path.read_text())["videos"]
    except (KeyError, json.JSONDecodeError) as exc:
        raise DatasetFormatError(f"{meta_path} is not a meta_expressions file: {exc}") from exc
    videos = []
    for name, entry in videos_raw.items():
        frame_names = [str(f) for f in entry["frames"]]
        folder = root / "JPEGImages" / name
        paths = [find_frame(folder, f) for f in frame_names]
        videos.append(Video(name, frame_names, paths, parse_expressions(entry["expressions"])))
    mask_dict = json.loads(mask_path.read_text())
    if kind is None:
        typed = any("type_id" in e for v in videos_raw.values() for e in v["expressions"].values())
        kind = "revos" if typed else "mevis"
    log.info("loaded %s: %d videos, %d expressions", root, len(videos),
             sum(len(v.expressions) for v in videos))
    return EvalSet(name=root.name, kind=kind, videos=videos,
                   ground_truth=MaskDictGroundTruth(mask_dict))


def load_dataset(root: str | Path, kind: str | None = None) -> EvalSet:
    """Read a dataset folder, guessing its layout when ``kind`` is None.

    ``mask_dict.json`` present: ReVOS (``type_id`` in the expressions) or MeViS; palette PNG
    annotations present: Ref-DAVIS17.
    """
    root = Path(root)
    if kind in ("revos", "mevis") or (kind is None and (root / "mask_dict.json").is_file()):
        return load_mask_dict_dataset(root, kind=kind)
    if kind in ("davis", None):
        from vrs_hq_ros.eval.ref_davis import load_ref_davis

        return load_ref_davis(root)
    raise DatasetFormatError(f"unknown dataset kind {kind!r} (revos, mevis or davis)")
