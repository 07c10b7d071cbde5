import numpy as np
import pytest

from vrs_hq_ros.eval.ablations import markdown_table, run_ablations
from vrs_hq_ros.eval.datasets import load_dataset
from vrs_hq_ros.model.config import VRSHQConfig
from vrs_hq_ros.model.vrshq import VRSHQ
from vrs_hq_ros.train.run_config import DataConfig
from vrs_hq_ros.train.synthetic_benchmark import (
    SplitError,
    score_split,
    split_videos,
    write_split,
)


def test_splits_are_disjoint_and_reproducible():
    test = split_videos("test", 2, DataConfig(size_px=64), num_frames=4)
    again = split_videos("test", 2, DataConfig(size_px=64), num_frames=4)
    val = split_videos("val", 2, DataConfig(size_px=64), num_frames=4)
    assert [v.name for v in test] == [v.name for v in again]
    assert np.array_equal(test[0].frames[0], again[0].frames[0])
    assert not {v.name for v in test} & {v.name for v in val}
    with pytest.raises(SplitError):
        split_videos("holdout", 1)


def test_a_written_split_reads_back_as_revos_with_both_expression_types(tmp_path):
    write_split(tmp_path, "test", 3, num_frames=5, bags=True)
    evalset = load_dataset(tmp_path, "revos")
    videos = list(evalset.labelled_videos())
    assert len(videos) == 3 and all(len(v.frames) == 5 for v in videos)
    assert {e.type_id for v in videos for e in v.expressions} == {0, 1}
    memory = split_videos("test", 3, num_frames=5)
    for disk, mem in zip(videos, memory, strict=True):
        for exp in mem.expressions:
            assert np.array_equal(disk.gt_masks[exp.exp_id], mem.gt_masks[exp.exp_id])
    assert len(list((tmp_path / "bags").iterdir())) == 3


def test_scoring_ground_truth_gives_full_marks_and_empty_masks_less():
    videos = split_videos("val", 2, DataConfig(size_px=64), num_frames=4)
    truth = {(id(v.frames[0]), e.sentence): v.gt_masks[e.exp_id]
             for v in videos for e in v.expressions}
    perfect = score_split(lambda f, s: list(truth[(id(f[0]), s)]), videos)
    empty = score_split(lambda f, s: [np.zeros(f[0].shape[:2], bool)] * len(f), videos)
    assert perfect.overall_jf == pytest.approx(100.0)
    assert empty.overall_jf < 50.0


def test_the_ablation_table_has_a_row_per_variant():
    model = VRSHQ(VRSHQConfig.tiny(image_size=64)).eval()
    videos = split_videos("test", 1, DataConfig(size_px=64), num_frames=6)
    rows = run_ablations(model, videos)
    assert [r.name for r in rows][0] == "full model (offline)" and len(rows) == 7
    assert markdown_table(rows).count("\n") == 9


def test_sentence_sensitivity_is_full_for_the_truth_and_zero_for_one_mask_for_all():
    from vrs_hq_ros.train.synthetic_benchmark import sentence_sensitivity

    videos = split_videos("val", 3, DataConfig(size_px=64), num_frames=4)
    truth = {(id(v.frames[0]), e.sentence): v.gt_masks[e.exp_id]
             for v in videos for e in v.expressions}
    assert sentence_sensitivity(lambda f, s: list(truth[(id(f[0]), s)]), videos) == 1.0
    union = {id(v.frames[0]): np.any(list(v.gt_masks.values()), axis=0) for v in videos}
    assert sentence_sensitivity(lambda f, s: list(union[id(f[0])]), videos) == 0.0
