import json
from pathlib import Path

import pytest

from vrs_hq_ros.cli.main import main
from vrs_hq_ros.model.vrshq import VRSHQ
from vrs_hq_ros.train.trainer import TrainConfig, build_untrained, held_out_seeds, keyframe_jaccard

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "vrs_hq_tiny"


def test_the_shipped_model_beats_its_untrained_start_on_held_out_clips():
    if not (SHIPPED / "vrshq_config.json").is_file():
        pytest.fail(f"the shipped model is missing: {SHIPPED}")
    trained = VRSHQ.from_pretrained(SHIPPED)
    seeds = held_out_seeds(16)

    j_trained = keyframe_jaccard(trained, seeds)
    j_untrained = keyframe_jaccard(build_untrained(TrainConfig()), seeds)

    assert j_trained > j_untrained + 0.1, (j_trained, j_untrained)


def test_vrs_hq_train_runs_end_to_end_and_saves_a_loadable_model(tmp_path, capsys):
    status = main(["train", "--out", str(tmp_path / "m"), "--steps", "2", "--eval-clips", "1"])

    assert status == 0
    scores = json.loads((tmp_path / "m/training.json").read_text())
    assert scores["train_config"]["steps"] == 2
    assert VRSHQ.from_pretrained(tmp_path / "m").image_size == TrainConfig().model_image_size
    assert "step 2/2" in capsys.readouterr().out
