"""MeViS as downloaded: split choice, valid_u with ground truth, valid without."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from eval_layouts import MEVIS_MASK, write_mevis  # noqa: E402

from vrs_hq_ros.eval.datasets import detect_kind, load_dataset  # noqa: E402
from vrs_hq_ros.eval.errors import DatasetFormatError  # noqa: E402


@pytest.fixture
def mevis(tmp_path: Path) -> Path:
    return write_mevis(tmp_path / "MeViS")


def test_root_with_three_splits_needs_split(mevis):
    assert detect_kind(mevis) == "mevis"
    with pytest.raises(DatasetFormatError, match=r"\['train', 'valid', 'valid_u'\]"):
        load_dataset(mevis)


def test_valid_u_has_ground_truth(mevis):
    evalset = load_dataset(mevis, split="valid_u")

    video = next(evalset.labelled_videos())
    assert (evalset.kind, evalset.has_ground_truth) == ("mevis", True)
    np.testing.assert_array_equal(video.gt_masks["0"][2], MEVIS_MASK)


def test_valid_is_read_without_ground_truth_not_guessed_as_davis(mevis):
    for evalset in (load_dataset(mevis, split="valid"), load_dataset(mevis / "valid")):
        assert (evalset.kind, evalset.split, evalset.has_ground_truth) == ("mevis", "valid", False)
        video = next(evalset.labelled_videos())
        assert [e.exp_id for e in video.expressions] == ["0", "1"]
        assert video.gt_masks == {} and len(video.frames) == 3


def test_a_split_folder_with_mask_dict_reads_as_before(mevis):
    evalset = load_dataset(mevis / "train")

    assert (evalset.kind, evalset.has_ground_truth) == ("mevis", True)
