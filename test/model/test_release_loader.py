"""The official release layout: key-for-key loading, refusal of partial folders, one window."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from vrs_hq_ros.model.keyframe_propagation import propagate_from_keyframe
from vrs_hq_ros.model.release_loader import ReleaseLoadError, is_release_dir, map_key
from vrs_hq_ros.model.vrshq import VRSHQ

# a helper module beside the tests (pytest runs with --import-mode=importlib: no package path)
_spec = importlib.util.spec_from_file_location(
    "release_fixture", Path(__file__).with_name("release_fixture.py"))
release_fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(release_fixture)
LLAMA, release_state_dict, write_release = (release_fixture.LLAMA,
                                            release_fixture.release_state_dict,
                                            release_fixture.write_release)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return write_release(tmp_path_factory.mktemp("release"), fmt="bin")


@pytest.fixture(scope="module")
def model(release):
    return VRSHQ.from_pretrained(release)


def test_every_release_key_loads(model):
    report = model.release_report
    assert report.missing == [] and report.unexpected == []
    # 4.31 saved the rotary inv_freq buffers; they are recomputed, reported as ignored
    assert report.ignored == [f"model.layers.{i}.self_attn.rotary_emb.inv_freq"
                              for i in range(LLAMA["num_hidden_layers"])]
    assert report.loaded == len(release_state_dict()) - len(report.ignored) + len(
        model.backbone.vision_tower.state_dict())
    assert report.vision_tower_from.endswith("clip-vit-large-patch14")


def test_weights_land_on_the_mapped_modules(model):
    state = release_state_dict()
    ours = model.state_dict()
    for key in ("model.layers.1.self_attn.q_proj.weight", "lm_head.weight",
                "model.mm_projector.weight", "model.text_hidden_fcs.0.2.weight",
                "model.visual_model.sam_mask_decoder.iou_token.weight"):
        assert torch.equal(ours[map_key(key)].float(), state[key].float()), key


def test_safetensors_shards_load(tmp_path):
    loaded = VRSHQ.from_pretrained(write_release(tmp_path, fmt="safetensors"))
    assert loaded.release_report.missing == []


def test_a_removed_key_is_refused_and_named(tmp_path):
    removed = "model.layers.0.mlp.down_proj.weight"
    directory = write_release(tmp_path, drop_key=removed)
    assert is_release_dir(directory)
    with pytest.raises(ReleaseLoadError, match="down_proj"):
        VRSHQ.from_pretrained(directory)


def test_one_window_runs_through_tda_tks_and_propagation(model):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (96, 128, 3), dtype=np.uint8) for _ in range(13)]
    result = model.reason(frames, "The  dog on the LEFT")
    # ceil(13 / 11) = 2: every other frame, the CLIP anchor among them
    assert len(result.sampled_indices) in (6, 7)
    assert result.anchor_index in result.sampled_indices
    assert result.seg_embeddings.shape == (len(result.sampled_indices), 256)
    assert torch.isclose(result.tda_weights.sum(), torch.tensor(1.0))
    assert result.keyframe_index in result.sampled_indices
    assert result.keyframe_mask_logits.shape == (96, 128)

    features = model.encode_frames(frames[:4])
    masks = propagate_from_keyframe(model.sam2, features, 1, result.tak_fused)
    assert masks.shape[0] == 4 and torch.isfinite(masks).all()


def test_hidden_size_and_tokens_follow_the_release(model):
    assert model.backbone.hidden_size == LLAMA["hidden_size"]
    assert model.backbone.tokens_per_image == 112  # 64 + 32 + 16


def test_official_inference_settings_are_on(model):
    assert model.fill_hole_area == 8
    assert model.pad_to_square and model.official_window_sampling
    assert model.config.sam2.version == "2.0"
    assert not any([model.config.sam2.multimask_output_in_sam,
                    model.config.sam2.multimask_output_for_tracking,
                    model.config.sam2.use_multimask_token_for_obj_ptr,
                    model.config.sam2.dynamic_multimask_via_stability])
    assert model.config.tks.frame_budget == 11


def test_letterboxed_sam2_input_maps_masks_back_to_the_frame(model):
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 255, (60, 120, 3), dtype=np.uint8) for _ in range(3)]
    result = model.reason(frames, "the cat")
    assert result.keyframe_mask_logits.shape == (60, 120)


def test_the_streaming_engine_runs_a_release_on_a_non_square_camera(model):
    """Official windows (whole span), letterboxed tracking, hole filling: masks fit the frame."""
    from vrs_hq_ros.engine.config import EngineConfig
    from vrs_hq_ros.engine.frames import Frame
    from vrs_hq_ros.engine.results import GoalAction, GoalCommand
    from vrs_hq_ros.engine.streaming import StreamingEngine

    engine = StreamingEngine(model, EngineConfig(deterministic=True, window_length=6, stride=6,
                                                 frames_per_window=3))
    assert engine.tracker.mapping.padded and engine.tracker.mapping.fill_hole_area == 8
    engine.apply(GoalCommand(GoalAction.ADD, "g", "the red square"))
    rng = np.random.default_rng(3)
    try:
        results = [engine.push(Frame(i * 100_000_000,
                                     rng.integers(0, 255, (60, 120, 3), dtype=np.uint8)))
                   for i in range(5)]
    finally:
        engine.close()
    assert all(r.goals[0].mask_hw.shape == (60, 120) for r in results)
    assert results[-1].goals[0].window_id == 1  # reasoned once, then tracked


def test_hf_clip_anchor_scores_every_frame(model):
    rng = np.random.default_rng(2)
    frames = [rng.integers(0, 255, (40, 50, 3), dtype=np.uint8) for _ in range(4)]
    probs = model.clip.frame_probabilities(frames, "a red cup")
    assert probs.shape == (4,) and torch.isclose(probs.sum(), torch.tensor(1.0))


def test_memory_estimate_counts_sam2_in_float32(model):
    from vrs_hq_ros.model.release_memory import check_device_memory, estimate_memory

    sam2_bytes = sum(p.numel() * 4 for p in model.sam2.parameters())
    half = estimate_memory(model, torch.bfloat16)
    full = estimate_memory(model, torch.float32)
    assert sam2_bytes < half.weights < full.weights
    assert check_device_memory(model, torch.device("cpu"), torch.bfloat16).total == half.total
