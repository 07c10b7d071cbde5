import json
import os

import numpy as np
import pytest
import torch

from vrs_hq_ros.model.config import VRSHQConfig
from vrs_hq_ros.model.sam2_builder import FrameFormatError
from vrs_hq_ros.model.vrshq import VRSHQ, FeatureCountError, ModelFilesError


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return VRSHQ(VRSHQConfig.tiny())


@pytest.fixture(scope="module")
def window():
    rng = np.random.default_rng(7)
    return [rng.integers(0, 256, (45, 70, 3), dtype=np.uint8) for _ in range(14)]


@pytest.fixture(scope="module")
def result(model, window):
    return model.reason(window, "the person holding an umbrella")


def test_runs_offline():
    assert os.environ.get("HF_HUB_OFFLINE") == "1"


def test_reasoning_fields_fit_together(result, window):
    t_prime = len(result.sampled_indices)
    # step = ceil(14 / 11) = 2, phase set by the anchor
    assert result.sampled_indices == list(range(result.anchor_index % 2, 14, 2))
    assert result.anchor_index in result.sampled_indices
    assert result.anchor_index == int(result.clip_probabilities.argmax())
    assert result.seg_embeddings.shape == (t_prime, 256)
    assert result.tak.shape == result.tak_fused.shape == (256,)
    assert result.tda_weights.shape == (t_prime,)
    assert float(result.tda_weights.sum()) == pytest.approx(1.0, abs=1e-5)
    torch.testing.assert_close(
        result.tak_fused, result.tak + 0.1 * result.tda_weights @ result.seg_embeddings)
    assert result.candidate_indices == result.sampled_indices
    assert result.candidate_scores.shape == (t_prime,)
    best = int(result.candidate_scores.argmax())
    assert result.keyframe_index == result.candidate_indices[best]
    assert result.keyframe_object_logit == pytest.approx(
        float(result.candidate_object_logits[best]))
    assert result.keyframe_mask_logits.shape == window[0].shape[:2]
    assert result.keyframe_mask_logits.dtype == torch.float32
    assert {"clip", "mllm", "sam2_encode", "sam2_decode", "total"} <= set(result.timings_s)


def test_a_single_frame_window_is_its_own_keyframe(model, window):
    out = model.reason(window[:1], "a cat")
    assert out.sampled_indices == out.candidate_indices == [0]
    assert out.keyframe_index == out.anchor_index == 0
    torch.testing.assert_close(out.tda_weights, torch.ones(1))


def test_cached_features_give_the_same_result(model, window, result):
    features = model.encode_frames(window)
    cached = model.reason(window, "the person holding an umbrella", features=features)
    assert cached.keyframe_index == result.keyframe_index
    torch.testing.assert_close(cached.keyframe_mask_logits, result.keyframe_mask_logits,
                               atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(cached.candidate_scores, result.candidate_scores)


def test_save_then_load_gives_identical_outputs(model, window, result, tmp_path):
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "vrshq_config.json").read_text())
    assert saved["alpha"] == 0.1 and saved["tks"]["frame_budget"] == 11

    loaded = VRSHQ.from_pretrained(tmp_path)
    again = loaded.reason(window, "the person holding an umbrella")

    assert again.keyframe_index == result.keyframe_index
    assert torch.equal(again.tak_fused, result.tak_fused)
    assert torch.equal(again.keyframe_mask_logits, result.keyframe_mask_logits)
    assert torch.equal(again.clip_probabilities, result.clip_probabilities)


def test_loading_a_folder_without_a_model_raises(tmp_path):
    with pytest.raises(ModelFilesError):
        VRSHQ.from_pretrained(tmp_path)


def test_config_round_trips_through_json():
    cfg = VRSHQConfig.tiny()
    assert VRSHQConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_bad_windows_raise(model, window):
    with pytest.raises(FrameFormatError):
        model.reason([], "a cat")
    with pytest.raises(FrameFormatError):
        model.reason([window[0], window[1][:20]], "a cat")
    with pytest.raises(FeatureCountError):
        model.reason(window[:3], "a cat", features=model.encode_frames(window[:2]))


def test_half_precision_applies_to_the_mllm_and_clip_while_sam2_stays_float32(window):
    torch.manual_seed(0)
    half = VRSHQ(VRSHQConfig.tiny()).to(dtype=torch.bfloat16)
    assert half.backbone.llava.lm_head.weight.dtype == torch.bfloat16
    assert next(half.clip.parameters()).dtype == torch.bfloat16
    assert half.sam2.no_mem_embed.dtype == torch.float32
    out = half.reason(window[:4], "a cat")
    assert out.keyframe_mask_logits.dtype == torch.float32
    assert all(f.vision_feats[0].dtype == torch.float32 for f in half.encode_frames(window[:1]))
