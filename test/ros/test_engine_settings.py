"""``model.path`` accepts the official release layout (issue 10); the memory estimate is logged."""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
from pathlib import Path

from vrs_hq_ros.ros.engine_settings import compile_decoder, load_model
from vrs_hq_ros.ros.parameters import NodeSettings

_FIXTURE = Path(__file__).parents[1] / "model" / "release_fixture.py"


def _write_release(root: Path) -> Path:
    spec = importlib.util.spec_from_file_location("release_fixture", _FIXTURE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_release(root, fmt="bin")


def test_model_path_loads_a_release_folder_and_logs_expected_memory(tmp_path, caplog):
    release = _write_release(tmp_path / "release")
    settings = dataclasses.replace(NodeSettings.defaults(), model_path=str(release),
                                   model_device="cpu", model_dtype="float32")
    with caplog.at_level(logging.INFO):
        model = load_model(settings)
    assert model.backbone.tokens_per_image == 112
    assert model.release_report.missing == [] and model.release_report.unexpected == []
    assert any("expected accelerator memory" in r.getMessage() for r in caplog.records)


def test_clip_model_may_name_a_hugging_face_folder(tmp_path):
    release = _write_release(tmp_path / "release")
    settings = dataclasses.replace(
        NodeSettings.defaults(), model_path=str(release), model_device="cpu",
        model_dtype="float32", model_clip_model=str(release / "clip-vit-large-patch14-336"))
    model = load_model(settings)
    assert model.config.clip.hf_dir == str(release / "clip-vit-large-patch14-336")
    assert model.clip.hf_model is not None


def test_model_compile_wraps_the_release_decoder_only(tmp_path, caplog):
    release = _write_release(tmp_path / "release")
    settings = dataclasses.replace(NodeSettings.defaults(), model_path=str(release),
                                   model_device="cpu", model_dtype="float32",
                                   model_compile=True)
    model = load_model(settings)  # compilation itself happens lazily, at the first window
    assert hasattr(model.backbone.llm.model.forward, "_torchdynamo_orig_callable")
    from vrs_hq_ros.model.config import VRSHQConfig
    from vrs_hq_ros.model.vrshq import VRSHQ

    assert compile_decoder(VRSHQ(VRSHQConfig.tiny(64))) is False  # LLaVA backbone: eager
