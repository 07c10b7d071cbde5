"""Ref-DAVIS17 in ReferFormer's layouts (raw download and converted), void, both protocols."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from eval_layouts import (  # noqa: E402
    DAVIS_OBJ1,
    davis_labels,
    write_ref_davis_converted,
    write_ref_davis_raw,
)

from vrs_hq_ros.cli.main import main  # noqa: E402
from vrs_hq_ros.eval.aggregation import score_expression  # noqa: E402
from vrs_hq_ros.eval.datasets import detect_kind, load_dataset  # noqa: E402
from vrs_hq_ros.eval.errors import DatasetFormatError  # noqa: E402


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    return write_ref_davis_raw(tmp_path / "ref-davis")


@pytest.fixture
def converted(tmp_path: Path) -> Path:
    return write_ref_davis_converted(tmp_path / "converted" / "ref-davis")


def _summary(evalset) -> list[tuple]:
    video = evalset.videos[0]
    return [(video.name, e.exp_id, e.sentence, e.obj_ids, e.annotator) for e in video.expressions]


def test_raw_download_needs_a_split_and_lists_the_image_sets(raw):
    assert detect_kind(raw) == "davis"
    with pytest.raises(DatasetFormatError, match=r"\['train', 'val'\].*--split"):
        load_dataset(raw)


def test_raw_and_converted_layouts_read_the_same_expressions(raw, converted):
    from_raw = load_dataset(raw, split="valid")
    from_converted = load_dataset(converted, split="valid")

    assert detect_kind(converted) == "davis"
    assert [v.name for v in from_raw.videos] == ["motorbike"]  # "motor-bike" in the text files
    assert _summary(from_raw) == _summary(from_converted)
    exps = {e.exp_id: e for e in from_raw.videos[0].expressions}
    assert [exps[str(i)].annotator for i in range(8)] == [0, 1, 2, 3] * 2
    assert exps["2"].sentence == "le pilote é"  # annotator 2's Latin-1 file
    assert (exps["0"].obj_ids, exps["4"].obj_ids) == ((1,), (2,))
    assert load_dataset(raw, split="train").videos[0].name == "bear"


def test_void_label_255_is_excluded_not_background(raw):
    video = next(load_dataset(raw, split="val").labelled_videos())

    assert video.void_masks[:, 0:2, :].all() and video.void_masks.sum() == 3 * 2 * 32
    np.testing.assert_array_equal(video.gt_masks["0"][0], DAVIS_OBJ1)
    np.testing.assert_array_equal(video.gt_labels, davis_labels("motorbike"))
    over_void = video.gt_masks["0"].copy()
    over_void[:, 0:2, :] = True
    score = score_expression("motorbike", "0", "", 0, over_void, video.gt_masks["0"],
                             void=video.void_masks)
    assert score.j == 1.0 and score.f == 1.0


def test_both_protocols_are_reported_and_named(raw, tmp_path):
    out = tmp_path / "out"

    assert main(["eval", str(raw), "--split", "valid", "--predictor", "oracle",
                 "--oracle-shift", "0", "3", "-o", str(out), "--no-progress",
                 "--no-timelines"]) == 0

    summary = json.loads((out / "report.json").read_text())["summary"]
    palette = summary["davis_palette"]
    assert sorted(palette) == ["annotator_0", "annotator_1", "annotator_2", "annotator_3", "mean"]
    # davis2017-evaluation (official repo) unsupervised, run on the palettes this wrote.
    for stats in palette.values():
        assert stats["j_mean"] == 0.6153846153846153
        assert stats["f_mean"] == 0.6018518518518519
        assert stats["jf_mean"] == 0.6086182336182335
    assert sorted(p.name for p in (out / "palettes").iterdir()) == [f"anno_{a}" for a in range(4)]
    assert summary["mean"]["count"] == 8  # the per-expression protocol, every expression
    text = (out / "report.md").read_text()
    assert "annotator-palette protocol" in text and "per-expression protocol" in text


def test_perfect_oracle_scores_100_under_both_protocols(converted, tmp_path):
    out = tmp_path / "out"

    assert main(["eval", str(converted), "--split", "valid", "--predictor", "oracle", "-o",
                 str(out), "--no-progress", "--no-timelines"]) == 0

    summary = json.loads((out / "report.json").read_text())["summary"]
    assert summary["mean"]["jf"] == 100.0
    assert summary["davis_palette"]["mean"]["jf_mean"] == 1.0
