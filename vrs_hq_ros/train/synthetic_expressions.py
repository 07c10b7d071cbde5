"""Referring and reasoning sentences about a synthetic scene, each with exactly one target.

Referring (ReVOS type 0) names the target by its look, with the fewest words that single it
out ("the red triangle", "the small blue square", "the striped circle"). Reasoning (type 1)
needs the whole clip: motion, time or comparison ("the shape that stops moving", "whichever
object moves fastest", "the one that hides behind the green box", "the object that was on
the left at the start"). A reasoning sentence is emitted only when its answer is unique with
a margin, so every expression has one well-defined target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vrs_hq_ros.train.synthetic_scenes import Scene

REFERRING, REASONING = 0, 1


LOOK_FIELDS = ("colour", "shape", "size", "texture")  # the order of ``SceneObject.look``
NAMING_FIELDS = ((0,), (1,), (0, 1), (0, 1, 2), (0, 1, 3), (0, 1, 2, 3))


@dataclass(frozen=True)
class SceneExpression:
    """A lowercased sentence, the index of its target object, its ReVOS type and its rule.

    ``named``: the look attributes a referring sentence names (``LOOK_FIELDS`` names); empty
    for reasoning sentences, whose words name none.
    """

    sentence: str
    target: int
    type_id: int
    rule: str
    named: tuple[str, ...] = ()


def naming_options(scene: Scene, index: int) -> list[tuple[int, ...]]:
    """Attribute subsets (``NAMING_FIELDS``) that single object ``index`` out in its scene."""
    looks = [o.look for o in scene.objects]
    others = [look for k, look in enumerate(looks) if k != index]
    return [fields for fields in NAMING_FIELDS
            if all(any(o[f] != looks[index][f] for f in fields) for o in others)]


def _referring(scene: Scene, index: int, rng: np.random.Generator
               ) -> tuple[str, tuple[str, ...]]:
    """Shortest unique description by look, words in the order size, texture, colour, shape.

    Returns the sentence and the attributes it names.
    """
    colour, shape, size, texture = scene.objects[index].look
    options = naming_options(scene, index)
    # prefer "colour shape" as people do; the shortest unique form sometimes
    fields = (0, 1) if (0, 1) in options and rng.random() < 0.6 else options[0]
    words = []
    if 2 in fields:
        words.append(size)
    if 3 in fields:
        words.append(texture)
    if 0 in fields:
        words.append(colour)
    words.append(shape if 1 in fields else ("object" if rng.random() < 0.5 else "one"))
    return "the " + " ".join(words), tuple(LOOK_FIELDS[f] for f in fields)


def _unique(values: np.ndarray, margin: float, largest: bool = True) -> int | None:
    """Index of the unique extreme of ``values`` beating the runner-up by ``margin``."""
    if len(values) < 2:
        return None
    order = np.argsort(values)
    best, second = (order[-1], order[-2]) if largest else (order[0], order[1])
    gap = values[best] - values[second] if largest else values[second] - values[best]
    return int(best) if gap >= margin else None


def _hidden_by_box(scene: Scene, k: int) -> bool:
    if scene.occluder is None:
        return False
    x0, y0, x1, y1 = scene.occluder.box_xyxy
    obj = scene.objects[k]
    r = obj.radius_px
    inside = ((obj.centres_xy[:, 0] - r * 0.6 >= x0) & (obj.centres_xy[:, 0] + r * 0.6 <= x1)
              & (obj.centres_xy[:, 1] - r * 0.6 >= y0) & (obj.centres_xy[:, 1] + r * 0.6 <= y1))
    return bool(inside.sum() >= 2 and scene.visible_fraction(k)[inside].max() < 0.35)


def _out_of_view(scene: Scene, k: int) -> bool:
    size = scene.frames.shape[1]
    c, r = scene.objects[k].centres_xy, scene.objects[k].radius_px
    outside = (c < -r).any(1) | (c > size + r).any(1)
    return bool(outside.sum() >= 2)


def _rules(scene: Scene) -> dict[str, Callable[[], int | None]]:
    objs = scene.objects
    n = len(objs)
    size = scene.frames.shape[1]
    start_x = np.array([o.centres_xy[0, 0] for o in objs])
    start_y = np.array([o.centres_xy[0, 1] for o in objs])
    moved = np.array([np.linalg.norm(np.diff(o.centres_xy, axis=0), axis=1).mean()
                      for o in objs])

    def only(flags: list[bool]) -> int | None:
        return flags.index(True) if sum(flags) == 1 else None

    return {
        "stops": lambda: only([o.motion == "stops" for o in objs]),
        "still": lambda: only([o.motion == "still" for o in objs]),
        "fastest": lambda: (_unique(moved, 0.5 * size / 96) if n >= 2 and
                            moved.max() > 1.5 * np.sort(moved)[-2] else None),
        "hides": lambda: only([_hidden_by_box(scene, k) for k in range(n)]),
        "leaves": lambda: only([_out_of_view(scene, k) for k in range(n)]),
        "left_at_start": lambda: _unique(-start_x, 0.12 * size),
        "right_at_start": lambda: _unique(start_x, 0.12 * size),
        "top_at_start": lambda: _unique(-start_y, 0.12 * size),
        "biggest": lambda: _unique(np.array([o.radius_px for o in objs]), 0.03 * size),
    }


PHRASES: dict[str, tuple[str, ...]] = {
    "stops": ("the shape that stops moving", "the object that comes to a halt",
              "which object stops moving?", "the one that stops partway"),
    "still": ("the object that does not move", "the shape that stays still",
              "which shape never moves?", "the motionless object"),
    "fastest": ("whichever object moves fastest", "the fastest shape",
                "which object is the quickest?", "the object moving the fastest"),
    "hides": ("the one that hides behind the green box", "the shape that goes behind the box",
              "which object disappears behind the green box?"),
    "leaves": ("the object that leaves the view", "the shape that goes out of the picture",
               "which object exits the frame?"),
    "left_at_start": ("the object that was on the left at the start",
                      "the leftmost shape in the first frame",
                      "which object starts furthest to the left?"),
    "right_at_start": ("the object that was on the right at the start",
                       "the rightmost shape in the first frame"),
    "top_at_start": ("the object that was at the top at the start",
                     "the highest shape in the first frame"),
    "biggest": ("the biggest object", "the largest shape", "which object is the largest?"),
}


def scene_expressions(scene: Scene, rng: np.random.Generator) -> list[SceneExpression]:
    """Every referring sentence (one per object) and every reasoning sentence that applies."""
    out = []
    for k in range(len(scene.objects)):
        if scene.visible_fraction(k).max() > 0.3:
            sentence, named = _referring(scene, k, rng)
            out.append(SceneExpression(sentence, k, REFERRING, "look", named))
    for rule, answer in _rules(scene).items():
        target = answer()
        if target is None or scene.visible_fraction(target).max() <= 0.3:
            continue
        phrases = PHRASES[rule]
        out.append(SceneExpression(phrases[int(rng.integers(len(phrases)))], target,
                                   REASONING, rule))
    return out
