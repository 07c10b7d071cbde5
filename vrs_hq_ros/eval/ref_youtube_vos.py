"""Ref-YouTube-VOS as downloaded (CodaLab, ReferFormer ``docs/data.md``).

::

    root/meta_expressions/<split>/meta_expressions.json   {"videos": {<video>: {"frames",
                                                  "expressions": {<id>: {"exp", "obj_id"}}}}}
    root/<split>/JPEGImages/<video>/<frame>.jpg
    root/train/Annotations/<video>/<frame>.png           palette PNGs (train only)

``valid``'s meta file also lists the 305 test videos; as ReferFormer's ``inference_ytvos.py``,
videos listed in ``meta_expressions/test`` are left out of ``valid``. Splits without annotations
are read without ground truth (``vrs-hq eval --submission``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from vrs_hq_ros.eval.errors import DatasetFormatError
from vrs_hq_ros.eval.palette import PaletteGroundTruth
from vrs_hq_ros.eval.records import EvalSet, choose_split, read_meta_videos, videos_from_meta

log = logging.getLogger(__name__)


def meta_file(root: Path, split: str) -> Path:
    """``root/meta_expressions/<split>/meta_expressions.json``."""
    return root / "meta_expressions" / split / "meta_expressions.json"


def converted_splits(root: Path) -> list[str]:
    """List the splits with both a meta file and a ``<split>/JPEGImages`` folder."""
    base = root / "meta_expressions"
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir()
                  if meta_file(root, p.name).is_file() and (root / p.name / "JPEGImages").is_dir())


def load_ref_youtube_vos(root: str | Path, split: str | None = None) -> EvalSet:
    """Read one split of Ref-YouTube-VOS (``split`` may be omitted when only one is present)."""
    root = Path(root)
    found = converted_splits(root)
    if not found:
        listing = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
        raise DatasetFormatError(f"{root} is not Ref-YouTube-VOS: needs meta_expressions/<split>/"
                                 f"meta_expressions.json and <split>/JPEGImages; found {listing}")
    split = choose_split(root, found, split, "Ref-YouTube-VOS")
    meta = meta_file(root, split)
    videos_raw = read_meta_videos(meta)
    test_meta = meta_file(root, "test")
    if split == "valid" and test_meta.is_file():
        test_videos = set(read_meta_videos(test_meta))
        videos_raw = {k: v for k, v in videos_raw.items() if k not in test_videos}
        log.info("Ref-YouTube-VOS valid: %d videos after leaving out the test videos",
                 len(videos_raw))
    videos = videos_from_meta(videos_raw, root / split / "JPEGImages", meta)
    annotations = root / split / "Annotations"
    truth = PaletteGroundTruth(annotations, void_label=None) if annotations.is_dir() else None
    return EvalSet(name=root.name, kind="ref_youtube_vos", videos=videos,
                   ground_truth=truth, split=split)
