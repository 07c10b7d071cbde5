"""Predictors that replay evaluation runs: the protocol, the engine's two modes, and oracles.

A predictor turns a clip and a sentence into one bool mask per frame. Predictors that also know a
per-frame score and track state (the streaming engine) implement ``predict_traced``; the report then
plots them over time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from vrs_hq_ros.eval.records import LabelledVideo

log = logging.getLogger(__name__)

EVAL_GOAL_ID = "eval"


@runtime_checkable
class Predictor(Protocol):
    """Anything that segments a clip from a sentence."""

    def predict(self, frames: list[np.ndarray], sentence: str) -> list[np.ndarray]:
        """One bool ``[H, W]`` mask per RGB uint8 ``[H, W, 3]`` frame."""


@dataclass
class ClipPrediction:
    """Masks of a clip plus, where the predictor knows them, per-frame score and state."""

    masks: list[np.ndarray]  # bool [H, W] per frame
    scores: np.ndarray | None = None  # [T] in [0, 1]
    states: np.ndarray | None = None  # [T] TrackState values


@runtime_checkable
class ExpressionPredictor(Predictor, Protocol):
    """A predictor that answers by expression identity (the ground-truth oracle)."""

    def predict_expression(self, video: str, exp_id: str, frames: list[np.ndarray],
                           sentence: str) -> list[np.ndarray]:
        """One bool ``[H, W]`` mask per frame for expression ``exp_id`` of ``video``."""


@runtime_checkable
class TracingPredictor(Predictor, Protocol):
    """A predictor that also reports per-frame scores and states, given the frames' stamps."""

    def predict_traced(self, frames: list[np.ndarray], sentence: str,
                       stamps_ns: list[int]) -> ClipPrediction:
        """Masks, scores and states for every frame."""


def run_predictor(predictor: Predictor, frames: list[np.ndarray], sentence: str,
                  stamps_ns: list[int], video: str | None = None,
                  exp_id: str | None = None) -> ClipPrediction:
    """Call ``predict_expression`` (expression named), else ``predict_traced``, else ``predict``."""
    if isinstance(predictor, ExpressionPredictor) and video is not None and exp_id is not None:
        return ClipPrediction(masks=list(predictor.predict_expression(video, exp_id, frames,
                                                                      sentence)))
    if isinstance(predictor, TracingPredictor):
        return predictor.predict_traced(frames, sentence, stamps_ns)
    return ClipPrediction(masks=list(predictor.predict(frames, sentence)))


class OfflinePredictor:
    """The paper's offline mode: ``engine.offline.segment_clip`` (keyframe anywhere, fwd + bwd)."""

    name = "offline"

    def __init__(self, model) -> None:
        self.model = model

    @classmethod
    def from_pretrained(cls, model_dir: str | Path) -> OfflinePredictor:
        """Load ``VRSHQ.from_pretrained(model_dir)``."""
        from vrs_hq_ros.model.vrshq import VRSHQ

        return cls(VRSHQ.from_pretrained(model_dir))

    def predict(self, frames: list[np.ndarray], sentence: str) -> list[np.ndarray]:
        """One bool mask per frame."""
        from vrs_hq_ros.engine.offline import segment_clip

        return segment_clip(self.model, frames, sentence)


def deterministic_engine_config(config=None):
    """Switch an ``EngineConfig`` (default or given) to the engine's deterministic replay mode."""
    from vrs_hq_ros.engine.config import EngineConfig

    config = config or EngineConfig()
    fields = {f.name for f in dataclasses.fields(config)}
    if "deterministic" in fields:
        return dataclasses.replace(config, deterministic=True)
    log.warning("EngineConfig has no 'deterministic' field; replay may not be reproducible")
    return config


