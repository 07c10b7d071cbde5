"""ReVOS as downloaded (VISA / ReVOS-api).

::

    ReVOS/JPEGImages/<video>/<frame>.jpg
    ReVOS/mask_dict.json                  {<anno_id>: [per-frame COCO RLE or null]}
    ReVOS/mask_dict_foreground.json       {<video>: {"masks_rle": [per-frame RLE], ...}}
    ReVOS/meta_expressions_train_.json    split "train"
    ReVOS/meta_expressions_valid_.json    split "valid"

The split picks the ``meta_expressions_<split>_.json`` file; a folder with a plain
``meta_expressions.json`` (written by ``vrs-hq convert`` or ``vrs-hq synthetic``) has one split.
``mask_dict_foreground.json`` (every object of a video, per frame) feeds the robustness score R.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vrs_hq_ros.eval.errors import DatasetFormatError
from vrs_hq_ros.eval.mask_dict import MASK_DICT, MaskDictGroundTruth, read_mask_dict
from vrs_hq_ros.eval.records import (
    EvalSet,
    Video,
    choose_split,
    read_meta_videos,
    videos_from_meta,
)
from vrs_hq_ros.eval.rle import decode_sum

log = logging.getLogger(__name__)

FOREGROUND = "mask_dict_foreground.json"
_META = re.compile(r"^meta_expressions_(.+?)_?\.json$")


def revos_splits(root: Path) -> dict[str, Path]:
    """Split name -> meta file of a ReVOS folder (``meta_expressions_<split>_.json``)."""
    found = {}
    for path in sorted(root.glob("meta_expressions_*.json")):
        match = _META.match(path.name)
        if match:
            found[match.group(1)] = path
    return found


def is_revos(root: Path) -> bool:
    """Tell a folder as downloaded: split meta files or ``mask_dict_foreground.json``."""
    return (root / FOREGROUND).is_file() or bool(revos_splits(root))


@dataclass
class RevosGroundTruth(MaskDictGroundTruth):
    """``mask_dict.json`` plus, when present, ``mask_dict_foreground.json`` for R."""

    foreground_dict: dict | None = None

    def foreground(self, video: Video) -> np.ndarray | None:
        """Uint8 ``[T, H, W]`` union of every object of ``video`` (None without the file)."""
        if self.foreground_dict is None:
            return None
        entry = self.foreground_dict.get(video.name)
        if entry is None:
            raise DatasetFormatError(f"video {video.name} is not in {FOREGROUND}")
        rles = entry["masks_rle"]
        if len(rles) != len(video.frame_names):
            raise DatasetFormatError(f"{FOREGROUND}: {video.name} has {len(rles)} frames, "
                                     f"the meta file lists {len(video.frame_names)}")
        return np.stack([decode_sum(rle) for rle in rles])


def load_revos(root: str | Path, split: str | None = None) -> EvalSet:
    """Read a ReVOS folder as downloaded; ``split`` chooses ``meta_expressions_<split>_.json``."""
    root = Path(root)
    splits = revos_splits(root)
    if (root / "meta_expressions.json").is_file() and split is None:
        meta_path = root / "meta_expressions.json"
    else:
        split = choose_split(root, sorted(splits), split, "ReVOS")
        meta_path = splits[split]
    mask_path = root / MASK_DICT
    if not mask_path.is_file():
        found = sorted(p.name for p in root.iterdir())
        raise DatasetFormatError(f"{mask_path} does not exist (ReVOS needs it to score); "
                                 f"{root} holds {found}")
    foreground = None
    if (root / FOREGROUND).is_file():
        foreground = json.loads((root / FOREGROUND).read_text())
    else:
        log.warning("%s has no %s: R (robustness) is not computed", root, FOREGROUND)
    videos = videos_from_meta(read_meta_videos(meta_path), root / "JPEGImages", meta_path)
    log.info("loaded ReVOS %s (%s): %d videos, %d expressions", root, meta_path.name,
             len(videos), sum(len(v.expressions) for v in videos))
    return EvalSet(name=root.name, kind="revos", videos=videos, split=split,
                   ground_truth=RevosGroundTruth(read_mask_dict(mask_path), foreground))
