"""Benchmark summaries: ReVOS (rounding, subsets, type 2 excluded), MeViS mean, DAVIS statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vrs_hq_ros.eval.aggregation import (
    ExpressionScore,
    aggregate_davis,
    aggregate_mean,
    aggregate_revos,
    db_statistics,
    score_expression,
)


def expr(j: float, f: float, type_id: int, name: str = "v") -> ExpressionScore:
    return ExpressionScore(video=name, exp_id=str(type_id), sentence="", type_id=type_id, j=j,
                           f=f, a=1.0, j_per_frame=np.array([j]), f_per_frame=np.array([f]))


def test_revos_averages_subsets_separately_and_excludes_type_2():
    scores = [expr(0.5, 0.7, 0), expr(0.3, 0.5, 0),  # referring: J 40, F 60, J&F 50
              expr(0.9, 0.9, 1),                      # reasoning: J 90, F 90, J&F 90
              expr(0.0, 0.0, 2)]                      # no-target: left out

    summary = aggregate_revos(scores)

    assert (summary.referring.j, summary.referring.f, summary.referring.jf) == (40.0, 60.0, 50.0)
    assert (summary.reasoning.j, summary.reasoning.jf) == (90.0, 90.0)
    assert summary.overall.j == pytest.approx(65.0)   # (40 + 90) / 2, not the 3-expression mean
    assert summary.overall.jf == pytest.approx(70.0)
    assert (summary.referring.count, summary.reasoning.count, summary.overall.count) == (2, 1, 3)


def test_revos_rounds_each_expression_before_averaging():
    # 0.123449 -> 12.34 and 0.123451 -> 12.35 each; unrounded they would average to 12.345.
    scores = [expr(0.123449, 0.5, 0), expr(0.123451, 0.5, 0), expr(0.5, 0.5, 1)]

    summary = aggregate_revos(scores)

    assert summary.referring.j == pytest.approx((12.34 + 12.35) / 2)


def test_revos_overall_falls_back_to_the_only_subset():
    summary = aggregate_revos([expr(0.5, 0.7, 0)])

    assert math.isnan(summary.reasoning.j)
    assert summary.overall.jf == pytest.approx(60.0)


def test_mean_aggregation_is_unrounded_mean_over_expressions():
    summary = aggregate_mean([expr(0.123449, 0.2, 0), expr(0.123451, 0.4, 1)])

    assert summary.j == pytest.approx(12.345)
    assert summary.f == pytest.approx(30.0)
    assert summary.jf == pytest.approx((12.345 + 30.0) / 2)


def test_db_statistics_mean_recall_decay():
    values = np.array([1.0, 1.0, 0.8, 0.6, 0.4, 0.2, 0.0, 0.0])
    # Four bins over 8 frames with shared edges: round(linspace(1, 8, 5)) - 1 = [0, 2, 3, 5, 7]
    # (4.5 rounds to even) -> first bin [0:3] mean 2.8/3, last bin [5:8] mean 0.2/3.
    mean, recall, decay = db_statistics(values)

    assert mean == pytest.approx(0.5)
    assert recall == pytest.approx(4 / 8)
    assert decay == pytest.approx(2.8 / 3 - 0.2 / 3)


def test_davis_statistics_average_objects():
    a = ExpressionScore("v", "0", "", 0, 1.0, 0.5, 1.0, np.ones(4), np.full(4, 0.5))
    b = ExpressionScore("v", "1", "", 0, 0.0, 0.5, 1.0, np.zeros(4), np.full(4, 0.5))

    stats = aggregate_davis([a, b])

    assert stats.j_mean == pytest.approx(0.5)
    assert stats.f_mean == pytest.approx(0.5)
    assert stats.jf_mean == pytest.approx(0.5)
    assert stats.j_recall == pytest.approx(0.5)
    assert stats.f_recall == pytest.approx(0.0)  # 0.5 is not > 0.5


def test_score_expression_means_over_frames():
    gt = np.zeros((2, 16, 16), bool)
    gt[:, 4:8, 4:8] = True
    pred = gt.copy()
    pred[1] = False  # second frame missed entirely

    score = score_expression("v", "e", "s", 1, pred, gt)

    assert score.j == pytest.approx(0.5)
    assert score.f == pytest.approx(0.5)
    assert score.jf == pytest.approx(0.5)
    assert score.j_per_frame.tolist() == [1.0, 0.0]


def test_revos_r_is_rounded_per_expression_and_averaged_per_subset():
    def with_r(r: float, type_id: int) -> ExpressionScore:
        score = expr(1.0, 1.0, type_id)
        score.r_per_frame = np.array([r])
        return score

    summary = aggregate_revos([with_r(0.123449, 0), with_r(0.5, 0), with_r(0.25, 1),
                               with_r(0.0, 2)])

    assert summary.referring.r == pytest.approx((12.34 + 50.0) / 2)
    assert summary.reasoning.r == 25.0
    assert summary.overall.r == pytest.approx(((12.34 + 50.0) / 2 + 25.0) / 2)


def test_r_is_nan_without_foreground_masks():
    assert math.isnan(aggregate_revos([expr(0.5, 0.5, 0)]).referring.r)
