"""Image training sets: RefCOCO / RefCOCO+ / RefCOCOg / RefCLEF (refer layout) and ReasonSeg.

Refer layout (as LISA / VISA / VRS-HQ read it)::

    root/<dataset>/refs(<split_by>).p    refs: image_id, ann_id, split, sentences[{sent}]
    root/<dataset>/instances.json        COCO images (id, file_name, height, width) and
                                         annotations (id, segmentation polygons or RLE)
    root/images/mscoco/images/train2014/ (RefCLEF: root/images/saiapr_tc-12/)

ReasonSeg: ``root/<split>/<name>.jpg`` next to ``<name>.json`` holding ``text`` (sentences) and
``shapes`` (``label``: "target" or "ignore", ``points``: polygon). An image sample is one frame
and one mask; the model trains it with TAK alone.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as coco_mask

from vrs_hq_ros.eval.datasets import read_rgb
from vrs_hq_ros.train.datasets import TrainingDataError, TrainSample

REFER_KINDS = {"refcoco": "unc", "refcoco+": "unc", "refcocog": "umd", "refclef": "unc"}
IMAGE_KINDS = (*REFER_KINDS, "reasonseg")


class _PlainUnpickler(pickle.Unpickler):
    """Refs files hold only lists, dicts and strings: refuse any class (no code runs)."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"refuses to load {module}.{name}")


def read_refs(path: Path) -> list[dict]:
    """Read the refs list of a ``refs(<split_by>).p`` file (a Python 2 pickle of plain data)."""
    if not path.is_file():
        raise TrainingDataError(f"{path} does not exist (refer layout)")
    try:
        with path.open("rb") as f:
            refs = _PlainUnpickler(f, encoding="utf-8", errors="replace").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise TrainingDataError(f"{path}: not a refs pickle of plain data ({exc})") from exc
    if not isinstance(refs, list):
        raise TrainingDataError(f"{path}: expected a list of refs, got {type(refs).__name__}")
    return refs


def _field(entry: dict, key: str, where: str):
    try:
        return entry[key]
    except (KeyError, TypeError) as exc:
        raise TrainingDataError(f"{where}: missing field {key!r}") from exc


class ReferSource:
    """Every (ref, sentence) pair of one split of a refer-layout dataset."""

    def __init__(self, name: str, kind: str, root: str | Path, split: str = "train",
                 images_dir: str | Path | None = None):
        root = Path(root)
        if kind not in REFER_KINDS:
            raise TrainingDataError(f"unknown refer dataset {kind!r} ({sorted(REFER_KINDS)})")
        self.name = name
        folder = root / kind
        refs_file = folder / f"refs({REFER_KINDS[kind]}).p"
        instances_file = folder / "instances.json"
        default_images = "images/saiapr_tc-12" if kind == "refclef" else \
            "images/mscoco/images/train2014"
        self.images_dir = Path(images_dir) if images_dir else root / default_images
        refs = read_refs(refs_file)
        if not instances_file.is_file():
            raise TrainingDataError(f"{instances_file} does not exist (refer layout)")
        try:
            instances = json.loads(instances_file.read_text())
        except json.JSONDecodeError as exc:
            raise TrainingDataError(f"{instances_file}: invalid JSON ({exc})") from exc
        images = {int(_field(im, "id", f"{instances_file} images[]")): im
                  for im in _field(instances, "images", str(instances_file))}
        self.annotations = {int(_field(a, "id", f"{instances_file} annotations[]")): a
                            for a in _field(instances, "annotations", str(instances_file))}
        self.images = images
        self.items: list[tuple[int, int, str]] = []  # (image_id, ann_id, sentence)
        for ref in refs:
            where = f"{refs_file} ref {ref.get('ref_id', '?') if isinstance(ref, dict) else '?'}"
            if _field(ref, "split", where) != split:
                continue
            image_id = int(_field(ref, "image_id", where))
            ann_id = int(_field(ref, "ann_id", where))
            if ann_id not in self.annotations:
                raise TrainingDataError(f"{instances_file}: no annotation {ann_id} ({where})")
            if image_id not in images:
                raise TrainingDataError(f"{instances_file}: no image {image_id} ({where})")
            for sent in _field(ref, "sentences", where):
                self.items.append((image_id, ann_id, str(_field(sent, "sent", where))))
        if not self.items:
            raise TrainingDataError(f"{refs_file}: no ref in split {split!r}")
        self.instances_file = instances_file

    def __len__(self) -> int:
        """Return the number of (ref, sentence) pairs."""
        return len(self.items)

    def sample(self, item: int, rng: np.random.Generator) -> TrainSample:
        """Load the image and decode the referred annotation."""
        image_id, ann_id, sentence = self.items[item]
        image = self.images[image_id]
        where = f"{self.instances_file} image {image_id}"
        path = self.images_dir / str(_field(image, "file_name", where))
        rgb = read_rgb(path)
        h, w = rgb.shape[:2]
        mask = self._decode(self.annotations[ann_id], h, w)
        return TrainSample([rgb], sentence, mask[None], True, f"{self.name}:{path.name}")

    def _decode(self, annotation: dict, h: int, w: int) -> np.ndarray:
        where = f"{self.instances_file} annotation {annotation.get('id')}"
        segmentation = _field(annotation, "segmentation", where)
        try:
            if isinstance(segmentation, list):  # polygons
                rles = coco_mask.frPyObjects(segmentation, h, w)
                rle = coco_mask.merge(rles) if rles else None
            elif isinstance(segmentation.get("counts"), list):
                rle = coco_mask.frPyObjects(segmentation, h, w)
            else:
                rle = segmentation
            if rle is None:
                return np.zeros((h, w), bool)
            mask = coco_mask.decode(rle)
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            raise TrainingDataError(f"{where}: unreadable 'segmentation' ({exc})") from exc
        if mask.shape[:2] != (h, w):
            raise TrainingDataError(f"{where}: mask is {mask.shape[:2]}, image is {(h, w)}")
        return mask.astype(bool)


