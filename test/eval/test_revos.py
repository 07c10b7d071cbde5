"""ReVOS as downloaded: the split option, R from the foreground file, the oracle by expression."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from eval_layouts import REVOS_BALL, REVOS_CAT, T, write_revos  # noqa: E402

from vrs_hq_ros.cli.main import main  # noqa: E402
from vrs_hq_ros.eval.datasets import load_dataset  # noqa: E402
from vrs_hq_ros.eval.errors import DatasetFormatError  # noqa: E402


@pytest.fixture
def revos(tmp_path: Path) -> Path:
    return write_revos(tmp_path / "ReVOS")


def test_both_split_files_without_split_is_a_clear_error(revos):
    with pytest.raises(DatasetFormatError, match=r"\['train', 'valid'\].*--split train\|valid"):
        load_dataset(revos)


def test_each_split_reads_its_own_meta_file(revos):
    valid = load_dataset(revos, split="valid")
    train = load_dataset(revos, split="train")

    assert (valid.kind, valid.split, [v.name for v in valid.videos]) == ("revos", "valid",
                                                                          ["valid_vid"])
    assert [v.name for v in train.videos] == ["train_vid"]
    with pytest.raises(DatasetFormatError, match="no split 'test'"):
        load_dataset(revos, split="test")


def test_ground_truth_foreground_and_annotation_counts(revos):
    video = next(load_dataset(revos, split="valid").labelled_videos())

    both = video.gt_masks["1"]
    np.testing.assert_array_equal(both[1], REVOS_CAT)  # the ball is absent on frame 1
    np.testing.assert_array_equal(both[0], REVOS_CAT | REVOS_BALL)
    assert video.gt_counts["1"][0].max() == 2  # the 2 x 2 px where cat and ball overlap
    np.testing.assert_array_equal(video.foreground[0], REVOS_CAT | REVOS_BALL)


def test_oracle_scores_j_f_100_and_r_as_the_official_script(revos, tmp_path):
    out = tmp_path / "out"

    assert main(["eval", str(revos), "--split", "valid", "--predictor", "oracle", "-o", str(out),
                 "--no-progress"]) == 0

    report = json.loads((out / "report.json").read_text())
    rows = {r["exp_id"]: r for r in report["expressions"]}
    # Expressions "0" and "2" share a sentence but not an object: keyed by expression, both 100.
    assert all(r["J"] == 100.0 and r["F"] == 100.0 for r in rows.values())
    # Official R of a perfect prediction of cat + ball: the 4 px covered twice count as n - 1 = 1
    # each against a foreground of 64 + 36 - 4 = 96 px on frames 0 and 2 (frame 1: no overlap).
    r_1 = (2 * (1 - 4 / (96 + 1e-6)) + 1) / T
    assert rows["1"]["R"] == round(100 * r_1, 2) == 97.22
    assert rows["0"]["R"] == rows["2"]["R"] == 100.0
    revos_summary = report["summary"]["revos"]
    assert revos_summary["referring"]["r"] == 100.0
    assert revos_summary["reasoning"]["r"] == pytest.approx((97.22 + 100.0) / 2)
    assert revos_summary["overall"]["r"] == pytest.approx((100.0 + (97.22 + 100.0) / 2) / 2)
    assert ",R," in (out / "expressions.csv").read_text().splitlines()[0]
    assert (out / "plots/jf_per_expression.png").is_file()


def test_without_the_foreground_file_r_is_left_empty(revos, tmp_path):
    (revos / "mask_dict_foreground.json").unlink()
    out = tmp_path / "out"

    assert main(["eval", str(revos), "--split", "valid", "--predictor", "oracle", "-o", str(out),
                 "--no-progress", "--no-timelines"]) == 0

    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["revos"]["overall"]["r"] is None
    assert report["summary"]["revos"]["overall"]["jf"] == 100.0
