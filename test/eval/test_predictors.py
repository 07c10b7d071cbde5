"""The oracle answers by expression, so equal sentences in one video do not collide."""

from __future__ import annotations

import numpy as np
import pytest

from vrs_hq_ros.eval.predictors import GroundTruthPredictor, run_predictor
from vrs_hq_ros.eval.records import Expression, LabelledVideo


def _video() -> LabelledVideo:
    frames = [np.full((8, 8, 3), 9, np.uint8)] * 2
    left, right = np.zeros((2, 8, 8), bool), np.zeros((2, 8, 8), bool)
    left[:, :, :4] = True
    right[:, :, 4:] = True
    exps = [Expression("a", "the dog"), Expression("b", "the dog")]
    return LabelledVideo("v", ["0", "1"], frames, exps, {"a": left, "b": right})


def test_same_sentence_two_expressions_each_get_their_own_ground_truth():
    video = _video()
    oracle = GroundTruthPredictor([video])

    for exp in video.expressions:
        pred = run_predictor(oracle, video.frames, exp.sentence, [0, 1], video.name, exp.exp_id)
        np.testing.assert_array_equal(np.stack(pred.masks), video.gt_masks[exp.exp_id])


def test_without_identity_an_ambiguous_clip_is_refused():
    video = _video()

    with pytest.raises(KeyError, match="2 ground truths"):
        GroundTruthPredictor([video]).predict(video.frames, "the dog")
