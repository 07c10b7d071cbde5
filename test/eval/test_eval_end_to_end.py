"""Dataset -> rosbag2 -> `vrs-hq eval`, with oracle predictors of known score and the tiny model."""

import json

import cv2
import numpy as np
import pytest

from vrs_hq_ros.cli.main import main
from vrs_hq_ros.eval.dataset_writer import write_mask_dict_dataset
from vrs_hq_ros.eval.datasets import Expression, LabelledVideo, load_dataset
from vrs_hq_ros.eval.metrics import f_measure
from vrs_hq_ros.eval.predictors import shift_mask
from vrs_hq_ros.train.synthetic import make_clip

FRAMES = 4


def _videos():
    videos = []
    for seed in range(2):
        clip = make_clip(seed, num_frames=FRAMES, size=64)
        videos.append(LabelledVideo(
            name=f"clip{seed}", frame_names=[f"{i:05d}" for i in range(FRAMES)],
            frames=list(clip.frames), expressions=[Expression("0", clip.sentence, type_id=seed)],
            gt_masks={"0": clip.masks}))
    return videos


@pytest.fixture
def dataset(tmp_path):
    return write_mask_dict_dataset(tmp_path / "dataset", _videos())


def _report(out):
    return json.loads((out / "report.json").read_text())


def test_a_dataset_written_in_the_official_layout_reads_back(dataset):
    read = load_dataset(dataset)

    videos = {v.name: v for v in read.labelled_videos()}
    assert sorted(videos) == ["clip0", "clip1"]
    for original in _videos():
        np.testing.assert_array_equal(videos[original.name].gt_masks["0"], original.gt_masks["0"])
        assert videos[original.name].expressions[0].sentence == original.expressions[0].sentence


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_dataset_to_bag_to_eval_scores_a_perfect_predictor_100(dataset, tmp_path, storage):
    bags = tmp_path / "bags"
    assert main(["convert", str(dataset), str(bags), "--storage", storage]) == 0

    assert main(["eval", str(bags), "--predictor", "oracle", "-o", str(tmp_path / "out"),
                 "--no-progress", "--no-timelines"]) == 0

    report = _report(tmp_path / "out")
    assert report["frames"] == 2 * FRAMES
    assert report["summary"]["mean"]["jf"] == 100.0


def test_a_shifted_oracle_scores_the_independently_computed_value(dataset, tmp_path):
    bags = tmp_path / "bags"
    assert main(["convert", str(dataset), str(bags)]) == 0

    assert main(["eval", str(bags), "--predictor", "oracle", "--oracle-shift", "0", "3",
                 "-o", str(tmp_path / "out"), "--no-progress", "--no-timelines"]) == 0

    rows = {r["video"]: r for r in _report(tmp_path / "out")["expressions"]}
    for video in _videos():
        gt = video.gt_masks["0"]
        pred = np.stack([shift_mask(m, 0, 3) for m in gt])
        iou = [(p & g).sum() / (p | g).sum() for p, g in zip(pred, gt, strict=True)]
        assert rows[video.name]["J"] == pytest.approx(100 * np.mean(iou), abs=0.01)
        assert rows[video.name]["F"] == pytest.approx(100 * f_measure(pred, gt).mean(), abs=0.01)
        assert rows[video.name]["J"] < 100.0


@pytest.mark.parametrize("predictor", ["offline", "streaming"])
def test_vrs_hq_eval_with_the_tiny_model_writes_benchmark_pngs_and_reports(dataset, tmp_path,
                                                                           predictor):
    from vrs_hq_ros.model.config import VRSHQConfig
    from vrs_hq_ros.model.vrshq import VRSHQ

    VRSHQ(VRSHQConfig.tiny(image_size=64)).save_pretrained(tmp_path / "model")
    out = tmp_path / "out"

    assert main(["eval", str(dataset), "--predictor", predictor, "--model",
                 str(tmp_path / "model"), "-o", str(out), "--no-progress",
                 "--overlay-videos", "clip0"]) == 0

    for video in ("clip0", "clip1"):
        pngs = sorted((out / "predictions" / video / "0").glob("*.png"))
        assert [p.stem for p in pngs] == [f"{i:05d}" for i in range(FRAMES)]
        values = np.unique(np.concatenate([cv2.imread(str(p), 0).ravel() for p in pngs]))
        assert set(values.tolist()) <= {0, 255}
    report = _report(out)
    assert len(report["expressions"]) == 2
    assert all(0.0 <= r["JF"] <= 100.0 for r in report["expressions"])
    assert (out / "expressions.csv").is_file() and (out / "report.md").is_file()
    assert list(out.rglob("*.mp4")) and list((out / "plots").glob("*.png"))


def test_a_bag_converts_back_to_the_same_evaluation_set(dataset, tmp_path):
    assert main(["convert", str(dataset), str(tmp_path / "bags")]) == 0

    assert main(["convert", str(tmp_path / "bags"), str(tmp_path / "back"), "--to", "dataset"]) == 0

    back = {v.name: v for v in load_dataset(tmp_path / "back").labelled_videos()}
    for video in _videos():
        np.testing.assert_array_equal(back[video.name].gt_masks["0"], video.gt_masks["0"])
        assert back[video.name].expressions[0].sentence == video.expressions[0].sentence