class ReasonSegSource:
    """Every (image, sentence) pair of ReasonSeg's ``<split>`` folder."""

    def __init__(self, name: str, root: str | Path, split: str = "train"):
        self.name = name
        folder = Path(root) / split
        if not folder.is_dir():
            raise TrainingDataError(f"{folder} does not exist (ReasonSeg layout)")
        self.items: list[tuple[Path, Path, int]] = []  # (image, json, sentence index)
        for image in sorted(folder.glob("*.jpg")):
            label = image.with_suffix(".json")
            if not label.is_file():
                raise TrainingDataError(f"{label} does not exist (label of {image.name})")
            texts = self._read(label)["text"]
            self.items += [(image, label, k) for k in range(len(texts))]
        if not self.items:
            raise TrainingDataError(f"{folder} holds no <name>.jpg + <name>.json pairs")

    @staticmethod
    def _read(label: Path) -> dict:
        try:
            data = json.loads(label.read_text())
        except json.JSONDecodeError as exc:
            raise TrainingDataError(f"{label}: invalid JSON ({exc})") from exc
        for key in ("text", "shapes"):
            if key not in data:
                raise TrainingDataError(f"{label}: missing field {key!r}")
        if isinstance(data["text"], str):
            data["text"] = [data["text"]]
        return data

    def __len__(self) -> int:
        """Return the number of (image, sentence) pairs."""
        return len(self.items)

    def sample(self, item: int, rng: np.random.Generator) -> TrainSample:
        """Load the image and fill its target polygons."""
        image, label, k = self.items[item]
        rgb = read_rgb(image)
        data = self._read(label)
        mask = np.zeros(rgb.shape[:2], np.uint8)
        for shape in data["shapes"]:
            # "ignore" regions are left as background: the mask losses have no void label.
            if "target" not in str(_field(shape, "label", f"{label} shapes[]")):
                continue
            points = np.asarray(_field(shape, "points", f"{label} shapes[]"), np.float64)
            if points.ndim != 2 or points.shape[1] != 2:
                raise TrainingDataError(f"{label}: 'points' must be [[x, y], ...]")
            cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
        return TrainSample([rgb], str(data["text"][k]), mask.astype(bool)[None], True,
                           f"{self.name}:{image.name}")
