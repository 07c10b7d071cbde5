"""The ``mask_dict`` layout shared by ReVOS, MeViS and bags written by ``vrs-hq convert``.

::

    root/JPEGImages/<video>/<frame>.jpg
    root/meta_expressions*.json   {"videos": {<video>: {"frames": [...], "expressions":
                                     {<exp_id>: {"exp", "obj_id", "anno_id", "type_id"}}}}}
    root/mask_dict.json           {<anno_id>: [per-frame COCO RLE or null]}

The ground truth of an expression is the union of its ``anno_id`` masks. MeViS has no ``type_id``
(taken as 0, referring).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vrs_hq_ros.eval.errors import DatasetFormatError
from vrs_hq_ros.eval.records import EvalSet, Expression, Video, read_meta_videos, videos_from_meta
from vrs_hq_ros.eval.rle import decode_or_empty

log = logging.getLogger(__name__)

MASK_DICT = "mask_dict.json"


@dataclass
class MaskDictGroundTruth:
    """Ground truth from ``mask_dict.json``: the union of an expression's ``anno_id`` masks."""

    mask_dict: dict[str, list]

    def _tracks(self, video: Video, expression: Expression) -> list[list]:
        t = len(video.frame_names)
        tracks = []
        for anno_id in expression.anno_ids:
            if anno_id not in self.mask_dict:
                raise DatasetFormatError(f"anno_id {anno_id} of {video.name}/{expression.exp_id} "
                                         f"is not in {MASK_DICT}")
            track = self.mask_dict[anno_id]
            if len(track) != t:
                raise DatasetFormatError(f"anno_id {anno_id} has {len(track)} frames, "
                                         f"video {video.name} has {t}")
            tracks.append(track)
        return tracks

    def counts(self, video: Video, expression: Expression) -> np.ndarray:
        """Uint8 ``[T, H, W]``: how many of the expression's annotations cover each pixel.

        The official ReVOS script sums the decoded annotations into uint8 rather than OR-ing them;
        its R reads that sum.
        """
        tracks = self._tracks(video, expression)
        h, w = _size(tracks) or video.frame_size()
        out = np.zeros((len(video.frame_names), h, w), np.uint8)
        for track in tracks:
            for i, rle in enumerate(track):
                if rle is not None:
                    out[i] += decode_or_empty(rle, h, w).astype(np.uint8)
        return out

    def masks(self, video: Video, expression: Expression) -> np.ndarray:
        """Bool ``[T, H, W]``; frames where an annotation is null count as empty."""
        return self.counts(video, expression) > 0


def _size(tracks: list[list]) -> tuple[int, int] | None:
    for track in tracks:
        for rle in track:
            if rle is not None:
                return int(rle["size"][0]), int(rle["size"][1])
    return None


def find_meta(root: Path, meta: str | None) -> Path:
    """``root/meta``, else ``meta_expressions.json``, else the only ``meta_expressions*.json``."""
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
                                 f"{[c.name for c in candidates]}; pass --split (or its name)")
    return candidates[0]


def read_mask_dict(path: Path) -> dict[str, list]:
    """Load ``mask_dict.json``."""
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DatasetFormatError(f"{path} is not JSON: {exc}") from exc


def load_mask_dict_dataset(root: str | Path, meta: str | None = None,
                           kind: str | None = None) -> EvalSet:
    """Read a folder in the mask_dict layout (ReVOS or MeViS split, converted bags).

    ``kind`` names the aggregation to use; None: "revos" when expressions carry ``type_id``, else
    "mevis".
    """
    root = Path(root)
    meta_path = find_meta(root, meta)
    mask_path = root / MASK_DICT
    if not mask_path.is_file():
        raise DatasetFormatError(f"{mask_path} does not exist (ground truth is needed to evaluate)")
    videos_raw = read_meta_videos(meta_path)
    videos = videos_from_meta(videos_raw, root / "JPEGImages", meta_path)
    if kind is None:
        typed = any("type_id" in e for v in videos_raw.values() for e in v["expressions"].values())
        kind = "revos" if typed else "mevis"
    log.info("loaded %s: %d videos, %d expressions", root, len(videos),
             sum(len(v.expressions) for v in videos))
    return EvalSet(name=root.name, kind=kind, videos=videos,
                   ground_truth=MaskDictGroundTruth(read_mask_dict(mask_path)))
