import json
import math

import pytest

from vrs_hq_ros.train.run_config import RunConfig, RunConfigError
from vrs_hq_ros.train.trainer import latest_checkpoint, train


def _losses(run_dir):
    return [json.loads(line)["total"] for line in (run_dir / "train_log.jsonl").open()]


def test_a_resumed_run_continues_with_the_losses_of_an_uninterrupted_one(tmp_path,
                                                                         tiny_run_config):
    whole = train(tiny_run_config, tmp_path / "whole", log=lambda _: None)
    first = train(tiny_run_config, tmp_path / "split", log=lambda _: None, stop_after=3)
    # the sitting ends between two checkpoints (every 2 steps): its last step is kept too
    assert first.step == 3 and latest_checkpoint(tmp_path / "split").name == "step_3"
    second = train(tiny_run_config, tmp_path / "split", log=lambda _: None)

    assert whole.step == second.step == tiny_run_config.total_steps
    split_losses = _losses(tmp_path / "split")
    assert len(split_losses) == tiny_run_config.total_steps  # no step trained twice
    assert split_losses == pytest.approx(_losses(tmp_path / "whole"), abs=2e-4)


def test_every_stage_runs_and_logs_its_loss_terms(tmp_path, tiny_run_config):
    train(tiny_run_config, tmp_path, log=lambda _: None)
    rows = [json.loads(line) for line in (tmp_path / "train_log.jsonl").open()]
    assert [r["stage"] for r in rows] == (["segment"] * 2 + ["words"] * 2 + ["language"] * 2
                                          + ["joint"] * 2)
    assert all(r["ce"] == 0 for r in rows[:4]) and all(r["ce"] > 0 for r in rows[4:])
    assert all(r["mask"] == 0 for r in rows[2:4]) and all(r["mask"] > 0 for r in rows[4:])
    assert all(r["distill"] > 0 for r in rows[2:6]) and all(r["distill"] == 0 for r in rows[6:])
    assert all(r["contrast"] > 0 for r in rows[:6]) and all(r["contrast"] == 0 for r in rows[6:])
    assert len(list((tmp_path / "checkpoints").glob("step_*"))) == 2  # keep-last-N


def test_a_bad_run_config_names_the_problem():
    with pytest.raises(RunConfigError, match="stage name"):
        RunConfig.from_dict({"stages": [{"name": "dance", "steps": 1, "lr": 1e-3}]})
    with pytest.raises(RunConfigError, match="unexpected keyword"):
        RunConfig.from_dict({"stages": [{"name": "joint", "steps": 1, "lr": 1e-3}],
                             "model": {"layers": 3}})


def test_the_learning_rate_warms_up_then_decays_to_its_floor():
    stage = RunConfig.from_dict({"stages": [{"name": "segment", "steps": 10, "lr": 1e-3,
                                             "warmup_steps": 4, "final_lr_fraction": 0.1}]}
                                ).stages[0]
    rates = [stage.lr_at(i) for i in range(10)]

    assert rates[:4] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])
    assert all(a >= b for a, b in zip(rates[3:-1], rates[4:], strict=True))  # never rises again
    assert rates[-1] == pytest.approx(1e-4 + 0.9e-3 * 0.5 * (1 + math.cos(math.pi * 5 / 6)))
    assert stage.lr_at(100) == pytest.approx(1e-4)
    with pytest.raises(RunConfigError, match="final_lr_fraction"):
        RunConfig.from_dict({"stages": [{"name": "joint", "steps": 1, "lr": 1e-3,
                                         "final_lr_fraction": 0.0}]})


def test_the_from_scratch_llm_hears_the_sentence_at_initialisation(tiny_run_config):
    """With Hugging Face's 0.02 init a narrow LLaMA's [TAK] state ignores the sentence."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from vrs_hq_ros.train.trainer import build_model

    model, _ = build_model(tiny_run_config)
    frames = [np.full((32, 32, 3), 90, np.uint8)] * 2
    with torch.no_grad():
        taks = [model.embed_tokens(frames, s)[1] for s in ("the red circle", "the blue square")]
    assert float(F.cosine_similarity(taks[0], taks[1], dim=0)) < 0.99


def test_a_track_stage_resets_the_memory_path_once_and_keeps_image_features(tmp_path,
                                                                            tiny_run_config):
    import torch

    from vrs_hq_ros.train.trainer import build_model

    data = tiny_run_config.to_dict()
    data["stages"] = [{"name": "segment", "steps": 1, "lr": 1e-3},
                      {"name": "track", "steps": 2, "lr": 1e-3, "reset_memory": True}]
    config = RunConfig.from_dict(data)
    first = train(config, tmp_path, log=lambda _: None, stop_after=1)  # the segment step
    before = {k: v.clone() for k, v in first.model.sam2.state_dict().items()}
    messages: list[str] = []
    run = train(config, tmp_path, log=messages.append)
    after = run.model.sam2.state_dict()

    reset = [m for m in messages if "re-initialised" in m]
    assert len(reset) == 1
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("image_encoder"))
    changed = [k for k in before if k.startswith("memory_attention") and k.endswith("weight")
               and not torch.equal(before[k], after[k])]
    assert changed
    # a fresh model has the same memory-path parameter set: nothing renamed or dropped
    assert set(build_model(config)[0].sam2.state_dict()) == set(after)


def test_a_segment_stage_can_keep_the_look_tokens_fixed(tmp_path, tiny_run_config):
    import torch

    from vrs_hq_ros.train.trainer import build_model

    data = tiny_run_config.to_dict()
    changed = {}
    for train_looks in (True, False):
        data["stages"] = [{"name": "segment", "steps": 2, "lr": 1e-2,
                           "train_looks": train_looks}]
        config = RunConfig.from_dict(data)
        _, fresh = build_model(config)
        run = train(config, tmp_path / str(train_looks), log=lambda _: None)
        after = run.looks.state_dict()
        changed[train_looks] = any(not torch.equal(v, after[k])
                                   for k, v in fresh.state_dict().items())
    assert changed == {True: True, False: False}


def test_a_scene_without_sentences_is_skipped_where_sam2_does_not_train(tiny_run_config):
    """Seed 3732 draws a scene no sentence fits (with the tiny config's data settings)."""
    import numpy as np

    from vrs_hq_ros.train.synthetic_expressions import scene_expressions
    from vrs_hq_ros.train.trainer import (
        TrainingRun,
        _step_losses,
        _trainable,
        build_model,
        draw_scene,
    )

    scene, rng = draw_scene(tiny_run_config, 3732)
    rng.integers(tiny_run_config.data.sampled_min, tiny_run_config.data.sampled_max + 1)
    assert scene_expressions(scene, rng) == []
    model, looks = build_model(tiny_run_config)
    run = TrainingRun(model, looks)
    for stage in tiny_run_config.stages[1:3]:  # words, language: SAM2 frozen
        _trainable(run, stage)
        model.train()
        losses = _step_losses(run, tiny_run_config, stage, 3732)
        losses.total.backward()  # the old fallback (segment losses) had no gradient here
        assert np.isfinite(float(losses.total)) and losses.distill > 0
