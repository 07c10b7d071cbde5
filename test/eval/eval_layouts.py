"""Tiny benchmark folders in each official layout, written the way the downloads ship them.

Frames are H x W = 24 x 32, 3 per video; objects are axis-aligned rectangles so every mask is
known exactly. Nothing here uses the project's writers.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from pycocotools import mask as coco_mask

H, W, T = 24, 32, 3
FRAMES = [f"{i:05d}" for i in range(T)]
DAVIS_PALETTE = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0] + [0, 0, 0] * 251 + [224, 224, 192]


def rect(top: int, left: int, height: int, width: int) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[top:top + height, left:left + width] = True
    return mask


def rle(mask: np.ndarray) -> dict:
    encoded = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [H, W], "counts": encoded["counts"].decode()}


def write_frames(folder: Path, names: list[str] = FRAMES, seed: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name in names:
        cv2.imwrite(str(folder / f"{name}.jpg"), rng.integers(0, 255, (H, W, 3), np.uint8))


def write_palette(path: Path, labels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(labels.astype(np.uint8), mode="P")
    image.putpalette(DAVIS_PALETTE)
    image.save(path)


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


# ---------------------------------------------------------------- ReVOS (VISA / ReVOS-api download)
# anno 0: a cat on every frame; anno 1: a ball that overlaps the cat by 2 x 2 px on frames 0 and 2.
REVOS_CAT = rect(4, 4, 8, 8)
REVOS_BALL = rect(10, 10, 6, 6)  # rows 10..15, cols 10..15: overlaps the cat at rows 10-11
REVOS_ANNOS = {"0": [REVOS_CAT] * T, "1": [REVOS_BALL, None, REVOS_BALL],
               "2": [rect(2, 20, 5, 5)] * T}


def write_revos(root: Path) -> Path:
    """ReVOS as downloaded: two split meta files, mask_dict.json, mask_dict_foreground.json."""
    write_frames(root / "JPEGImages/valid_vid")
    write_frames(root / "JPEGImages/train_vid", seed=1)
    write_json(root / "meta_expressions_valid_.json", {"videos": {"valid_vid": {
        "vid_id": 0, "height": H, "width": W, "frames": FRAMES, "expressions": {
            "0": {"exp": "the cat", "obj_id": [0], "anno_id": [0], "type_id": 0},
            "1": {"exp": "what the cat plays with and the cat", "obj_id": [0, 1],
                  "anno_id": [0, 1], "type_id": 1},
            # Same sentence as "0", another object: an oracle keyed by sentence mixes them up.
            "2": {"exp": "the cat", "obj_id": [1], "anno_id": [1], "type_id": 1}}}}})
    write_json(root / "meta_expressions_train_.json", {"videos": {"train_vid": {
        "vid_id": 1, "height": H, "width": W, "frames": FRAMES, "expressions": {
            "0": {"exp": "the box", "obj_id": [0], "anno_id": [2], "type_id": 0}}}}})
    write_json(root / "mask_dict.json",
               {k: [None if m is None else rle(m) for m in v] for k, v in REVOS_ANNOS.items()})
    foreground = {}
    for video, annos in (("valid_vid", ("0", "1")), ("train_vid", ("2",))):
        masks = [np.any([REVOS_ANNOS[a][t] for a in annos if REVOS_ANNOS[a][t] is not None],
                        axis=0) for t in range(T)]
        foreground[video] = {"masks_rle": [rle(m) for m in masks],
                             "foreground_ratio": [float(m.mean()) for m in masks]}
    write_json(root / "mask_dict_foreground.json", foreground)
    return root


# ------------------------------------------------------------------------------- MeViS download
MEVIS_MASK = rect(5, 6, 10, 12)


def write_mevis(root: Path) -> Path:
    """MeViS as downloaded: train/ and valid_u/ with mask_dict.json, valid/ without."""
    for split in ("train", "valid_u", "valid"):
        folder = root / split
        write_frames(folder / "JPEGImages" / f"{split}_vid")
        exp = {"exp": "the moving thing", "obj_id": [0]}
        if split != "valid":
            exp["anno_id"] = [0]
            write_json(folder / "mask_dict.json", {"0": [rle(MEVIS_MASK)] * T})
        write_json(folder / "meta_expressions.json", {"videos": {f"{split}_vid": {
            "frames": FRAMES, "expressions": {"0": exp, "1": dict(exp, exp="it again")}}}})
    return root


# --------------------------------------------------------------------- Ref-DAVIS17 (ReferFormer)
# motorbike (val): object 1 on every frame, object 2 on frames 0-1; a void band (255) at rows 0-1.
# bear (train): object 1. The text files misspell "motorbike" as "motor-bike".
DAVIS_OBJ1 = rect(4, 2, 10, 10)
DAVIS_OBJ2 = rect(8, 18, 8, 10)
DAVIS_TEXT = {
    "Davis17_annot1": [("motor-bike", 1, "a man riding"), ("motor-bike", 2, "a bike"),
                       ("bear", 1, "a bear")],
    "Davis17_annot1_full_video": [("motor-bike", 1, "man on a bike"),
                                  ("motor-bike", 2, "the bike he rides"), ("bear", 1, "the bear")],
    "Davis17_annot2": [("motor-bike", 2, "une moto rapide"), ("motor-bike", 1, "le pilote é"),
                       ("bear", 1, "ours")],
    "Davis17_annot2_full_video": [("motor-bike", 1, "rider"), ("motor-bike", 2, "motorcycle"),
                                  ("bear", 1, "brown bear")],
}


def davis_labels(video: str) -> np.ndarray:
    """Uint8 ``[T, H, W]`` ``Annotations_unsupervised`` palette of a fabricated video."""
    labels = np.zeros((T, H, W), np.uint8)
    for t in range(T):
        labels[t][DAVIS_OBJ1] = 1
        if video == "motorbike" and t < 2:
            labels[t][DAVIS_OBJ2] = 2
        labels[t, 0:2, :] = 255
    return labels


def write_ref_davis_raw(root: Path) -> Path:
    """``ref-davis/{DAVIS, davis_text_annotations}`` as unzipped (before the converter)."""
    for i, video in enumerate(("motorbike", "bear")):
        write_frames(root / "DAVIS/JPEGImages/480p" / video, seed=i)
        for t, labels in enumerate(davis_labels(video)):
            write_palette(root / "DAVIS/Annotations_unsupervised/480p" / video / f"{t:05d}.png",
                          labels)
    sets = root / "DAVIS/ImageSets/2017"
    sets.mkdir(parents=True)
    (sets / "val.txt").write_text("motorbike\n")
    (sets / "train.txt").write_text("bear\n")
    text = root / "davis_text_annotations"
    text.mkdir(parents=True)
    for name, lines in DAVIS_TEXT.items():
        encoding = "latin-1" if "annot2" in name else "utf-8"
        body = "".join(f'{v} {o} "{s}"\n' for v, o, s in lines)
        (text / f"{name}.txt").write_bytes(body.encode(encoding))
    return root


def davis_converted_expressions(video: str) -> dict:
    """What ReferFormer's converter writes for ``video``: objects in obj_id order, 4 each."""
    name = {"motorbike": "motor-bike"}.get(video, video)
    per_file = [sorted([(o, s) for v, o, s in lines if v == name], key=lambda e: str(e[0]))
                for lines in DAVIS_TEXT.values()]
    out = {}
    for k, group in enumerate(zip(*per_file, strict=True)):
        for a, (obj_id, sentence) in enumerate(group):
            out[str(4 * k + a)] = {"exp": sentence, "obj_id": str(obj_id)}
    return out


