"""Fine-tuning in one process: exact resume, checkpoints, validation, export, CLI errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from finetune_fixtures import (  # noqa: E402
    tiny_config,
    trainable_state,
    write_all_sets,
    write_reasonseg_set,
)

from vrs_hq_ros.cli.main import main as cli_main  # noqa: E402
from vrs_hq_ros.model.config import VRSHQConfig  # noqa: E402
from vrs_hq_ros.model.vrshq import VRSHQ  # noqa: E402
from vrs_hq_ros.train.finetune import (  # noqa: E402
    CHECKPOINT_DIR,
    latest_checkpoint,
    run_finetune,
)
from vrs_hq_ros.train.finetune_config import FinetuneConfigError, config_from_dict  # noqa: E402
from vrs_hq_ros.train.synthetic import make_clip  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    """Each run builds its own Accelerator; accelerate keeps process-wide singletons."""
    from accelerate.state import AcceleratorState, GradientState

    yield
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("finetune")
    write_all_sets(tmp)
    write_reasonseg_set(tmp / "reason")
    return tmp


def _run(config: dict, **kwargs):
    states, losses = {}, {}

    def on_step(step, metrics, module):
        losses[step] = metrics["loss"]
        states[step] = trainable_state(module)

    result = run_finetune(config_from_dict(config), on_step=on_step, cpu=True, **kwargs)
    return result, losses, states


def test_resumed_run_continues_exactly_like_an_uninterrupted_one(data_dir, tmp_path):
    # LoRA dropout on: the RNG state must come back with the checkpoint.
    common = {"model": {"lora_dropout": 0.05}, "grad_accumulation": 2, "max_steps": 3,
              "save_every": 1, "keep_last": 2}
    _, straight, straight_states = _run(tiny_config(data_dir, output_dir=str(tmp_path / "a"),
                                                    **common))
    kept = sorted(p.name for p in (tmp_path / "a" / CHECKPOINT_DIR).iterdir())
    assert kept == ["checkpoint_1", "checkpoint_2"]  # keep_last 2 of 3

    config = tiny_config(data_dir, output_dir=str(tmp_path / "b"), **common)
    first, _, _ = _run(config, stop_after=1)
    assert first.last_step == 1 and latest_checkpoint(tmp_path / "b") is not None
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    second, resumed, resumed_states = _run(config)
    assert second.start_step == 1 and sorted(resumed) == [2, 3]
    for step in (2, 3):
        # float reductions may differ in the last bits under load; a resume bug is far larger
        assert resumed[step] == pytest.approx(straight[step], rel=1e-4)
    for name, value in straight_states[3].items():
        np.testing.assert_allclose(resumed_states[3][name], value, rtol=1e-4, atol=1e-6)


def test_validated_run_exports_a_merged_model_that_reasons_over_a_window(data_dir, tmp_path):
    # bf16 autocast, and every other kind of source: a converted bag, ReasonSeg, synthetic.
    sets = [{"kind": "bag", "root": str(data_dir / "revos"), "rate": 2},
            {"kind": "reasonseg", "root": str(data_dir / "reason")},
            {"kind": "synthetic", "num_clips": 4, "size": 64, "clip_frames": 6}]
    config = tiny_config(data_dir, output_dir=str(tmp_path / "run"), max_steps=2,
                         export_on_finish=True, optim={"lr": 5e-2, "warmup_steps": 0},
                         tracker="tensorboard", mixed_precision="bf16", data={"sets": sets},
                         validation={"kind": "revos", "root": str(data_dir / "revos"),
                                     "every": 2, "max_expressions": 2, "max_frames": 4})
    result, _, _ = _run(config)
    assert 0.0 <= result.history[-1]["val_jf"] <= 1.0  # held-out J&F with eval/ metrics
    assert list((tmp_path / "run").rglob("events.out.tfevents.*"))
    exported = VRSHQ.from_pretrained(result.export_dir)
    clip = make_clip(11, num_frames=6, size=64)
    reasoning = exported.reason(list(clip.frames), clip.sentence)
    assert reasoning.keyframe_mask_logits.shape == (64, 64)

    # The CLI export of the last checkpoint gives the same model, LoRA folded into q/v.
    config_file = tmp_path / "run.yaml"
    config_file.write_text(yaml.safe_dump(config))
    assert cli_main(["export", "--config", str(config_file), "--out", str(tmp_path / "cli")]) == 0
    from_cli = VRSHQ.from_pretrained(tmp_path / "cli")
    a, b = exported.state_dict(), from_cli.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    torch.manual_seed(0)  # the seeded start of the run (model.seed 0)
    start = VRSHQ(VRSHQConfig.tiny(image_size=64)).state_dict()
    q_proj = "backbone.llava.model.language_model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(start[q_proj], a[q_proj])


def test_a_malformed_set_stops_the_cli_with_the_file_name(data_dir, tmp_path, capsys):
    bad = tmp_path / "revos"
    bad.mkdir()
    (bad / "meta_expressions.json").write_text('{"videos": {}}')
    config = tiny_config(data_dir, output_dir=str(tmp_path / "run"))
    config["data"]["sets"][0]["root"] = str(bad)
    config_file = tmp_path / "run.yaml"
    config_file.write_text(yaml.safe_dump(config))
    assert cli_main(["finetune", "--config", str(config_file), "--cpu"]) == 2
    assert str(bad / "mask_dict.json") in capsys.readouterr().err


def test_unknown_config_keys_are_named():
    with pytest.raises(FinetuneConfigError, match=r"optim: unknown keys \['learning_rate'\]"):
        config_from_dict({"optim": {"learning_rate": 1.0}})
