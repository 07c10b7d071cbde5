"""Ref-YouTube-VOS as downloaded: train with palettes; valid without test videos or ground truth."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from eval_layouts import YTVOS_MASK, write_ref_youtube_vos  # noqa: E402

from vrs_hq_ros.eval.datasets import detect_kind, load_dataset  # noqa: E402
from vrs_hq_ros.eval.errors import DatasetFormatError  # noqa: E402


@pytest.fixture
def ytvos(tmp_path: Path) -> Path:
    return write_ref_youtube_vos(tmp_path / "ref-youtube-vos")


def test_detected_and_split_required(ytvos):
    assert detect_kind(ytvos) == "ref_youtube_vos"
    with pytest.raises(DatasetFormatError, match=r"\['test', 'train', 'valid'\]"):
        load_dataset(ytvos)


def test_train_reads_palette_ground_truth(ytvos):
    video = next(load_dataset(ytvos, split="train").labelled_videos())

    np.testing.assert_array_equal(video.gt_masks["0"][1], YTVOS_MASK)


def test_valid_leaves_out_the_test_videos_and_has_no_ground_truth(ytvos):
    evalset = load_dataset(ytvos, split="valid")

    assert [v.name for v in evalset.videos] == ["validvid"]
    assert not evalset.has_ground_truth
    with pytest.raises(DatasetFormatError, match="no ground truth"):
        evalset.gt_masks(evalset.videos[0], evalset.videos[0].expressions[0])


def test_training_reader_still_works_through_train_datasets(ytvos):
    from vrs_hq_ros.train.datasets import FrameRange, load_video_source

    source = load_video_source("ytvos", "ref_youtube_vos", ytvos, FrameRange(3, 3))

    assert len(source) == 1
