"""Training samples from video datasets: the official layouts, converted bags and synthetic clips.

Videos are read through the evaluation readers (``vrs_hq_ros.eval``): ReVOS / MeViS and a bag
written by ``vrs-hq convert`` (mask_dict layout), Ref-DAVIS17 and Ref-YouTube-VOS (palette PNGs,
``eval/ref_davis.py`` and ``eval/ref_youtube_vos.py``).
A video sample is T' frames, one drawn from each of T' equal segments of the video with T'
uniform in ``[frames_min, frames_max]`` (the official ``uniform`` policy; a shorter video gives
all its frames). Layout problems stop with ``TrainingDataError`` naming the file and field.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from vrs_hq_ros.eval.datasets import (
    EvalSet,
    Expression,
    MaskDictGroundTruth,
    Video,
    load_mask_dict_dataset,
    read_rgb,
)
from vrs_hq_ros.eval.errors import DatasetFormatError
from vrs_hq_ros.eval.ref_davis import PaletteGroundTruth, load_ref_davis
from vrs_hq_ros.eval.ref_youtube_vos import load_ref_youtube_vos
from vrs_hq_ros.eval.rle import decode_or_empty
from vrs_hq_ros.train.synthetic import make_clip

log = logging.getLogger(__name__)

VIDEO_KINDS = ("revos", "mevis", "bag", "davis", "ref_youtube_vos", "synthetic")


class TrainingDataError(DatasetFormatError):
    """A training set is missing or does not follow its layout (the message names the file)."""


@dataclass
class TrainSample:
    """One training example: frames RGB uint8 [H, W, 3], sentence, masks bool [T', H, W].

    ``is_image``: a still image (T' = 1), trained with TAK alone (no TDA), as the official code.
    """

    frames: list[np.ndarray]
    sentence: str
    masks: np.ndarray
    is_image: bool
    origin: str  # "<set>:<item>", for error messages and logs
    question_variant: int = 0  # official training templates (0 = the inference text)
    answer_variant: int = 0


@dataclass(frozen=True)
class FrameRange:
    """T' drawn uniformly from ``[frames_min, frames_max]`` (official: 8..12)."""

    frames_min: int = 8
    frames_max: int = 12

    def __post_init__(self):
        if not 1 <= self.frames_min <= self.frames_max:
            raise ValueError(f"need 1 <= frames_min <= frames_max, got {self.frames_min}, "
                             f"{self.frames_max}")


class SampleSource(Protocol):
    """A training set: a number of items, each drawn into a sample with a generator."""

    name: str

    def __len__(self) -> int:
        """Return the number of items (video-expression pairs, image-sentence pairs, clips)."""

    def sample(self, item: int, rng: np.random.Generator) -> TrainSample:
        """Item ``item`` as a sample; ``rng`` draws frames and T'."""


def segment_indices(num_frames: int, count: int, rng: np.random.Generator) -> list[int]:
    """One random frame from each of ``count`` equal segments of ``[0, num_frames)``."""
    if num_frames <= count:
        return list(range(num_frames))
    edges = np.linspace(0, num_frames, count + 1)
    starts, ends = np.floor(edges[:-1]).astype(int), np.floor(edges[1:]).astype(int)
    return [int(rng.integers(s, max(e, s + 1))) for s, e in zip(starts, ends, strict=True)]


class VideoSource:
    """Every (video, expression) pair of an ``EvalSet``, sampled as T' frames."""

    def __init__(self, name: str, dataset: EvalSet, frames: FrameRange,
                 mask_file: Path | None = None):
        self.name = name
        self.dataset = dataset
        self.frames = frames
        self.mask_file = mask_file
        self.items = [(v, e) for v in dataset.videos for e in v.expressions]
        if not self.items:
            raise TrainingDataError(f"training set {name!r} has no video with an expression")

    def __len__(self) -> int:
        """Return the number of (video, expression) pairs."""
        return len(self.items)

    def sample(self, item: int, rng: np.random.Generator) -> TrainSample:
        """Draw T' and one frame per segment of the pair's video."""
        video, expression = self.items[item]
        count = int(rng.integers(self.frames.frames_min, self.frames.frames_max + 1))
        indices = segment_indices(len(video.frame_paths), count, rng)
        frames = [read_rgb(video.frame_paths[i]) for i in indices]
        masks = self._masks(video, expression, indices)
        origin = f"{self.name}:{video.name}/{expression.exp_id}"
        if masks.shape[1:] != frames[0].shape[:2]:
            raise TrainingDataError(f"{origin}: masks are {masks.shape[1:]} but frame "
                                    f"{video.frame_paths[indices[0]]} is {frames[0].shape[:2]}")
        return TrainSample(frames, expression.sentence, masks, False, origin)

    def _masks(self, video: Video, expression: Expression, indices: list[int]) -> np.ndarray:
        """Ground truth on the chosen frames only (decoding a whole video per sample is waste)."""
        truth = self.dataset.ground_truth
        if isinstance(truth, MaskDictGroundTruth):
            h, w = read_rgb(video.frame_paths[indices[0]]).shape[:2]
            out = np.zeros((len(indices), h, w), bool)
            for anno_id in expression.anno_ids:
                track = truth.mask_dict[anno_id]
                for k, i in enumerate(indices):
                    out[k] |= decode_or_empty(track[i], h, w)
            return out
        if isinstance(truth, PaletteGroundTruth):
            h, w = read_rgb(video.frame_paths[indices[0]]).shape[:2]
            out = np.zeros((len(indices), h, w), bool)
            for k, i in enumerate(indices):
                path = truth.annotations_dir / video.name / f"{video.frame_names[i]}.png"
                if path.is_file():
                    labels = np.array(Image.open(path))
                    if labels.shape != (h, w):
                        raise TrainingDataError(f"{path} is {labels.shape}, frames are {(h, w)}")
                    out[k] = np.isin(labels, expression.obj_ids)
            return out
        return self.dataset.gt_masks(video, expression)[indices]


def check_mask_dict(dataset: EvalSet, mask_file: Path, meta_file: Path) -> None:
    """Fail before training on a missing ``anno_id`` or a track/frame count mismatch."""
    mask_dict = dataset.ground_truth.mask_dict
    for video in dataset.videos:
        for exp in video.expressions:
            if not exp.anno_ids:
                raise TrainingDataError(f"{meta_file}: expression {video.name}/{exp.exp_id} "
                                        "has no 'anno_id'")
            for anno_id in exp.anno_ids:
                if anno_id not in mask_dict:
                    raise TrainingDataError(
                        f"{mask_file}: no entry for anno_id {anno_id} (expression "
                        f"{video.name}/{exp.exp_id} of {meta_file.name})")
                if len(mask_dict[anno_id]) != len(video.frame_names):
                    raise TrainingDataError(
                        f"{mask_file}: anno_id {anno_id} has {len(mask_dict[anno_id])} frames, "
                        f"video {video.name} lists {len(video.frame_names)} in {meta_file.name}")


def _meta_file(root: Path, meta: str | None) -> Path:
    if meta:
        return root / meta
    default = root / "meta_expressions.json"
    found = sorted(root.glob("meta_expressions*.json"))
    return default if default.is_file() or not found else found[0]


class SyntheticSource:
    """The project's seeded synthetic clips (``train/synthetic.py``), item ``i`` = seed ``i``."""

    def __init__(self, name: str, num_clips: int, size: int, clip_frames: int,
                 frames: FrameRange, seed: int = 0):
        self.name, self.num_clips, self.size = name, num_clips, size
        self.clip_frames, self.frames, self.seed = clip_frames, frames, seed

    def __len__(self) -> int:
        """Return the number of clips."""
        return self.num_clips

    def sample(self, item: int, rng: np.random.Generator) -> TrainSample:
        """Draw T' frames of clip ``item``."""
        clip = make_clip(self.seed * 100_000 + item, num_frames=self.clip_frames, size=self.size)
        count = int(rng.integers(self.frames.frames_min, self.frames.frames_max + 1))
        indices = segment_indices(self.clip_frames, count, rng)
        return TrainSample([clip.frames[i] for i in indices], clip.sentence,
                           clip.masks[indices], False, f"{self.name}:{item}")


def load_video_source(name: str, kind: str, root: str | Path | None, frames: FrameRange,
                      meta: str | None = None, split: str = "train") -> VideoSource:
    """Read one video training set and check its layout up front."""
    if root is None or not Path(root).is_dir():
        raise TrainingDataError(f"training set {name!r}: root folder {root} does not exist")
    root = Path(root)
    try:
        if kind in ("revos", "mevis", "bag"):
            dataset = load_mask_dict_dataset(root, meta=meta,
                                             kind="mevis" if kind == "mevis" else "revos")
            check_mask_dict(dataset, root / "mask_dict.json", _meta_file(root, meta))
        elif kind == "davis":
            dataset = load_ref_davis(root, split=split if split != "train" else None)
        elif kind == "ref_youtube_vos":
            dataset = load_ref_youtube_vos(root, split)
        else:
            raise TrainingDataError(f"training set {name!r}: unknown video kind {kind!r} "
                                    f"(one of {VIDEO_KINDS})")
    except TrainingDataError:
        raise
    except DatasetFormatError as exc:
        raise TrainingDataError(f"training set {name!r} ({root}): {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:  # a field of the wrong type or missing
        raise TrainingDataError(f"training set {name!r} ({root}): malformed annotation "
                                f"field {exc!r}") from exc
    log.info("training set %s (%s): %d videos", name, kind, len(dataset.videos))
    return VideoSource(name, dataset, frames)
