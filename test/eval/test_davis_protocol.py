"""Annotator palettes and davis2017 ``unsupervised`` scoring against the official tool's numbers."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from eval_layouts import davis_labels, davis_test_palettes  # noqa: E402

from vrs_hq_ros.eval.aggregation import db_statistics  # noqa: E402
from vrs_hq_ros.eval.davis_protocol import (  # noqa: E402
    PaletteComposer,
    PaletteProtocolError,
    best_assignment,
    palette_statistics,
    score_unsupervised,
)
from vrs_hq_ros.eval.records import Expression  # noqa: E402

# davis2017-evaluation (github davisvideochallenge, ac7c43f; skimage 0.26, scipy) DAVISEvaluation
# task="unsupervised" on the palettes of ``davis_test_palettes`` against ``davis_labels``:
# per matched object J-Mean, F-Mean, J-Decay, in the tool's order, and the J&F-Mean.
OFFICIAL = {
    "swapped": ([1.0, 0.6666666666666666], [1.0, 0.55], [0.0, 0.0], 0.8041666666666667),
    "one_object": ([1.0, 0.3333333333333333], [1.0, 0.3333333333333333], [0.0, -1.0],
                   0.6666666666666666),
    "extra": ([0.8181818181818182, 1.0], [1.0, 1.0], [0.0, 0.0], 0.9545454545454546),
}


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_unsupervised_scores_equal_the_official_tool(name):
    objects = score_unsupervised(davis_labels("motorbike"), davis_test_palettes()[name])

    j_means, f_means, j_decays, jf = OFFICIAL[name]
    assert [float(j.mean()) for j, _ in objects] == j_means
    assert [float(f.mean()) for _, f in objects] == f_means
    assert [db_statistics(j)[2] for j, _ in objects] == j_decays
    assert palette_statistics(objects).jf_mean == jf


def test_one_object_by_hand():
    # Object 1 painted exactly (the void band it also covers is left out): J = F = 1 each frame.
    # Object 2 gets the empty padding proposal: 0 on frames 0-1 where it exists, 1 on frame 2.
    objects = score_unsupervised(davis_labels("motorbike"), davis_test_palettes()["one_object"])

    assert [j.tolist() for j, _ in objects] == [[1.0, 1.0, 1.0], [0.0, 0.0, 1.0]]


def test_composer_paints_each_annotator_in_expression_order_earlier_wins():
    exps = [Expression(str(i), "", obj_ids=(i // 2 + 1,), annotator=i % 2) for i in range(4)]
    composer = PaletteComposer(exps, (1, 2, 3))
    a = np.array([[[1, 1, 0], [0, 0, 0]]], bool)
    b = np.array([[[0, 1, 1], [0, 0, 1]]], bool)

    composer.add(exps[0], a)  # annotator 0, label 1
    composer.add(exps[2], b)  # annotator 0, label 2: loses the shared pixel
    composer.add(exps[3], a)  # annotator 1, label 2

    assert composer.palettes[0].tolist() == [[[1, 1, 2], [0, 0, 2]]]
    assert composer.palettes[1].tolist() == [[[2, 2, 0], [0, 0, 0]]]


def test_assignment_maximises_the_sum_like_linear_sum_assignment():
    scores = np.array([[0.9, 0.8], [0.85, 0.1], [0.0, 0.0]])

    assert best_assignment(scores) == [(0, 1), (1, 0)]  # 0.8 + 0.85 beats 0.9 + 0.1


def test_more_than_twenty_proposals_is_refused():
    palette = np.zeros((1, 4, 8), np.uint8)
    palette[0, 0, 0] = 21

    with pytest.raises(PaletteProtocolError, match="20"):
        score_unsupervised(np.ones((1, 4, 8), np.uint8), palette)
