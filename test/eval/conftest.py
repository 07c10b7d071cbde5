"""A tiny ReVOS-layout dataset written by hand (pycocotools + json), independent of our writer.

Frames are 48 x 64. Every ground-truth mask is a union of 10 px squares far from each other and the
border, so shifting a prediction by 5 px to the right gives J = 1/3 and F = 0.4 on every non-empty
frame (tolerance ceil(0.008 * 80) = 1 px; see test_metrics.test_shifted_square_by_hand for the
counting) and J = F = 1 on empty frames.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as coco_mask

H, W, SIDE = 48, 64, 10
SQUARE_A = (10, 8)  # top, left
SQUARE_B = (28, 36)


def square(top_left: tuple[int, int]) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    top, left = top_left
    mask[top:top + SIDE, left:left + SIDE] = True
    return mask


def rle(mask: np.ndarray) -> dict:
    encoded = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [H, W], "counts": encoded["counts"].decode()}


# anno_id -> per-frame mask or None (object absent)
ANNOTATIONS = {
    "0": [square(SQUARE_A)] * 3,
    "1": [square(SQUARE_B), None, square(SQUARE_B)],
    "2": [None, square(SQUARE_B), square(SQUARE_B), None],
}
META = {"videos": {
    "cat_video": {"frames": ["00000", "00005", "00010"], "expressions": {
        "0": {"exp": "the cat", "obj_id": [0], "anno_id": [0], "type_id": 0},
        "1": {"exp": "what the child would stroke", "obj_id": [0, 1], "anno_id": [0, 1],
              "type_id": 1}}},
    "dog_video": {"frames": ["a", "b", "c", "d"], "expressions": {
        "0": {"exp": "the dog", "obj_id": [2], "anno_id": [2], "type_id": 0},
        "1": {"exp": "the unicorn", "obj_id": [3], "anno_id": [2], "type_id": 2}}},
}}
# Expected ground truth (union of annos) non-emptiness per expression, per frame.
NON_EMPTY = {("cat_video", "0"): [1, 1, 1], ("cat_video", "1"): [1, 1, 1],
             ("dog_video", "0"): [0, 1, 1, 0], ("dog_video", "1"): [0, 1, 1, 0]}


def write_revos_folder(root: Path, with_types: bool = True) -> Path:
    rng = np.random.default_rng(7)
    for video, entry in META["videos"].items():
        folder = root / "JPEGImages" / video
        folder.mkdir(parents=True)
        for name in entry["frames"]:
            cv2.imwrite(str(folder / f"{name}.jpg"), rng.integers(0, 255, (H, W, 3), np.uint8))
    meta = json.loads(json.dumps(META))
    if not with_types:
        for entry in meta["videos"].values():
            for exp in entry["expressions"].values():
                del exp["type_id"]
    (root / "meta_expressions.json").write_text(json.dumps(meta))
    mask_dict = {k: [None if m is None else rle(m) for m in v] for k, v in ANNOTATIONS.items()}
    (root / "mask_dict.json").write_text(json.dumps(mask_dict))
    return root


@pytest.fixture
def revos_root(tmp_path: Path) -> Path:
    return write_revos_folder(tmp_path / "revos")
