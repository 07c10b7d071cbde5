"""Seeded synthetic clips for language-guided segmentation: coloured shapes on noise.

Each clip has two or three shapes (circle / square / triangle, distinct colours) moving on
straight paths that bounce off the borders; the target may leave the view for a few frames.
Ground truth is exact: the target's visible pixels (later shapes are drawn on top).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

COLOURS = {"red": (220, 40, 40), "green": (40, 190, 60), "blue": (40, 80, 230),
           "yellow": (230, 210, 40)}
SHAPES = ("circle", "square", "triangle")


@dataclass(frozen=True)
class ShapeTrack:
    """One moving shape: its kind, colour, radius in pixels and centre per frame [T, 2] (x, y)."""

    shape: str
    colour: str
    radius_px: int
    centres_xy: np.ndarray


@dataclass(frozen=True)
class SyntheticClip:
    """Frames [T, H, W, 3] uint8, the target's masks [T, H, W] bool, and its sentence."""

    frames: np.ndarray
    masks: np.ndarray
    sentence: str
    target: ShapeTrack
    distractors: tuple[ShapeTrack, ...]


def _path(rng: np.random.Generator, num_frames: int, size: int, radius: int) -> np.ndarray:
    pos = rng.uniform(radius, size - radius, 2)
    vel = rng.uniform(-1, 1, 2)
    vel *= rng.uniform(1.5, 3.5) * size / 128 / max(np.linalg.norm(vel), 1e-6)
    out = np.empty((num_frames, 2))
    for t in range(num_frames):
        out[t] = pos
        pos = pos + vel
        for axis in range(2):  # bounce inside the frame
            if not radius <= pos[axis] <= size - radius:
                vel[axis] = -vel[axis]
                pos[axis] = np.clip(pos[axis], radius, size - radius)
    return out


def _draw(canvas: np.ndarray, track: ShapeTrack, t: int, value) -> None:
    x, y = (int(round(v)) for v in track.centres_xy[t])
    r = track.radius_px
    if track.shape == "circle":
        cv2.circle(canvas, (x, y), r, value, thickness=-1)
    elif track.shape == "square":
        cv2.rectangle(canvas, (x - r, y - r), (x + r, y + r), value, thickness=-1)
    else:
        pts = np.array([[x, y - r], [x - r, y + r], [x + r, y + r]], np.int32)
        cv2.fillPoly(canvas, [pts], value)


def make_clip(seed: int, num_frames: int = 16, size: int = 128,
              num_distractors: int = 2) -> SyntheticClip:
    """Build the clip for ``seed``; the same seed always gives the same clip."""
    if num_frames < 1 or size < 16:
        raise ValueError(f"need num_frames >= 1 and size >= 16, got {num_frames}, {size}")
    rng = np.random.default_rng(seed)
    kinds = rng.permutation(len(SHAPES))
    colours = rng.permutation(list(COLOURS))
    tracks = []
    for k in range(num_distractors + 1):
        radius = int(rng.integers(size // 12, size // 7))
        tracks.append(ShapeTrack(SHAPES[kinds[k % len(SHAPES)]], str(colours[k]), radius,
                                 _path(rng, num_frames, size, radius)))
    target, distractors = tracks[0], tuple(tracks[1:])
    background = rng.integers(60, 120, (size, size, 3)).astype(np.uint8)
    frames = np.empty((num_frames, size, size, 3), np.uint8)
    masks = np.zeros((num_frames, size, size), bool)
    for t in range(num_frames):
        frame = background.copy()
        label = np.zeros((size, size), np.uint8)
        for k, track in enumerate(tracks):  # later shapes occlude earlier ones
            _draw(frame, track, t, COLOURS[track.colour])
            _draw(label, track, t, k + 1)
        frames[t] = frame
        masks[t] = label == 1
    sentence = f"the {target.colour} {target.shape}"
    return SyntheticClip(frames, masks, sentence, target, distractors)
