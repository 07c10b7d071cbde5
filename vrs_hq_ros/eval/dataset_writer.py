"""Write labelled videos in the ReVOS / MeViS layout (the reverse of ``load_mask_dict_dataset``).

Each expression gets one annotation track (its ground truth is already a union), numbered in order;
frames where the mask is empty are stored as ``null`` like the benchmark does for absent objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import cv2

from vrs_hq_ros.eval.errors import MaskShapeError
from vrs_hq_ros.eval.records import LabelledVideo
from vrs_hq_ros.eval.rle import encode_mask


def write_mask_dict_dataset(root: str | Path, videos: Iterable[LabelledVideo],
                            jpeg_quality: int = 95) -> Path:
    """Write ``JPEGImages/``, ``meta_expressions.json`` and ``mask_dict.json`` under ``root``."""
    root = Path(root)
    meta: dict[str, dict] = {}
    mask_dict: dict[str, list] = {}
    for video in videos:
        folder = root / "JPEGImages" / video.name
        folder.mkdir(parents=True, exist_ok=True)
        for name, rgb in zip(video.frame_names, video.frames, strict=True):
            cv2.imwrite(str(folder / f"{name}.jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
        expressions = {}
        for exp in video.expressions:
            masks = video.gt_masks[exp.exp_id]
            if masks.shape[0] != len(video.frames):
                raise MaskShapeError(f"{video.name}/{exp.exp_id}: {masks.shape[0]} masks for "
                                     f"{len(video.frames)} frames")
            anno_id = str(len(mask_dict))
            mask_dict[anno_id] = [encode_mask(m) if m.any() else None for m in masks]
            expressions[exp.exp_id] = {"exp": exp.sentence, "obj_id": list(exp.obj_ids) or [0],
                                       "anno_id": [int(anno_id)], "type_id": exp.type_id}
        meta[video.name] = {"frames": list(video.frame_names), "expressions": expressions}
    root.mkdir(parents=True, exist_ok=True)
    (root / "meta_expressions.json").write_text(json.dumps({"videos": meta}))
    (root / "mask_dict.json").write_text(json.dumps(mask_dict))
    return root
