"""Ref-DAVIS17 published protocol: one palette per annotator, scored as davis2017 unsupervised.

ReferFormer (``inference_davis.py``, ``eval_davis.py``): for each of the 4 annotators (annotator 1
first-frame, annotator 1 full-video, annotator 2 first-frame, annotator 2 full-video), the
predictions of that annotator's expressions of a video are composed into one palette PNG per frame
(label k + 1 for the k-th expression; where masks overlap, the earlier expression wins, as
``argmax`` over [0.1 background, masks] does with binary masks). davis2017-evaluation's
``unsupervised`` task then reads the palette against ``Annotations_unsupervised``:

- ground truth objects 1..N with N = the largest label of the first frame; label 255 is void;
- proposals 1..M with M = the largest label of the palette over all frames (at most 20), padded
  with empty proposals to N;
- J and F of every (proposal, object) pair with the void pixels left out, the proposal-to-object
  assignment maximising the sum of (mean J + mean F) / 2 (``linear_sum_assignment``);
- per matched object: mean, recall and decay (``db_statistics``); J&F-Mean = (J-Mean + F-Mean) / 2
  over all objects of all videos, for each annotator separately.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from vrs_hq_ros.eval.aggregation import DavisStatistics, db_statistics
from vrs_hq_ros.eval.errors import EvalError, MaskShapeError
from vrs_hq_ros.eval.metrics import (
    BOUND_TH,
    Boundary,
    boundary_tolerance_px,
    f_from_boundaries,
    jaccard,
)
from vrs_hq_ros.eval.palette import VOID_LABEL
from vrs_hq_ros.eval.records import Expression

MAX_PROPOSALS = 20  # davis2017 ``_evaluate_unsupervised``
_MAX_ASSIGNMENTS = 2_000_000


class PaletteProtocolError(EvalError, ValueError):
    """A palette cannot be scored (too many proposals, wrong size)."""


def best_assignment(scores: np.ndarray) -> list[tuple[int, int]]:
    """(proposal, object) pairs maximising the summed score, ordered by proposal.

    ``scores`` is ``[proposals, objects]`` with proposals >= objects: every object gets one
    proposal, as scipy's ``linear_sum_assignment(-scores)`` (exhaustive; DAVIS has <= 20 x 10).
    """
    n_res, n_gt = scores.shape
    if n_gt == 0:
        return []
    if math.perm(n_res, n_gt) > _MAX_ASSIGNMENTS:
        raise PaletteProtocolError(f"{n_res} proposals x {n_gt} objects: too many assignments")
    best, best_total = None, -math.inf
    for rows in itertools.permutations(range(n_res), n_gt):
        total = float(sum(scores[r, c] for c, r in enumerate(rows)))
        if total > best_total:
            best, best_total = rows, total
    return sorted((r, c) for c, r in enumerate(best))


def score_unsupervised(gt_labels: np.ndarray, palette: np.ndarray,
                       bound_th: float = BOUND_TH) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per-frame (J, F) of every ground-truth object of one video, as davis2017 ``unsupervised``.

    ``gt_labels``: uint8 ``[T, H, W]`` palette of ``Annotations_unsupervised`` (255 void);
    ``palette``: uint8 ``[T, H, W]`` composed prediction.
    """
    gt_labels = np.asarray(gt_labels)
    palette = np.asarray(palette)
    if gt_labels.shape != palette.shape or gt_labels.ndim != 3:
        raise MaskShapeError(f"palette {palette.shape} and ground truth {gt_labels.shape} differ")
    void = gt_labels == VOID_LABEL
    labels = np.where(void, 0, gt_labels)
    n_gt = int(labels[0].max())
    n_res = int(palette.max())
    if n_res > MAX_PROPOSALS:
        raise PaletteProtocolError(f"palette label {n_res} > {MAX_PROPOSALS} proposals allowed")
    n_res = max(n_res, n_gt)
    j = np.zeros((n_res, n_gt, labels.shape[0]))
    f = np.zeros_like(j)
    # Each mask's boundary is dilated once, not once per pair (same numbers as f_measure).
    radius = boundary_tolerance_px(*labels.shape[1:], bound_th)
    kept = ~void
    gts = [labels == ii + 1 for ii in range(n_gt)]
    res = [palette == jj + 1 for jj in range(n_res)]
    gt_bounds = [Boundary.of(g & kept, radius) for g in gts]
    res_bounds = [Boundary.of(r & kept, radius) for r in res]
    for ii in range(n_gt):
        for jj in range(n_res):
            j[jj, ii] = jaccard(res[jj], gts[ii], void)
            f[jj, ii] = f_from_boundaries(res_bounds[jj], gt_bounds[ii])
    pairs = best_assignment((j.mean(axis=2) + f.mean(axis=2)) / 2)
    return [(j[r, c], f[r, c]) for r, c in pairs]


@dataclass
class PaletteComposer:
    """Builds one palette per annotator of a video from its expressions' binary predictions."""

    expressions: list[Expression]
    shape: tuple[int, int, int]  # [T, H, W]
    palettes: dict[int, np.ndarray] = field(default_factory=dict)

    def label_of(self, expression: Expression) -> int | None:
        """Palette label of ``expression``: 1 + its position among its annotator's expressions."""
        if expression.annotator is None:
            return None
        same = [e.exp_id for e in self.expressions if e.annotator == expression.annotator]
        return same.index(expression.exp_id) + 1

    def add(self, expression: Expression, masks: np.ndarray) -> None:
        """Paint ``masks`` (bool ``[T, H, W]``) where nothing of the annotator is painted yet."""
        label = self.label_of(expression)
        if label is None:
            return
        masks = np.asarray(masks, bool)
        if masks.shape != self.shape:
            raise MaskShapeError(f"masks {masks.shape} on a palette of {self.shape}")
        palette = self.palettes.setdefault(expression.annotator, np.zeros(self.shape, np.uint8))
        palette[(palette == 0) & masks] = label


def palette_statistics(objects: list[tuple[np.ndarray, np.ndarray]]) -> DavisStatistics:
    """davis2017 global statistics over matched objects' per-frame (J, F)."""
    j_stats = [db_statistics(j) for j, _ in objects]
    f_stats = [db_statistics(f) for _, f in objects]
    # 1-D means of each column, as the tool's np.mean(J["M"]) over its list (same summation).
    j_mean, j_recall, j_decay = (float(np.mean([s[i] for s in j_stats])) for i in range(3))
    f_mean, f_recall, f_decay = (float(np.mean([s[i] for s in f_stats])) for i in range(3))
    return DavisStatistics(jf_mean=(j_mean + f_mean) / 2, j_mean=j_mean, j_recall=j_recall,
                           j_decay=j_decay, f_mean=f_mean, f_recall=f_recall, f_decay=f_decay)


def summarise_annotators(objects: dict[int, list[tuple[np.ndarray, np.ndarray]]]) -> dict:
    """Statistics per annotator and their mean (``{"annotator_<a>": ..., "mean": ...}``)."""
    per = {a: palette_statistics(objs) for a, objs in sorted(objects.items()) if objs}
    if not per:
        return {}
    keys = DavisStatistics.__dataclass_fields__
    mean = DavisStatistics(**{k: float(np.mean([getattr(s, k) for s in per.values()]))
                              for k in keys})
    out = {f"annotator_{a}": s for a, s in per.items()}
    out["mean"] = mean
    return out
