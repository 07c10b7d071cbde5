"""Ablations of VRS-HQ's parts on a labelled split, as one table (referring / reasoning / all).

Variants (each changes one thing of the full model): TDA mean-pooled instead of weighted,
the CLIP anchor or the earliest sampled frame as keyframe instead of TKS, and the streaming
engine with and without re-grounding (without: only the first window is reasoned about), and
with a first window that runs after 2 frames instead of T' (an answer sooner).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vrs_hq_ros.eval.aggregation import ExpressionScore, aggregate_revos, score_expression
from vrs_hq_ros.eval.records import LabelledVideo

Predict = Callable[[list[np.ndarray], str], list[np.ndarray]]
NEVER = 10**9  # frames: a stride no clip reaches


@dataclass(frozen=True)
class AblationRow:
    """One variant's ReVOS-style J&F (percent)."""

    name: str
    referring_jf: float
    reasoning_jf: float
    overall_jf: float


def _offline(model) -> Predict:
    from vrs_hq_ros.engine.offline import segment_clip

    return lambda frames, sentence: segment_clip(model, frames, sentence)


def _with_config(model, **changes):
    """Return a shallow copy of ``model`` sharing its weights, with config fields changed."""
    variant = copy.copy(model)
    config = copy.deepcopy(model.config)
    for name, value in changes.items():
        if name == "keyframe_policy":
            config.tks = dataclasses.replace(config.tks, keyframe_policy=value)
        else:
            setattr(config, name, value)
    variant.config = config
    return variant


def _streaming(model, regrounding: bool, first_window_frames: int | None = None) -> Predict:
    from vrs_hq_ros.engine.config import EngineConfig
    from vrs_hq_ros.eval.predictors import StreamingPredictor

    config = EngineConfig(first_window_frames=first_window_frames)
    if not regrounding:
        config = dataclasses.replace(config, stride=NEVER, lost_regrounding_frames=NEVER)
    return StreamingPredictor(model, config).predict


def variants(model) -> dict[str, Predict]:
    """Return the named predictors of the ablation table, full model first."""
    return {
        "full model (offline)": _offline(model),
        "TDA mean-pooled": _offline(_with_config(model, tda_pooling="mean")),
        "CLIP-anchor keyframe only": _offline(_with_config(model, keyframe_policy="anchor")),
        "first-frame keyframe": _offline(_with_config(model, keyframe_policy="first")),
        "streaming (re-grounding)": _streaming(model, regrounding=True),
        "streaming, first window at 2 frames": _streaming(model, regrounding=True,
                                                          first_window_frames=2),
        "streaming, no re-grounding": _streaming(model, regrounding=False),
    }


def score_videos(predict: Predict, videos: list[LabelledVideo]) -> list[ExpressionScore]:
    """Run ``predict(frames, sentence) -> masks`` on every expression and score it."""
    scores = []
    for video in videos:
        for exp in video.expressions:
            pred = np.stack([np.asarray(m, bool) for m in predict(video.frames, exp.sentence)])
            scores.append(score_expression(video.name, exp.exp_id, exp.sentence, exp.type_id,
                                           pred, video.gt_masks[exp.exp_id]))
    return scores


def run_ablations(model, videos: list[LabelledVideo],
                  names: list[str] | None = None) -> list[AblationRow]:
    """Score every variant (or those in ``names``) on ``videos``."""
    rows = []
    for name, predict in variants(model).items():
        if names and name not in names:
            continue
        summary = aggregate_revos(score_videos(predict, videos))
        rows.append(AblationRow(name, summary.referring.jf, summary.reasoning.jf,
                                summary.overall.jf))
    return rows


def markdown_table(rows: list[AblationRow]) -> str:
    """Format the table as Markdown (J&F in percent)."""
    lines = ["| variant | referring J&F | reasoning J&F | overall J&F |", "|---|---|---|---|"]
    lines += [f"| {r.name} | {r.referring_jf:.1f} | {r.reasoning_jf:.1f} | {r.overall_jf:.1f} |"
              for r in rows]
    return "\n".join(lines) + "\n"
