"""Benchmark folders as typed records: pick the layout reader, as downloaded.

One module per layout (``revos``, ``mevis``, ``ref_davis``, ``ref_youtube_vos``, and
``mask_dict`` for converted bags); the records they share live in ``records``. This module
imports them all and re-exports the records, so ``from vrs_hq_ros.eval.datasets import ...``
keeps working; no layout module imports this one.
"""

from __future__ import annotations

from pathlib import Path

from vrs_hq_ros.eval.errors import DatasetFormatError
from vrs_hq_ros.eval.mask_dict import MASK_DICT, MaskDictGroundTruth, load_mask_dict_dataset
from vrs_hq_ros.eval.mevis import is_mevis, is_split_folder, load_mevis
from vrs_hq_ros.eval.records import (
    FRAME_EXTENSIONS,
    EvalSet,
    Expression,
    GroundTruth,
    LabelledVideo,
    Video,
    find_frame,
    parse_expressions,
    read_rgb,
)
from vrs_hq_ros.eval.ref_davis import is_ref_davis, load_ref_davis
from vrs_hq_ros.eval.ref_youtube_vos import converted_splits, load_ref_youtube_vos
from vrs_hq_ros.eval.revos import is_revos, load_revos

__all__ = ["FRAME_EXTENSIONS", "KINDS", "EvalSet", "Expression", "GroundTruth", "LabelledVideo",
           "MaskDictGroundTruth", "Video", "detect_kind", "find_frame", "load_dataset",
           "load_mask_dict_dataset", "parse_expressions", "read_rgb"]

KINDS = ("revos", "mevis", "davis", "ref_youtube_vos")


def detect_kind(root: Path) -> str:
    """Guess the layout of ``root``; a named error lists what was found when nothing fits."""
    if not root.is_dir():
        raise DatasetFormatError(f"{root} is not a folder")
    if is_revos(root):
        return "revos"
    if is_ref_davis(root):
        return "davis"
    if converted_splits(root):
        return "ref_youtube_vos"
    if is_split_folder(root) and (root / MASK_DICT).is_file():
        return "mask_dict"
    if is_mevis(root):
        return "mevis"
    found = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
    raise DatasetFormatError(
        f"cannot tell the layout of {root}: found {found[:20]}. Expected ReVOS "
        "(meta_expressions_<split>_.json + mask_dict.json), MeViS (<split>/JPEGImages + "
        "meta_expressions.json), Ref-DAVIS17 (DAVIS/ + davis_text_annotations/, or "
        "meta_expressions/<split>/ + <split>/Annotations), or Ref-YouTube-VOS "
        "(meta_expressions/<split>/ + <split>/JPEGImages); pass --kind")


def load_dataset(root: str | Path, kind: str | None = None, split: str | None = None) -> EvalSet:
    """Read a benchmark folder as downloaded; ``kind`` (see ``KINDS``) is guessed when None."""
    root = Path(root)
    chosen = kind or detect_kind(root)
    if chosen == "mask_dict":  # a split folder with mask_dict.json: ReVOS if typed, else MeViS
        return load_mask_dict_dataset(root)
    if chosen == "revos":
        return load_revos(root, split)
    if chosen == "mevis":
        if (root / MASK_DICT).is_file() and split is None:
            return load_mask_dict_dataset(root, kind="mevis")
        return load_mevis(root, split)
    if chosen == "davis":
        return load_ref_davis(root, split)
    if chosen == "ref_youtube_vos":
        return load_ref_youtube_vos(root, split)
    raise DatasetFormatError(f"unknown dataset kind {kind!r} (one of {', '.join(KINDS)})")
