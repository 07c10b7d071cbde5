"""Seeded synthetic scenes for video reasoning segmentation: moving shapes with events.

A scene holds 2-4 objects (colour, shape, size, texture) over a varied background (noise,
gradient, stripes or checker). Objects move on straight paths that bounce off the borders,
and each may *stop*, *stay still*, *leave* the view (and come back) or pass *behind* a static
occluder box. No two objects share (colour, shape, size, texture), so an object is always
nameable by its look. Ground truth is exact: per frame, the label of the object that owns
each visible pixel (later objects and the occluder are drawn on top).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

COLOURS = {"red": (220, 40, 40), "green": (40, 190, 60), "blue": (40, 80, 230),
           "yellow": (230, 210, 40), "purple": (150, 60, 200), "white": (235, 235, 235)}
SHAPES = ("circle", "square", "triangle", "diamond")
SIZES = {"small": (0.065, 0.085), "large": (0.115, 0.14)}  # radius / frame side
TEXTURES = ("plain", "striped")
MOTIONS = ("moving", "stops", "still", "leaves")
OCCLUDER_COLOUR = "green"
OCCLUDER_RGB = (30, 120, 45)  # a dark green box, never a target
BACKGROUNDS = ("noise", "gradient", "stripes", "checker")


class SceneError(ValueError):
    """Scene parameters are out of range."""


@dataclass(frozen=True)
class SceneObject:
    """One object: its look, radius in pixels, centre per frame [T, 2] (x, y), motion kind.

    ``speed_px`` is the speed while moving (pixels per frame); ``stop_frame`` the first frame
    it no longer moves (``stops``), else -1.
    """

    shape: str
    colour: str
    size: str
    texture: str
    radius_px: float
    centres_xy: np.ndarray
    motion: str
    speed_px: float
    stop_frame: int = -1

    @property
    def look(self) -> tuple[str, str, str, str]:
        """(colour, shape, size, texture): unique within a scene."""
        return (self.colour, self.shape, self.size, self.texture)


@dataclass(frozen=True)
class Occluder:
    """A static box drawn over every object: (x0, y0, x1, y1) in pixels."""

    box_xyxy: tuple[int, int, int, int]


@dataclass(frozen=True)
class Scene:
    """Frames [T, H, W, 3] uint8; labels [T, H, W] uint8 (0 = background, k + 1 = object k)."""

    frames: np.ndarray
    labels: np.ndarray
    objects: tuple[SceneObject, ...]
    occluder: Occluder | None
    background: str

    def mask(self, index: int) -> np.ndarray:
        """Visible pixels of object ``index`` per frame -> [T, H, W] bool."""
        return self.labels == index + 1

    def visible_fraction(self, index: int) -> np.ndarray:
        """Visible area / full area of object ``index`` per frame -> [T]."""
        full = np.pi * self.objects[index].radius_px ** 2
        return self.mask(index).sum((1, 2)) / max(full, 1.0)


def _pick_looks(rng: np.random.Generator, count: int) -> list[tuple[str, str, str, str]]:
    """Distinct looks; often two objects share a colour or a shape (hard negatives)."""
    looks: list[tuple[str, str, str, str]] = []
    colours, shapes = list(COLOURS), list(SHAPES)
    while len(looks) < count:
        if looks and rng.random() < 0.4:  # a hard negative of an existing object
            base = looks[int(rng.integers(len(looks)))]
            change = int(rng.integers(3))
            look = list(base)
            if change == 0:
                look[1] = shapes[int(rng.integers(len(shapes)))]
            elif change == 1:
                look[0] = colours[int(rng.integers(len(colours)))]
            else:
                look[2] = "small" if base[2] == "large" else "large"
            look[3] = TEXTURES[int(rng.random() < 0.25)]
            candidate = tuple(look)
        else:
            candidate = (colours[int(rng.integers(len(colours)))],
                         shapes[int(rng.integers(len(shapes)))],
                         ("small", "large")[int(rng.integers(2))],
                         TEXTURES[int(rng.random() < 0.25)])
        if candidate not in looks:
            looks.append(candidate)
    return looks


def _path(rng: np.random.Generator, num_frames: int, size: int, radius: float, motion: str,
          speed: float) -> tuple[np.ndarray, int]:
    """Centres [T, 2] for a motion kind, and the stop frame (-1 if none)."""
    margin = radius if motion != "leaves" else -3 * radius
    pos = rng.uniform(radius, size - radius, 2)
    angle = rng.uniform(0, 2 * np.pi)
    vel = speed * np.array([np.cos(angle), np.sin(angle)])
    stop = int(rng.integers(num_frames // 3, 2 * num_frames // 3)) if motion == "stops" else -1
    if motion == "leaves":  # head for the nearest border and leave for a while
        pos = rng.uniform(size * 0.3, size * 0.7, 2)
        axis = int(rng.integers(2))
        vel = np.zeros(2)
        vel[axis] = speed * (1.6 if rng.random() < 0.5 else -1.6)
    out = np.empty((num_frames, 2))
    for t in range(num_frames):
        out[t] = pos
        if motion == "still" or (stop >= 0 and t + 1 >= stop):
            continue
        pos = pos + vel
        for axis in range(2):  # bounce (a leaving object turns back far outside the view)
            if not margin <= pos[axis] <= size - margin:
                vel[axis] = -vel[axis]
                pos[axis] = np.clip(pos[axis], margin, size - margin)
    return out, stop


def _draw(canvas: np.ndarray, obj: SceneObject, t: int, value, size: int) -> None:
    x, y = obj.centres_xy[t]
    r = obj.radius_px
    shift = 4  # sub-pixel precision for cv2
    cx, cy, ri = int(round(x * 16)), int(round(y * 16)), int(round(r * 16))
    if obj.shape == "circle":
        cv2.circle(canvas, (cx, cy), ri, value, thickness=-1, lineType=cv2.LINE_8, shift=shift)
        return
    if obj.shape == "square":
        pts = [(cx - ri, cy - ri), (cx + ri, cy - ri), (cx + ri, cy + ri), (cx - ri, cy + ri)]
    elif obj.shape == "triangle":
        pts = [(cx, cy - ri), (cx - ri, cy + ri), (cx + ri, cy + ri)]
    else:  # diamond
        pts = [(cx, cy - ri), (cx + ri, cy), (cx, cy + ri), (cx - ri, cy)]
    cv2.fillPoly(canvas, [np.array(pts, np.int32)], value, lineType=cv2.LINE_8, shift=shift)


def _background(rng: np.random.Generator, size: int) -> tuple[np.ndarray, str]:
    kind = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    base = rng.integers(50, 130, 3)
    if kind == "noise":
        img = rng.integers(-30, 30, (size, size, 3)) + base
    elif kind == "gradient":
        ramp = np.linspace(-40, 40, size)[None, :, None] * rng.uniform(-1, 1, 3)
        img = np.broadcast_to(ramp, (size, size, 3)) + base + rng.integers(-8, 8, (size, size, 3))
    elif kind == "stripes":
        period = int(rng.integers(6, 16))
        stripe = ((np.arange(size) // period) % 2)[:, None, None] * rng.integers(-30, 30, 3)
        img = np.broadcast_to(stripe, (size, size, 3)) + base
    else:
        period = int(rng.integers(6, 16))
        idx = np.arange(size) // period
        checker = ((idx[:, None] + idx[None, :]) % 2)[..., None] * rng.integers(-30, 30, 3)
        img = checker + base
    return np.clip(img, 0, 255).astype(np.uint8), kind


def _texture(frame: np.ndarray, region: np.ndarray, t: int) -> None:
    """Dark diagonal stripes over ``region`` (a striped object)."""
    h, w = region.shape
    yy, xx = np.mgrid[0:h, 0:w]
    dark = region & (((xx + yy) // 3) % 2 == 0)
    frame[dark] = (frame[dark] * 0.45).astype(np.uint8)


def make_scene(seed: int, num_frames: int = 24, size: int = 96, num_objects: int | None = None,
               motions: tuple[str, ...] | None = None, occluder: bool | None = None) -> Scene:
    """Build the scene for ``seed`` (the same seed always gives the same scene).

    ``num_objects`` (2-4), ``motions`` (one per object) and ``occluder`` are drawn from the
    seed unless given.
    """
    if num_frames < 2 or size < 32:
        raise SceneError(f"need num_frames >= 2 and size >= 32, got {num_frames}, {size}")
    rng = np.random.default_rng(seed)
    count = num_objects if num_objects is not None else int(rng.integers(2, 5))
    if not 1 <= count <= 4:
        raise SceneError(f"num_objects must be 1..4, got {count}")
    if motions is None:
        motions = tuple(MOTIONS[int(i)] for i in rng.choice(len(MOTIONS), count,
                                                             p=[0.55, 0.15, 0.15, 0.15]))
    if len(motions) != count or any(m not in MOTIONS for m in motions):
        raise SceneError(f"motions must be {count} of {MOTIONS}, got {motions}")
    objects = []
    for look, motion in zip(_pick_looks(rng, count), motions, strict=True):
        lo, hi = SIZES[look[2]]
        radius = float(rng.uniform(lo, hi) * size)
        speed = float(rng.uniform(0.6, 2.4) * size / 96)
        centres, stop = _path(rng, num_frames, size, radius, motion, speed)
        objects.append(SceneObject(look[1], look[0], look[2], look[3], radius, centres, motion,
                                   speed if motion != "still" else 0.0, stop))
    box = None
    if occluder if occluder is not None else rng.random() < 0.35:
        w, h = (int(v) for v in rng.integers(size // 6, size // 3, 2))
        x0, y0 = int(rng.integers(0, size - w)), int(rng.integers(0, size - h))
        box = Occluder((x0, y0, x0 + w, y0 + h))
    background, kind = _background(rng, size)
    frames = np.empty((num_frames, size, size, 3), np.uint8)
    labels = np.zeros((num_frames, size, size), np.uint8)
    for t in range(num_frames):
        frame, label = background.copy(), np.zeros((size, size), np.uint8)
        for k, obj in enumerate(objects):  # later objects occlude earlier ones
            region = np.zeros((size, size), np.uint8)
            _draw(region, obj, t, 1, size)
            region = region.astype(bool)
            frame[region] = COLOURS[obj.colour]
            if obj.texture == "striped":
                _texture(frame, region, t)
            label[region] = k + 1
        if box is not None:
            x0, y0, x1, y1 = box.box_xyxy
            frame[y0:y1, x0:x1] = OCCLUDER_RGB
            label[y0:y1, x0:x1] = 0
        frames[t], labels[t] = frame, label
    return Scene(frames, labels, tuple(objects), box, kind)
