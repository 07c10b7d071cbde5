"""Fabricated training sets for the fine-tuning tests, written in the official layouts.

A ReVOS-layout video set (via the project's mask_dict writer, from synthetic clips), a refer-layout
image set (``refs(unc).p`` + ``instances.json`` + COCO images), a ReasonSeg folder, and the tiny
run config the tests train with. Also imported by ``finetune_worker.py`` under accelerate.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import cv2
import numpy as np

from vrs_hq_ros.eval.dataset_writer import write_mask_dict_dataset
from vrs_hq_ros.eval.datasets import Expression, LabelledVideo
from vrs_hq_ros.train.synthetic import make_clip

SIZE = 64


def write_revos_set(root: Path, num_videos: int = 2, num_frames: int = 6) -> Path:
    """ReVOS layout: JPEGImages/, meta_expressions.json, mask_dict.json (synthetic clips)."""
    videos = []
    for v in range(num_videos):
        clip = make_clip(500 + v, num_frames=num_frames, size=SIZE)
        exp = Expression(exp_id="0", sentence=clip.sentence, type_id=v % 2, obj_ids=(1,))
        videos.append(LabelledVideo(f"video{v}", [f"{t:05d}" for t in range(num_frames)],
                                    list(clip.frames), [exp], {"0": clip.masks}))
    return write_mask_dict_dataset(root, videos)


def write_refcoco_set(root: Path, num_images: int = 2) -> Path:
    """Refer layout under ``root``: refcoco/refs(unc).p, refcoco/instances.json, images."""
    image_dir = root / "images/mscoco/images/train2014"
    image_dir.mkdir(parents=True, exist_ok=True)
    (root / "refcoco").mkdir(parents=True, exist_ok=True)
    images, annotations, refs = [], [], []
    for i in range(num_images):
        clip = make_clip(900 + i, num_frames=1, size=SIZE)
        name = f"COCO_train2014_{i:012d}.jpg"
        cv2.imwrite(str(image_dir / name), cv2.cvtColor(clip.frames[0], cv2.COLOR_RGB2BGR))
        x, y = clip.target.centres_xy[0]
        r = clip.target.radius_px
        polygon = [x - r, y - r, x + r, y - r, x + r, y + r, x - r, y + r]
        images.append({"id": i, "file_name": name, "height": SIZE, "width": SIZE})
        annotations.append({"id": 100 + i, "image_id": i, "segmentation": [polygon],
                            "category_id": 1})
        refs.append({"ref_id": i, "image_id": i, "ann_id": 100 + i, "split": "train",
                     "sentences": [{"sent": clip.sentence, "raw": clip.sentence}]})
    (root / "refcoco/instances.json").write_text(json.dumps(
        {"images": images, "annotations": annotations, "categories": [{"id": 1}]}))
    with open(root / "refcoco/refs(unc).p", "wb") as f:
        pickle.dump(refs, f, protocol=2)
    return root


def write_reasonseg_set(root: Path, num_images: int = 2) -> Path:
    """ReasonSeg layout: train/<name>.jpg + train/<name>.json (text, shapes)."""
    folder = root / "train"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(num_images):
        clip = make_clip(700 + i, num_frames=1, size=SIZE)
        cv2.imwrite(str(folder / f"img{i}.jpg"), cv2.cvtColor(clip.frames[0], cv2.COLOR_RGB2BGR))
        x, y = clip.target.centres_xy[0]
        r = clip.target.radius_px
        shape = {"label": "target", "points": [[x - r, y - r], [x + r, y - r], [x + r, y + r],
                                               [x - r, y + r]], "shape_type": "polygon"}
        (folder / f"img{i}.json").write_text(json.dumps(
            {"text": [f"what should I pick up? {clip.sentence}"], "is_sentence": True,
             "shapes": [shape]}))
    return root


def tiny_config(tmp: Path, **overrides) -> dict:
    """The run config (as a YAML-shaped dict) of the tests: tiny model, revos + refcoco."""
    config = {
        "output_dir": str(tmp / "run"),
        "max_steps": 4, "batch_size": 1, "grad_accumulation": 1, "mixed_precision": "no",
        "save_every": 2, "keep_last": 2, "tracker": "none", "export_on_finish": False,
        "data": {"frames_min": 3, "frames_max": 4, "sets": [
            {"kind": "revos", "root": str(tmp / "revos"), "rate": 3},
            {"kind": "refcoco", "root": str(tmp / "refer"), "rate": 1}]},
        "model": {"tiny_image_size": SIZE, "lora": True, "lora_dropout": 0.0,
                  "gradient_checkpointing": True},
        "optim": {"lr": 2e-3, "warmup_steps": 0},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


def write_all_sets(tmp: Path) -> None:
    """Write the ReVOS-layout and refer-layout sets that ``tiny_config`` reads."""
    write_revos_set(tmp / "revos")
    write_refcoco_set(tmp / "refer")


def trainable_digest(module) -> np.ndarray:
    """Per-tensor sums of the trainable parameters (identical across ranks after a step)."""
    return np.array([float(p.detach().double().sum()) for p in module.parameters()
                     if p.requires_grad])


def trainable_state(module) -> dict[str, np.ndarray]:
    """Trainable parameters by name (``module.`` prefixes of DDP stripped)."""
    return {n.removeprefix("module."): p.detach().cpu().numpy().copy()
            for n, p in module.named_parameters() if p.requires_grad}
