"""The shipped run config and accelerate configs parse, and carry the official recipe."""

from __future__ import annotations

from pathlib import Path

import pytest

from vrs_hq_ros.train.finetune_config import FinetuneConfigError, load_config

CONFIG = Path(__file__).parents[2] / "config"


def test_shipped_run_config_is_the_official_recipe():
    config = load_config(CONFIG / "finetune.yaml")
    model, optim = config.model, config.optim
    assert (model.lora_r, model.lora_alpha, model.lora_dropout) == (8, 16, 0.05)
    assert model.lora_target_modules == ("q_proj", "v_proj")
    assert (optim.lr, optim.betas, config.grad_accumulation) == (3e-4, (0.9, 0.95), 32)
    assert (config.data.frames_min, config.data.frames_max) == (8, 12)
    kinds = {s.kind for s in config.data.sets}
    assert {"revos", "mevis", "ref_youtube_vos", "davis", "refcoco", "reasonseg"} <= kinds


def test_shipped_accelerate_configs_parse():
    from accelerate.commands.config.config_args import load_config_from_file

    types = {p.stem: str(load_config_from_file(str(p)).distributed_type)
             for p in (CONFIG / "accelerate").glob("*.yaml")}
    assert types["ddp_8gpu"].endswith("MULTI_GPU") and types["fsdp"].endswith("FSDP")
    assert types["deepspeed_zero2"].endswith("DEEPSPEED")
    assert types["deepspeed_zero3"].endswith("DEEPSPEED")


def test_a_missing_run_config_is_named(tmp_path):
    with pytest.raises(FinetuneConfigError, match="nope.yaml does not exist"):
        load_config(tmp_path / "nope.yaml")
