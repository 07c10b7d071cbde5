"""MeViS as downloaded.

::

    MeViS/train/   JPEGImages/, meta_expressions.json, mask_dict.json
    MeViS/valid_u/ JPEGImages/, meta_expressions.json, mask_dict.json
    MeViS/valid/   JPEGImages/, meta_expressions.json          (scored by the benchmark server)

The root or one split folder may be given. A split without ``mask_dict.json`` is read without
ground truth; ``vrs-hq eval --submission`` writes its server archive.
"""

from __future__ import annotations

import logging
from pathlib import Path

from vrs_hq_ros.eval.errors import DatasetFormatError
from vrs_hq_ros.eval.mask_dict import MASK_DICT, MaskDictGroundTruth, read_mask_dict
from vrs_hq_ros.eval.records import EvalSet, choose_split, read_meta_videos, videos_from_meta

log = logging.getLogger(__name__)

META = "meta_expressions.json"


def is_split_folder(folder: Path) -> bool:
    """``JPEGImages/`` and ``meta_expressions.json`` side by side."""
    return (folder / "JPEGImages").is_dir() and (folder / META).is_file()


def mevis_splits(root: Path) -> list[str]:
    """Sub-folders of ``root`` that are split folders (train, valid_u, valid)."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and is_split_folder(p))


def is_mevis(root: Path) -> bool:
    """Tell a MeViS root (split sub-folders) or one split folder."""
    return bool(mevis_splits(root)) or is_split_folder(root)


def load_mevis(root: str | Path, split: str | None = None) -> EvalSet:
    """Read a MeViS split (from the root with ``split``, or the split folder itself)."""
    root = Path(root)
    if is_split_folder(root) and split in (None, root.name):
        folder = root
    else:
        chosen = choose_split(root, mevis_splits(root), split, "MeViS")
        folder = root / chosen
    meta = folder / META
    videos = videos_from_meta(read_meta_videos(meta), folder / "JPEGImages", meta)
    mask_path = folder / MASK_DICT
    truth = MaskDictGroundTruth(read_mask_dict(mask_path)) if mask_path.is_file() else None
    if truth is None:
        log.info("%s has no %s: no ground truth (server-scored split)", folder, MASK_DICT)
    for video in videos:
        for exp in video.expressions:
            if truth is not None and not exp.anno_ids:
                raise DatasetFormatError(f"{meta}: {video.name}/{exp.exp_id} has no anno_id")
    return EvalSet(name=folder.name, kind="mevis", videos=videos, ground_truth=truth,
                   split=folder.name)
