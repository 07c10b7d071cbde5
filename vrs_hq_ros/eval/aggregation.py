"""Per-expression scores and the benchmark summaries of ReVOS, MeViS and Ref-DAVIS17.

- ReVOS (official ``eval_revos.py``): per-expression J, F and R ×100 rounded to 2 decimals, then
  averaged separately over referring (``type_id`` 0) and reasoning (``type_id`` 1) expressions; J&F
  of a subset is (J + F) / 2 of its means;
  overall = mean of the two subsets; ``type_id`` 2 is left out. R (robustness) needs
  ``mask_dict_foreground.json``; without it R is NaN.
- MeViS (official ``eval_mevis.py``) and generic sets: mean over expressions of the per-expression
  frame means, ×100, no rounding; J&F = (J + F) / 2.
- DAVIS (davis2017-evaluation ``db_statistics``): per object mean, recall (fraction of frames > 0.5)
  and decay (first quarter minus last quarter of the frames); J&F-Mean = (J-Mean + F-Mean) / 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from vrs_hq_ros.eval.metrics import (
    BOUND_TH,
    f_measure,
    jaccard,
    pixel_accuracy,
    revos_robustness,
)

REFERRING_TYPE = 0
REASONING_TYPE = 1


@dataclass
class ExpressionScore:
    """Scores of one expression of one video; ``j``/``f``/``a`` are frame means in [0, 1]."""

    video: str
    exp_id: str
    sentence: str
    type_id: int
    j: float
    f: float
    a: float
    j_per_frame: np.ndarray = field(repr=False)  # [T]
    f_per_frame: np.ndarray = field(repr=False)  # [T]
    r_per_frame: np.ndarray | None = field(default=None, repr=False)  # [T], ReVOS only

    @property
    def r(self) -> float:
        """ReVOS robustness, frame mean in [0, 1] (NaN without foreground masks)."""
        return math.nan if self.r_per_frame is None else float(self.r_per_frame.mean())

    @property
    def jf(self) -> float:
        """(J + F) / 2 in [0, 1]."""
        return (self.j + self.f) / 2


def score_expression(video: str, exp_id: str, sentence: str, type_id: int,
                     pred: np.ndarray, gt: np.ndarray, bound_th: float = BOUND_TH,
                     void: np.ndarray | None = None, gt_count: np.ndarray | None = None,
                     foreground: np.ndarray | None = None) -> ExpressionScore:
    """Score a predicted mask stack ``[T, H, W]`` against the ground truth ``[T, H, W]``.

    ``void``: pixels left out of J and F (DAVIS). ``foreground`` (ReVOS, every object) gives R,
    with ``gt_count`` the uint8 sum of the expression's annotations (default: ``gt``).
    """
    j = jaccard(pred, gt, void)
    f = f_measure(pred, gt, bound_th, void)
    a = pixel_accuracy(pred, gt)
    r = None
    if foreground is not None:
        counts = np.asarray(gt, np.uint8) if gt_count is None else gt_count
        r = revos_robustness(pred, counts, foreground)
    return ExpressionScore(video=video, exp_id=exp_id, sentence=sentence, type_id=int(type_id),
                           j=float(j.mean()), f=float(f.mean()), a=float(a.mean()),
                           j_per_frame=j, f_per_frame=f, r_per_frame=r)


@dataclass
class SubsetScore:
    """Mean scores of a set of expressions, in percent."""

    j: float
    f: float
    jf: float
    count: int
    r: float = math.nan  # ReVOS robustness (NaN where not computed)


@dataclass
class RevosSummary:
    """ReVOS table: referring, reasoning and overall, in percent."""

    referring: SubsetScore
    reasoning: SubsetScore
    overall: SubsetScore


def _nanmean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def _official_round(value: float) -> float:
    """``round(100 * value, 2)`` on a numpy float64, as the official script rounds."""
    return float(round(100 * np.float64(value), 2))


def aggregate_revos(scores: list[ExpressionScore]) -> RevosSummary:
    """Aggregate as the official ReVOS script (rounding per expression before averaging).

    Where one subset is empty (a custom set with referring expressions only), the overall score is
    the other subset's, rather than the official script's NaN.
    """
    subsets = {}
    for type_id in (REFERRING_TYPE, REASONING_TYPE):
        chosen = [s for s in scores if s.type_id == type_id]
        j = _nanmean([_official_round(s.j) for s in chosen])
        f = _nanmean([_official_round(s.f) for s in chosen])
        r = _nanmean([_official_round(s.r) for s in chosen])
        subsets[type_id] = SubsetScore(j=j, f=f, jf=(j + f) / 2, count=len(chosen), r=r)
    present = [s for s in subsets.values() if s.count > 0]
    overall = SubsetScore(
        j=_nanmean([s.j for s in present]), f=_nanmean([s.f for s in present]),
        jf=_nanmean([s.jf for s in present]), count=sum(s.count for s in present),
        r=_nanmean([s.r for s in present]))
    return RevosSummary(referring=subsets[REFERRING_TYPE], reasoning=subsets[REASONING_TYPE],
                        overall=overall)


def aggregate_mean(scores: list[ExpressionScore]) -> SubsetScore:
    """MeViS-style summary: mean over expressions of J and F (×100, unrounded)."""
    j = _nanmean([100 * s.j for s in scores])
    f = _nanmean([100 * s.f for s in scores])
    return SubsetScore(j=j, f=f, jf=(j + f) / 2, count=len(scores))


@dataclass
class DavisStatistics:
    """davis2017-evaluation global table for J and F (fractions in [0, 1], as the tool prints)."""

    jf_mean: float
    j_mean: float
    j_recall: float
    j_decay: float
    f_mean: float
    f_recall: float
    f_decay: float


def db_statistics(per_frame: np.ndarray) -> tuple[float, float, float]:
    """Mean, recall (fraction > 0.5) and decay of one object's per-frame values ``[T]``."""
    values = np.asarray(per_frame, dtype=np.float64)
    mean = float(np.nanmean(values))
    recall = float(np.nanmean(values > 0.5))
    # Four bins over the frames (shared edges), decay = first bin mean minus last bin mean.
    edges = (np.round(np.linspace(1, len(values), 5) + 1e-10) - 1).astype(int)
    bins = [values[edges[i]:edges[i + 1] + 1] for i in range(4)]
    decay = float(np.nanmean(bins[0]) - np.nanmean(bins[3]))
    return mean, recall, decay


def aggregate_davis(scores: list[ExpressionScore]) -> DavisStatistics:
    """davis2017-evaluation global statistics, one "object" per expression."""
    j_stats = np.array([db_statistics(s.j_per_frame) for s in scores]).reshape(-1, 3)
    f_stats = np.array([db_statistics(s.f_per_frame) for s in scores]).reshape(-1, 3)
    j_mean, j_recall, j_decay = (float(v) for v in j_stats.mean(axis=0))
    f_mean, f_recall, f_decay = (float(v) for v in f_stats.mean(axis=0))
    return DavisStatistics(jf_mean=(j_mean + f_mean) / 2, j_mean=j_mean, j_recall=j_recall,
                           j_decay=j_decay, f_mean=f_mean, f_recall=f_recall, f_decay=f_decay)