class StreamingPredictor:
    """The streaming engine, one fresh engine per clip, one goal, every frame pushed in order."""

    name = "streaming"

    def __init__(self, model, config=None) -> None:
        self.model = model
        self.config = deterministic_engine_config(config)

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, config=None) -> StreamingPredictor:
        """Load ``VRSHQ.from_pretrained(model_dir)``."""
        from vrs_hq_ros.model.vrshq import VRSHQ

        return cls(VRSHQ.from_pretrained(model_dir), config)

    def predict(self, frames: list[np.ndarray], sentence: str) -> list[np.ndarray]:
        """One bool mask per frame (stamps at 10 Hz)."""
        stamps = [i * 100_000_000 for i in range(len(frames))]
        return self.predict_traced(frames, sentence, stamps).masks

    def predict_traced(self, frames: list[np.ndarray], sentence: str,
                       stamps_ns: list[int]) -> ClipPrediction:
        """Push every frame; the goal's mask, score and state on each frame's result."""
        from vrs_hq_ros.engine.frames import Frame
        from vrs_hq_ros.engine.results import GoalAction, GoalCommand, TrackState
        from vrs_hq_ros.engine.streaming import StreamingEngine

        engine = StreamingEngine(self.model, self.config)
        masks, scores, states = [], [], []
        try:
            engine.apply(GoalCommand(GoalAction.ADD, EVAL_GOAL_ID, sentence))
            for rgb, stamp in zip(frames, stamps_ns, strict=True):
                result = engine.push(Frame(stamp_ns=int(stamp), rgb=rgb))
                goal = next((g for g in result.goals if g.goal_id == EVAL_GOAL_ID), None)
                if goal is None:
                    masks.append(np.zeros(rgb.shape[:2], bool))
                    scores.append(0.0)
                    states.append(int(TrackState.SEARCHING))
                else:
                    masks.append(np.asarray(goal.mask_hw, bool))
                    scores.append(float(goal.score))
                    states.append(int(goal.state))
        finally:
            engine.close()
        return ClipPrediction(masks, np.array(scores), np.array(states))


def shift_mask(mask: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Translate a bool ``[H, W]`` mask by (dy, dx) px; pixels shifted in are background."""
    h, w = mask.shape
    out = np.zeros_like(mask, dtype=bool)
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = mask[ys, xs]
    return out


def _clip_key(frames: list[np.ndarray], sentence: str) -> str:
    digest = hashlib.sha1(np.ascontiguousarray(frames[0]).tobytes())
    digest.update(sentence.encode())
    return f"{len(frames)}:{digest.hexdigest()}"


class GroundTruthPredictor:
    """Oracle that answers the ground truth (optionally shifted): checks the evaluation pipeline.

    Keyed by (video, expression id): two expressions of one video with the same sentence get
    their own answers. ``predict`` (no identity) recognises a clip by its first frame's pixels and
    the sentence, and refuses when that names more than one expression.
    """

    name = "oracle"

    def __init__(self, videos: list[LabelledVideo], shift_px: tuple[int, int] = (0, 0)) -> None:
        self.shift_px = shift_px
        self._answers: dict[tuple[str, str], np.ndarray] = {}
        self._by_clip: dict[str, list[tuple[str, str]]] = {}
        for video in videos:
            for exp in video.expressions:
                if exp.exp_id in video.gt_masks:
                    key = (video.name, exp.exp_id)
                    self._answers[key] = video.gt_masks[exp.exp_id]
                    self._by_clip.setdefault(_clip_key(video.frames, exp.sentence), []).append(key)

    def _shifted(self, key: tuple[str, str]) -> list[np.ndarray]:
        dy, dx = self.shift_px
        return [shift_mask(m, dy, dx) for m in self._answers[key]]

    def predict_expression(self, video: str, exp_id: str, frames: list[np.ndarray],
                           sentence: str) -> list[np.ndarray]:
        """Return the ground truth of ``video``/``exp_id``, shifted by ``shift_px`` = (dy, dx)."""
        if (video, exp_id) not in self._answers:
            raise KeyError(f"the oracle has no ground truth for {video}/{exp_id}")
        return self._shifted((video, exp_id))

    def predict(self, frames: list[np.ndarray], sentence: str) -> list[np.ndarray]:
        """Return the ground truth of the one expression with this first frame and sentence."""
        keys = self._by_clip.get(_clip_key(frames, sentence), [])
        if len(keys) != 1:
            raise KeyError(f"the oracle has {len(keys)} ground truths for {sentence!r} on this "
                           "clip; call predict_expression")
        return self._shifted(keys[0])
