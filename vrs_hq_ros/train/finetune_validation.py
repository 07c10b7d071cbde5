"""Held-out J&F during fine-tuning, with the project's evaluator (``eval/``).

Each rank scores a share of the held-out expressions with the offline predictor (the paper's
mode) on the first ``max_frames`` frames of each video; scores are gathered across ranks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from vrs_hq_ros.eval.aggregation import score_expression
from vrs_hq_ros.eval.datasets import EvalSet, load_dataset, load_mask_dict_dataset, read_rgb
from vrs_hq_ros.eval.predictors import OfflinePredictor
from vrs_hq_ros.eval.ref_davis import load_ref_davis
from vrs_hq_ros.model.vrshq import VRSHQ
from vrs_hq_ros.train.finetune_config import ValidationConfig

log = logging.getLogger(__name__)


@dataclass
class ValidationScore:
    """Mean J, F and J&F over the scored expressions, in [0, 1]."""

    j: float
    f: float
    jf: float
    expressions: int


def load_validation_set(config: ValidationConfig) -> EvalSet | None:
    """Load the held-out split, or return None when validation is off."""
    if not config.every or not config.root:
        return None
    if config.kind in ("revos", "mevis", "bag"):
        return load_mask_dict_dataset(config.root, meta=config.meta,
                                      kind="mevis" if config.kind == "mevis" else "revos")
    if config.kind == "davis":
        return load_ref_davis(config.root, split=config.split)
    return load_dataset(config.root, kind=config.kind)


def _items(dataset: EvalSet, limit: int) -> list[tuple]:
    items = [(v, e) for v in dataset.videos for e in v.expressions if e.type_id != 2]
    return items[:limit]


def _eval_modes(model: nn.Module) -> dict[nn.Module, bool]:
    modes = {m: m.training for m in model.modules()}
    model.eval()
    return modes


def score_shard(model: VRSHQ, dataset: EvalSet, config: ValidationConfig, rank: int,
                num_ranks: int) -> list[tuple[float, float]]:
    """(J, F) of this rank's share of the held-out expressions."""
    modes = _eval_modes(model)  # restore the recipe's per-module modes afterwards
    predictor = OfflinePredictor(model)
    scores = []
    try:
        with torch.no_grad():
            for video, expression in _items(dataset, config.max_expressions)[rank::num_ranks]:
                count = min(len(video.frame_paths), config.max_frames)
                frames = [read_rgb(p) for p in video.frame_paths[:count]]
                gt = dataset.gt_masks(video, expression)[:count]
                pred = np.stack(predictor.predict(frames, expression.sentence))
                s = score_expression(video.name, expression.exp_id, expression.sentence,
                                     expression.type_id, pred, gt)
                scores.append((s.j, s.f))
    finally:
        for module, training in modes.items():
            module.train(training)
    return scores


def summarise(scores: list[tuple[float, float]]) -> ValidationScore:
    """Mean over expressions."""
    if not scores:
        return ValidationScore(float("nan"), float("nan"), float("nan"), 0)
    j, f = (float(np.mean(v)) for v in zip(*scores, strict=True))
    return ValidationScore(j, f, (j + f) / 2, len(scores))
