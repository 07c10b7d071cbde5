"""The synthetic reasoning benchmark: seeded splits, written like ReVOS, scored like ReVOS.

Splits are disjoint seed ranges (train from 0, val from 1,000,000, test from 2,000,000). A
split is a list of ``LabelledVideo`` (one per scene, every expression of the scene with its
exact ground truth; type 0 referring, 1 reasoning), which ``write_split`` stores in the ReVOS
layout (and optionally as rosbag2 files), so ``vrs-hq eval`` and ``vrs-hq replay`` score it
like a benchmark; ``score_split`` scores a predictor in memory with the same aggregation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vrs_hq_ros.eval.ablations import score_videos
from vrs_hq_ros.eval.aggregation import ExpressionScore, aggregate_revos
from vrs_hq_ros.eval.datasets import Expression, LabelledVideo
from vrs_hq_ros.train.run_config import TEST_SEEDS, TRAIN_SEEDS, VAL_SEEDS, DataConfig
from vrs_hq_ros.train.synthetic_expressions import scene_expressions
from vrs_hq_ros.train.synthetic_scenes import make_scene

SPLIT_SEEDS = {"train": TRAIN_SEEDS, "val": VAL_SEEDS, "test": TEST_SEEDS}


class SplitError(ValueError):
    """An unknown split name or a bad count."""


@dataclass(frozen=True)
class SplitSummary:
    """ReVOS-style J&F (percent) of a split and its per-expression scores."""

    referring_jf: float
    reasoning_jf: float
    overall_jf: float
    overall_j: float
    overall_f: float
    scores: tuple[ExpressionScore, ...]

    def as_dict(self) -> dict:
        """Numbers only (JSON)."""
        return {"referring_jf": self.referring_jf, "reasoning_jf": self.reasoning_jf,
                "overall_jf": self.overall_jf, "overall_j": self.overall_j,
                "overall_f": self.overall_f, "expressions": len(self.scores)}


def split_videos(split: str, count: int, data: DataConfig = DataConfig(),
                 num_frames: int = 24) -> list[LabelledVideo]:
    """``count`` scenes of ``split`` as labelled videos (``num_frames`` frames each)."""
    if split not in SPLIT_SEEDS or count < 1:
        raise SplitError(f"split must be one of {sorted(SPLIT_SEEDS)} and count >= 1, "
                         f"got {split!r}, {count}")
    videos = []
    for k in range(count):
        seed = SPLIT_SEEDS[split] + k
        scene = make_scene(seed, num_frames=num_frames, size=data.size_px)
        expressions = scene_expressions(scene, np.random.default_rng(seed))
        exps = [Expression(str(i), e.sentence, e.type_id, (e.target + 1,))
                for i, e in enumerate(expressions)]
        videos.append(LabelledVideo(
            name=f"{split}_{seed:07d}", frame_names=[f"{t:05d}" for t in range(num_frames)],
            frames=list(scene.frames), expressions=exps,
            gt_masks={str(i): scene.mask(e.target) for i, e in enumerate(expressions)}))
    return videos


def write_split(out: str | Path, split: str, count: int, bags: bool = False,
                num_frames: int = 24) -> Path:
    """Write ``split`` in the ReVOS layout under ``out`` (and one bag per video in bags/)."""
    from vrs_hq_ros.eval.dataset_writer import write_mask_dict_dataset

    out = Path(out)
    videos = split_videos(split, count, num_frames=num_frames)
    write_mask_dict_dataset(out, videos)
    if bags:
        from vrs_hq_ros.eval.bags import videos_to_bags

        videos_to_bags(videos, out / "bags")
    (out / "synthetic_split.json").write_text(json.dumps(
        {"split": split, "count": count, "first_seed": SPLIT_SEEDS[split],
         "num_frames": num_frames}))
    return out


def score_split(predict: Callable[[list[np.ndarray], str], list[np.ndarray]],
                videos: list[LabelledVideo]) -> SplitSummary:
    """Run ``predict(frames, sentence) -> masks`` on every expression; ReVOS aggregation."""
    scores = score_videos(predict, videos)
    summary = aggregate_revos(scores)
    return SplitSummary(summary.referring.jf, summary.reasoning.jf, summary.overall.jf,
                        summary.overall.j, summary.overall.f, tuple(scores))


def sentence_sensitivity(predict: Callable[[list[np.ndarray], str], list[np.ndarray]],
                         videos: list[LabelledVideo], margin: float = 0.2) -> float:
    """Share of expression pairs (different targets, same video) the predictor tells apart.

    A pair counts when each prediction overlaps its own target (mean J over frames) by at
    least ``margin`` more than the other expression's target. Returns a fraction in [0, 1]
    (NaN with no pair).
    """
    hits, pairs = 0, 0
    for video in videos:
        exps = video.expressions
        preds = {e.exp_id: np.stack([np.asarray(m, bool) for m in predict(video.frames,
                                                                            e.sentence)])
                 for e in exps}
        for i, a in enumerate(exps):
            for b in exps[i + 1:]:
                if a.obj_ids == b.obj_ids:
                    continue
                pairs += 1
                gt_a, gt_b = video.gt_masks[a.exp_id], video.gt_masks[b.exp_id]
                own_a, cross_a = _mean_j(preds[a.exp_id], gt_a), _mean_j(preds[a.exp_id], gt_b)
                own_b, cross_b = _mean_j(preds[b.exp_id], gt_b), _mean_j(preds[b.exp_id], gt_a)
                hits += own_a >= cross_a + margin and own_b >= cross_b + margin
    return hits / pairs if pairs else float("nan")


def _mean_j(pred: np.ndarray, gt: np.ndarray) -> float:
    from vrs_hq_ros.eval.metrics import jaccard

    return float(jaccard(pred, gt).mean())
