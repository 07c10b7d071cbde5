"""Parity with the official code on the fabricated release, CPU, numbers only.

``fixtures/record_official_parity.py`` (SitongGong/VRS-HQ + Chat-UniVi, transformers 4.31):
prompt ids, sequence layout, [SEG]/[TAK] hidden states, projection, TDA.
``fixtures/record_official_sam2_parity.py`` (the VRS-HQ sam2 fork, with CUDA/bf16 shims listed
there): SAM2 input, image features, TAK'-prompted candidates, TKS, keyframe mask, forward
propagation (forward, and reverse as ``engine.offline`` runs it), frame sampling. Not
covered: the CLIP anchor, hole filling (the fork's CUDA extension).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from vrs_hq_ros.model.prompt import build_conversation, tokenize_slow_pieces
from vrs_hq_ros.model.sam2_builder import IMAGENET_MEAN, IMAGENET_STD, preprocess_frame_padded
from vrs_hq_ros.model.sam2_features import level_map
from vrs_hq_ros.model.sam2_prompting import decode_with_token
from vrs_hq_ros.model.tks import sample_around_anchor, select_keyframe
from vrs_hq_ros.model.vrshq import VRSHQ
from vrs_hq_ros.tracking.online_tracker import MaskMapping, OnlineTracker

HERE = Path(__file__).parent
RECORD = json.loads((HERE / "fixtures" / "official_parity.json").read_text())
SAM2_RECORD = json.loads((HERE / "fixtures" / "official_sam2_parity.json").read_text())


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


recorder = _module(HERE / "fixtures" / "record_official_parity.py", "record_official_parity")
release_fixture = _module(HERE / "release_fixture.py", "release_fixture")


def _relative_error(ours: torch.Tensor, official) -> float:
    reference = torch.tensor(official, dtype=torch.float64)
    return float((ours.double() - reference).norm() / reference.norm())


def _strided_error(ours: torch.Tensor, official: dict) -> float:
    """Relative error on the recorded samples; the norms must agree as well."""
    flat = ours.detach().double().flatten()
    assert list(ours.shape) == official["shape"]
    assert abs(float(flat.norm()) - official["norm"]) <= 1e-4 * official["norm"]
    return _relative_error(flat[::official["stride"]], official["sample"])


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    release = release_fixture.write_release(tmp_path_factory.mktemp("parity"), "safetensors")
    assert recorder.release_digest(release) == RECORD["release_sha256"], (
        "the fabricated release changed: re-record fixtures/official_parity.json")
    assert recorder.release_digest(release) == SAM2_RECORD["release_sha256"], (
        "the fabricated release changed: re-record fixtures/official_sam2_parity.json")
    return VRSHQ.from_pretrained(release)


@pytest.fixture(scope="module")
def frames():
    return recorder.fixed_frames()


def test_prompt_ids_and_layout_equal_the_official(model):
    tokenizer = model.backbone.tokenizer
    text = build_conversation(RECORD["num_frames"], RECORD["sentence"]).text
    assert tokenize_slow_pieces(tokenizer, text) == RECORD["input_ids"]
    tokens = model.backbone.encode_prompt(RECORD["num_frames"], RECORD["sentence"])
    assert len(tokens.input_ids) == RECORD["sequence_length"]
    assert tokens.seg_hidden_positions.tolist() == RECORD["seg_read_positions"]
    assert tokens.tak_hidden_position == RECORD["tak_read_position"]
    assert [e - s for s, e in tokens.image_token_spans] == [112] * RECORD["num_frames"]


def test_vision_preprocessing_equals_the_official(model, frames):
    pixels = model.backbone.preprocess_frames(frames)
    assert _relative_error(pixels.mean(dim=(1, 2, 3)), RECORD["pixel_mean_per_frame"]) < 1e-5


def test_seg_tak_hidden_states_equal_the_official(model, frames):
    out = model.backbone(frames, RECORD["sentence"])
    assert _relative_error(out.seg_hidden, RECORD["seg_hidden"]) <= 1e-4
    assert _relative_error(out.tak_hidden, RECORD["tak_hidden"]) <= 1e-4


def test_projection_and_tda_equal_the_official(model, frames):
    seg, tak, _ = model.embed_tokens(frames, RECORD["sentence"])
    assert _relative_error(seg, RECORD["seg_projected"]) <= 1e-4
    assert _relative_error(tak, RECORD["tak_projected"]) <= 1e-4
    tda = model.fuse(seg, tak)
    assert _relative_error(tda.weights, RECORD["tda_weights"]) <= 1e-4
    assert _relative_error(tda.tak_fused, RECORD["tak_fused"]) <= 1e-4
    assert int(tda.weights.argmax()) == max(range(len(RECORD["tda_weights"])),
                                            key=RECORD["tda_weights"].__getitem__)


@pytest.fixture(scope="module")
def sam2_features(model, frames):
    return model.encode_frames(frames)


def test_sam2_input_equals_the_official(model, frames):
    assert model.pad_to_square and model.image_size == SAM2_RECORD["image_size"]
    images = torch.stack([preprocess_frame_padded(f, model.image_size) for f in frames])
    assert _relative_error(images.mean(dim=(1, 2, 3)),
                           SAM2_RECORD["sam2_input_mean_per_frame"]) <= 1e-5
    new_h, new_w = SAM2_RECORD["resized_shape"]
    mean = torch.tensor(IMAGENET_MEAN)[:, None, None] * 255
    std = torch.tensor(IMAGENET_STD)[:, None, None] * 255
    resized = images[:, :, :new_h, :new_w] * std + mean
    assert _relative_error(resized.mean(dim=(1, 2, 3)),
                           SAM2_RECORD["resized_mean_per_frame"]) <= 1e-5
    assert float(images[:, :, new_h:].abs().max()) == 0.0  # zero padding below


def test_sam2_image_features_equal_the_official(sam2_features):
    official = SAM2_RECORD["frame0_features"]
    feats = sam2_features[0]
    for level, (flat, size) in enumerate(zip(feats.vision_feats, feats.feat_sizes, strict=True)):
        assert _strided_error(level_map(flat, size), official["backbone_fpn"][level]) <= 1e-4
    for level, (flat, size) in enumerate(zip(feats.vision_pos_embeds, feats.feat_sizes,
                                             strict=True)):
        assert _strided_error(level_map(flat, size), official["vision_pos_enc"][level]) <= 1e-4


@pytest.fixture(scope="module")
def candidates(model, sam2_features):
    token = torch.tensor(RECORD["tak_fused"])
    with torch.no_grad():
        return decode_with_token(model.sam2, sam2_features, token)


def test_tak_prompted_candidates_equal_the_official(candidates):
    official = SAM2_RECORD["candidates"]
    assert _relative_error(candidates.object_logits,
                           [c["object_score_logit"] for c in official]) <= 1e-4
    assert _relative_error(candidates.iou, [c["iou"] for c in official]) <= 1e-4
    for i, record in enumerate(official):
        assert _strided_error(candidates.low_res_logits[i], record["low_res_logits"]) <= 1e-4
        assert _strided_error(candidates.object_pointer[i], record["obj_ptr"]) <= 1e-4


def test_tks_keyframe_equals_the_official(candidates):
    weights = torch.tensor(RECORD["tda_weights"])
    # the formula alone, on the official inputs
    official_logits = torch.tensor([c["object_score_logit"] for c in SAM2_RECORD["candidates"]])
    assert select_keyframe(official_logits, weights).position == SAM2_RECORD["keyframe_index"]
    choice = select_keyframe(candidates.object_logits, weights)
    assert _relative_error(choice.scores, SAM2_RECORD["tks_scores"]) <= 1e-4
    assert choice.position == SAM2_RECORD["keyframe_index"]


def test_frame_sampling_equals_the_official():
    for case in SAM2_RECORD["sampling"]:
        assert sample_around_anchor(case["num_frames"], case["anchor"], 11) == case["indices"]


def test_keyframe_mask_and_propagation_equal_the_official(model, frames, sam2_features,
                                                          candidates):
    keyframe = SAM2_RECORD["keyframe_index"]
    keyframe_mask = candidates.mask_logits[keyframe] > 0  # [S, S], as add_new_mask_bf16 gets it
    assert int(keyframe_mask.sum()) == SAM2_RECORD["keyframe_mask_positive"]
    # hole filling off: the recorder could not run the fork's CUDA extension
    mapping = MaskMapping(padded=True, fill_hole_area=0)
    tracker = OnlineTracker(model.sam2, clip_length=len(frames), mapping=mapping)
    memory = tracker.new_memory()
    height, width = frames[0].shape[:2]
    steps = [tracker.condition(memory, keyframe, keyframe_mask, sam2_features[keyframe])]
    for index in range(keyframe + 1, len(frames)):
        steps.append(tracker.step(memory, index, sam2_features[index]))
    official = SAM2_RECORD["propagated"]
    assert [s.frame_index for s in steps] == [p["frame_index"] for p in official]
    for step, record in zip(steps, official, strict=True):
        assert _strided_error(step.mask_logits, record["low_res_logits"]) <= 1e-4
        on_frame = mapping.to_frame(step.mask_logits, height, width)
        assert _strided_error(on_frame, record["frame_mask_logits"]) <= 1e-4
        assert int((on_frame > 0).sum()) == record["frame_mask_positive"]


def test_reverse_propagation_equals_the_official(model, frames, sam2_features, candidates):
    """engine.offline's backward pass: positions count away from the keyframe (the last frame)."""
    last = len(frames) - 1
    mapping = MaskMapping(padded=True, fill_hole_area=0)
    tracker = OnlineTracker(model.sam2, clip_length=len(frames), mapping=mapping)
    memory = tracker.new_memory()
    steps = [tracker.condition(memory, 0, candidates.mask_logits[last] > 0, sam2_features[last])]
    for position, index in enumerate(range(last - 1, -1, -1), start=1):
        steps.append(tracker.step(memory, position, sam2_features[index]))
    height, width = frames[0].shape[:2]
    official = SAM2_RECORD["propagated_reverse"]
    assert [p["frame_index"] for p in official] == list(range(last, -1, -1))
    for step, record in zip(steps, official, strict=True):
        assert _strided_error(step.mask_logits, record["low_res_logits"]) <= 1e-4
        on_frame = mapping.to_frame(step.mask_logits, height, width)
        assert _strided_error(on_frame, record["frame_mask_logits"]) <= 1e-4
        assert int((on_frame > 0).sum()) == record["frame_mask_positive"]
