"""Every run config the repository ships parses, and says what its docs say it does."""

from pathlib import Path

import pytest

from vrs_hq_ros.train.run_config import RunConfig

CONFIG = Path(__file__).parents[2] / "config"
EXPERIMENTS = sorted((CONFIG / "experiments").glob("*.yaml"))


@pytest.mark.parametrize("name", ["train_tiny.yaml", "experiments/conv_partial_looks.yaml"])
def test_the_full_recipes_parse_with_their_step_counts(name):
    config = RunConfig.from_yaml(CONFIG / name)
    assert config.total_steps == sum(stage.steps for stage in config.stages) > 10_000


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_every_experiment_config_parses(path):
    config = RunConfig.from_yaml(path)
    assert config.stages and config.total_steps > 0


def test_the_attend_configs_turn_the_attention_term_and_frame_times_on():
    names = {p.name for p in EXPERIMENTS}
    assert {"tower_attend.yaml", "tower_attend_fresh.yaml"} <= names
    for name in ("tower_attend.yaml", "tower_attend_fresh.yaml"):
        config = RunConfig.from_yaml(CONFIG / "experiments" / name)
        assert config.model.vision_frame_times and config.stages[-1].attend_weight > 0
    fresh = RunConfig.from_yaml(CONFIG / "experiments" / "tower_attend_fresh.yaml")
    words = [s for s in fresh.stages if s.name == "words"]
    assert all(s.attend_weight > 0 for s in words)  # the term from the first words step
