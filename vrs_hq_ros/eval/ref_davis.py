"""Ref-DAVIS17 reader: DAVIS 2017 frames and palette annotations plus the referring expressions.

Layout (DAVIS 2017 as distributed, with the Khoreva et al. text annotations or ReferFormer's
converted ``meta_expressions.json``)::

    root/JPEGImages/480p/<video>/<frame>.jpg          (or root/JPEGImages/<video>/)
    root/Annotations/480p/<video>/<frame>.png         palette PNG, pixel value = object id
        (Annotations_unsupervised/480p or Annotations/<video>/ are accepted too)
    root/meta_expressions.json                        {"videos": {<video>: {"expressions":
        (or root/meta_expressions/valid/...)             {<exp_id>: {"exp", "obj_id"}}}}}
    root/davis_text_annotations/Davis17_annot*.txt    lines: <video> <obj_id> "<sentence>"
    root/ImageSets/2017/<split>.txt                   optional video list

The ground truth of an expression is ``label == obj_id``; a frame without a PNG counts as empty.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from vrs_hq_ros.eval.datasets import FRAME_EXTENSIONS, EvalSet, Expression, Video, parse_expressions
from vrs_hq_ros.eval.errors import DatasetFormatError

_TEXT_LINE = re.compile(r'^(\S+)\s+(\d+)\s+"?(.*?)"?\s*$')
# Misspelled video names in the released text annotations.
_VIDEO_ALIASES = {"clasic-car": "classic-car", "dog-scale": "dogs-scale", "motor-bike": "motorbike"}


def _first_dir(*candidates: Path) -> Path:
    for path in candidates:
        if path.is_dir():
            return path
    raise DatasetFormatError(f"none of {[str(c) for c in candidates]} exists")


@dataclass
class PaletteGroundTruth:
    """Ground truth from palette PNGs: ``<annotations>/<video>/<frame>.png`` with object ids."""

    annotations_dir: Path

    def masks(self, video: Video, expression: Expression) -> np.ndarray:
        """Bool ``[T, H, W]``: pixels whose label is one of the expression's object ids."""
        if not expression.obj_ids:
            raise DatasetFormatError(f"{video.name}/{expression.exp_id} has no obj_id")
        h, w = video.frame_size()
        out = np.zeros((len(video.frame_names), h, w), bool)
        for i, frame in enumerate(video.frame_names):
            path = self.annotations_dir / video.name / f"{frame}.png"
            if not path.is_file():
                continue
            labels = np.array(Image.open(path))  # palette indices, not colours
            if labels.shape != (h, w):
                raise DatasetFormatError(f"{path} is {labels.shape}, frames are {(h, w)}")
            out[i] = np.isin(labels, expression.obj_ids)
        return out


def _read_text_annotations(folder: Path) -> dict[str, list[Expression]]:
    expressions: dict[str, list[Expression]] = {}
    for path in sorted(folder.glob("*.txt")):
        # The second annotator's files are Latin-1, the first's UTF-8.
        text = path.read_bytes().decode("utf-8", errors="replace")
        if "\ufffd" in text:
            text = path.read_bytes().decode("latin-1")
        for line in text.splitlines():
            match = _TEXT_LINE.match(line.strip())
            if not match:
                continue
            video, obj_id, sentence = match.groups()
            video = _VIDEO_ALIASES.get(video, video)
            exp_id = f"{path.stem}_{obj_id}"
            expressions.setdefault(video, []).append(
                Expression(exp_id=exp_id, sentence=sentence, obj_ids=(int(obj_id),)))
    return expressions


def _read_expressions(root: Path) -> dict[str, list[Expression]]:
    for meta in (root / "meta_expressions.json",
                 root / "meta_expressions/valid/meta_expressions.json"):
        if meta.is_file():
            videos = json.loads(meta.read_text())["videos"]
            return {name: parse_expressions(v["expressions"]) for name, v in videos.items()}
    text_dir = root / "davis_text_annotations"
    if text_dir.is_dir():
        return _read_text_annotations(text_dir)
    raise DatasetFormatError(
        f"{root} has neither meta_expressions.json nor davis_text_annotations/")


def load_ref_davis(root: str | Path, split: str | None = None) -> EvalSet:
    """Read Ref-DAVIS17: all videos with expressions, or those in ``ImageSets/2017/<split>.txt``."""
    root = Path(root)
    images = _first_dir(root / "JPEGImages/480p", root / "JPEGImages")
    annotations = _first_dir(root / "Annotations_unsupervised/480p", root / "Annotations/480p",
                             root / "Annotations")
    expressions = _read_expressions(root)
    names = sorted(expressions)
    if split:
        listing = root / "ImageSets/2017" / f"{split}.txt"
        if not listing.is_file():
            raise DatasetFormatError(f"split list {listing} does not exist")
        wanted = listing.read_text().split()
        names = [n for n in wanted if n in expressions]
    videos = []
    for name in names:
        folder = images / name
        if not folder.is_dir():
            raise DatasetFormatError(f"video {name} has expressions but no frames in {folder}")
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in FRAME_EXTENSIONS)
        videos.append(Video(name, [p.stem for p in paths], paths, expressions[name]))
    return EvalSet(name=root.name, kind="davis", videos=videos,
                   ground_truth=PaletteGroundTruth(annotations))
