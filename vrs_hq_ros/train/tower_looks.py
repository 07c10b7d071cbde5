"""Dense look supervision of the MLLM's vision tower (the ``tower`` stage, a training aid).

The official VRS-HQ starts from a pretrained CLIP tower that already tells shapes and colours
apart. The toy's tower starts from random weights, and a sentence-level signal never taught it
shape: a new MLLM asked to name a lone object's look read its colour, size and texture, but
shape stayed at chance (docs/TRAINING.md, "Batched words on a lent GPU"). Here each patch
token the LLM reads (LLaVA's ``vision_feature_layer``) classifies the colour, shape, size and
texture of the object covering its patch, or background, and regresses where that object's
centre is and how far it moves to the next frame read (with ``vision_frame_pairs``, when the
token sees that difference). The LLM then answers a reasoning sentence by selecting tokens
("fastest", "on the left") and copying their look, instead of deriving look, place and motion
from raw patches. This is the toy's stand-in for a pretrained image and video tower (a
deviation, docs/TRAINING.md "The tower stage"). The heads are not part of the saved model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vrs_hq_ros.model.llava_backbone import LlavaBackbone
from vrs_hq_ros.train.look_maps import ATTRIBUTES, half_and_half
from vrs_hq_ros.train.synthetic_scenes import Scene

IGNORE = -100
OWNED = 0.2  # a patch is an object's when that object covers at least this share of it
EMPTY = 0.03  # ... and background when all objects together cover less than this share
TOWER_FRAMES = 3  # frames read per scene in a ``tower`` step, evenly spaced ...
TOWER_RENDERED = 12  # ... within the first this many (rendering whole clips was the step's cost)
MAX_GAP = 3  # frames between two read frames (T' = 8-12 of 20-32 frames: gaps of 2-4)
MOTION_SCALE = 5.0  # displacement in % of the frame side, divided by this (targets ~0-2)


def patch_attribute_labels(scene: Scene, indices: list[int], grid: int) -> dict[str, np.ndarray]:
    """Per attribute, the class of the object owning each patch [F, grid, grid].

    0 is background, ``IGNORE`` a patch an object only grazes (between ``EMPTY`` and
    ``OWNED``), else 1 + the attribute's index in ``ATTRIBUTES``. ``owner`` holds 1 + the
    owning object's index (0: none).
    """
    labels = scene.labels[indices]  # [F, H, W], 0 = background, k + 1 = object k
    count = len(scene.objects)
    height, width = labels.shape[1:]
    rows = np.linspace(0, height, grid + 1).round().astype(int)
    cols = np.linspace(0, width, grid + 1).round().astype(int)
    one_hot = labels[:, None] == np.arange(1, count + 1)[None, :, None, None]  # [F, K, H, W]
    cover = np.add.reduceat(np.add.reduceat(one_hot, rows[:-1], axis=2), cols[:-1], axis=3)
    area = np.outer(np.diff(rows), np.diff(cols))[None, None]
    share = cover / area  # [F, K, g, g]
    owner = share.argmax(1)
    owned = share.max(1) >= OWNED
    empty = share.sum(1) < EMPTY
    maps = {"owner": np.where(owned, owner + 1, 0)}
    for name, values in ATTRIBUTES.items():
        table = np.array([values.index(getattr(o, name)) + 1 for o in scene.objects])
        classes = np.where(owned, table[owner], IGNORE)
        maps[name] = np.where(empty, 0, classes)
    return maps


def patch_motion_targets(scene: Scene, indices: list[int], owners: np.ndarray) -> np.ndarray:
    """Per patch, the owning object's centre x, y (0-1) and its step to the next read frame.

    The step is the displacement in % of the frame side / ``MOTION_SCALE``, the last frame's
    taken from the one before, as ``with_frame_differences`` shows it. ``owners`` [F, g, g]
    holds 1 + the object index, 0 where no object owns the patch; the result [F, g, g, 3] is
    NaN there.
    """
    size = scene.labels.shape[-1]
    centres = np.stack([o.centres_xy[indices] for o in scene.objects])  # [K, F, 2]
    steps = np.diff(centres, axis=1)
    steps = np.concatenate([steps, steps[:, -1:]], axis=1) if len(indices) > 1 \
        else np.zeros_like(centres)
    moved = np.linalg.norm(steps, axis=-1) / size * 100 / MOTION_SCALE  # [K, F]
    per_object = np.concatenate([np.clip(centres / size, 0, 1), moved[..., None]], -1)
    table = np.concatenate([np.full((1, len(indices), 3), np.nan), per_object])
    frames = np.arange(len(indices))[:, None, None]
    return table[owners, frames]


def tower_patch_features(backbone: LlavaBackbone, pixels: torch.Tensor) -> torch.Tensor:
    """Return the patch tokens LLaVA hands its projector: [F, tokens, width] (CLS dropped)."""
    layer = backbone.llava.config.vision_feature_layer
    out = backbone.llava.model.vision_tower(pixels, output_hidden_states=True)
    return out.hidden_states[layer][:, 1:]


class TowerLookHeads(nn.Module):
    """Linear heads on a patch token: look logits (+ background) and motion.

    ``head`` gives the colour, shape, size and texture logits; ``motion`` the owning object's
    centre x, y and displacement.
    """

    def __init__(self, width: int):
        super().__init__()
        self.classes = [len(values) + 1 for values in ATTRIBUTES.values()]
        self.head = nn.Linear(width, sum(self.classes))
        self.motion = nn.Linear(width, 3)  # centre x, y and displacement

    @classmethod
    def seeded(cls, width: int, seed: int = 1) -> TowerLookHeads:
        """Heads initialised from their own seed; torch's global RNG is left as it was."""
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            return cls(width)

    def logits(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """[N, D] -> per attribute [N, classes]."""
        return dict(zip(ATTRIBUTES, self.head(features).split(self.classes, dim=-1),
                        strict=True))


@dataclass
class TowerBatch:
    """Frames of several scenes as tower input, with their per-patch targets.

    ``labels`` per attribute [N_frames * tokens]; ``motion`` [N_frames * tokens, 3], NaN where
    no object owns the patch.
    """

    pixels: torch.Tensor
    labels: dict[str, torch.Tensor]
    motion: torch.Tensor


def tower_batch(backbone: LlavaBackbone, scenes: list[Scene], rng: np.random.Generator,
                frames_per_scene: int) -> TowerBatch:
    """Read ``frames_per_scene`` evenly spaced frames of each scene, with their targets.

    The gap between read frames is drawn from 1 to ``MAX_GAP``.
    """
    grid = backbone.cfg.vision_image_size // backbone.cfg.vision_patch_size
    pixels, motion, labels = [], [], {name: [] for name in ATTRIBUTES}
    for scene in scenes:
        count = min(frames_per_scene, len(scene.frames))
        widest = min(MAX_GAP, (len(scene.frames) - 1) // (count - 1)) if count > 1 else 1
        gap = int(rng.integers(1, widest + 1))
        first = int(rng.integers(0, len(scene.frames) - gap * (count - 1)))
        indices = [first + gap * i for i in range(count)]
        pixels.append(backbone.preprocess_frames(list(scene.frames[indices])))
        maps = patch_attribute_labels(scene, indices, grid)
        owners = maps.pop("owner")
        motion.append(torch.as_tensor(patch_motion_targets(scene, indices, owners),
                                      dtype=torch.float32).reshape(-1, 3))
        for name, values in maps.items():
            labels[name].append(torch.as_tensor(values, dtype=torch.long).flatten())
    return TowerBatch(torch.cat(pixels), {k: torch.cat(v) for k, v in labels.items()},
                      torch.cat(motion))


def _predict(backbone: LlavaBackbone, heads: TowerLookHeads, batch: TowerBatch):
    """Attribute logits, motion predictions and motion targets of every patch of the batch."""
    param = next(backbone.parameters())
    features = tower_patch_features(backbone, batch.pixels.to(param.device, param.dtype))
    flat = features.flatten(0, 1)
    return heads.logits(flat), heads.motion(flat), batch.motion.to(flat.device)


def tower_look_loss(backbone: LlavaBackbone, heads: TowerLookHeads,
                    batch: TowerBatch) -> torch.Tensor:
    """Mean over attributes' cross-entropy and the motion targets' smooth-L1 error.

    Object and background patches weigh half each in the cross-entropy; the motion targets
    count on object patches only, the displacement only with ``vision_frame_pairs`` (else no
    token sees it).
    """
    logits, motion, target = _predict(backbone, heads, batch)
    owned = ~target[:, 0].isnan()
    columns = 3 if backbone.cfg.vision_frame_pairs else 2
    terms = [F.smooth_l1_loss(motion[owned][:, :columns], target[owned][:, :columns])
             if owned.any() else motion.new_zeros(())]
    for name, lg in logits.items():
        target = batch.labels[name].to(lg.device)
        keep = target != IGNORE
        ce = F.cross_entropy(lg[keep], target[keep], reduction="none")
        terms.append(half_and_half(ce, target[keep] > 0))
    return torch.stack(terms).mean()


@torch.no_grad()
def tower_look_accuracy(backbone: LlavaBackbone, heads: TowerLookHeads,
                        batch: TowerBatch) -> dict[str, float]:
    """Per attribute, the share of object patches whose class the heads get right.

    Also the mean absolute errors of the centre (``place``, share of the frame side) and of
    the displacement (``moved``, % of the side).
    """
    logits, motion, target = _predict(backbone, heads, batch)
    owned = ~target[:, 0].isnan()
    error = (motion[owned] - target[owned]).abs()
    accuracy = {"place": float(error[:, :2].mean()),
                "moved": float(error[:, 2].mean() * MOTION_SCALE)}
    for name, lg in logits.items():
        target = batch.labels[name].to(lg.device)
        objects = target > 0
        right = lg[objects].argmax(-1) == target[objects]
        accuracy[name] = float(right.float().mean()) if objects.any() else float("nan")
    return accuracy