def write_ref_davis_converted(root: Path) -> Path:
    """``ref-davis/{train,valid}/...`` + ``meta_expressions/`` as the converter leaves them."""
    for i, (split, video) in enumerate((("valid", "motorbike"), ("train", "bear"))):
        write_frames(root / split / "JPEGImages" / video, seed=i)
        for t, labels in enumerate(davis_labels(video)):
            write_palette(root / split / "Annotations" / video / f"{t:05d}.png", labels)
        write_json(root / "meta_expressions" / split / "meta_expressions.json", {"videos": {
            video: {"expressions": davis_converted_expressions(video), "frames": FRAMES}}})
    return root


# ------------------------------------------------------------------------------ Ref-YouTube-VOS
YTVOS_MASK = rect(3, 3, 12, 9)


def write_ref_youtube_vos(root: Path) -> Path:
    """CodaLab download: train with palettes; valid lists its own and the test videos."""
    write_frames(root / "train/JPEGImages/trainvid")
    for t in range(T):
        write_palette(root / "train/Annotations/trainvid" / f"{t:05d}.png",
                      YTVOS_MASK.astype(np.uint8) * 2)
    write_json(root / "meta_expressions/train/meta_expressions.json", {"videos": {"trainvid": {
        "frames": FRAMES, "expressions": {"0": {"exp": "a duck", "obj_id": "2"}}}}})
    write_frames(root / "valid/JPEGImages/validvid")
    write_frames(root / "valid/JPEGImages/testvid")
    write_frames(root / "test/JPEGImages/testvid")
    valid = {"validvid": {"frames": FRAMES, "expressions": {"0": {"exp": "a cat"},
                                                              "1": {"exp": "a cat"}}},
             "testvid": {"frames": FRAMES, "expressions": {"0": {"exp": "a dog"}}}}
    write_json(root / "meta_expressions/valid/meta_expressions.json", {"videos": valid})
    write_json(root / "meta_expressions/test/meta_expressions.json",
               {"videos": {"testvid": valid["testvid"]}})
    return root


def davis_test_palettes() -> dict[str, np.ndarray]:
    """Composed predictions for ``motorbike`` that exercise the unsupervised protocol.

    swapped: label 1 paints object 2, label 2 object 1 shifted 2 px right (assignment needed);
    one_object: object 1 exactly plus the void band (void is left out), object 2 missing;
    extra: three proposals for two objects, the first a stray box.
    """
    gt = davis_labels("motorbike")
    obj1, obj2 = gt == 1, gt == 2
    swapped = np.zeros_like(gt)
    swapped[np.roll(obj1, 2, axis=2)] = 2
    swapped[obj2] = 1
    one_object = np.zeros_like(gt)
    one_object[obj1] = 1
    one_object[:, 0:2, :] = 1
    extra = np.zeros_like(gt)
    extra[:, 18:22, 2:8] = 1
    extra[np.roll(obj1, 1, axis=1)] = 2
    extra[obj2] = 3
    return {"swapped": swapped, "one_object": one_object, "extra": extra}
