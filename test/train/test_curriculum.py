import math

import pytest
import torch

from vrs_hq_ros.train.curriculum import pixel_contrast, token_contrast


def _two_objects() -> torch.Tensor:
    gt = torch.zeros(1, 2, 8, 8)  # [frames, objects, H, W]
    gt[0, 0, :4, :4] = 1
    gt[0, 1, 4:, 4:] = 1
    return gt


def test_pixel_contrast_rewards_masks_that_follow_their_prompt():
    gt = _two_objects()
    following = 20 * (2 * gt - 1)       # each prompt's logits high on its own object
    blind = torch.ones_like(gt) * 5.0   # the same "every shape" logits for both prompts
    swapped = following.flip(1)

    assert pixel_contrast(following, gt) < 1e-6
    assert pixel_contrast(blind, gt) == torch.tensor(math.log(2)).float()
    assert pixel_contrast(swapped, gt) > 10


def test_pixel_contrast_ignores_background_and_single_object_scenes():
    gt = _two_objects()
    logits = 20 * (2 * gt - 1)
    logits[..., 0, 7] = torch.tensor([-50.0, 50.0])  # a background pixel: not scored
    assert pixel_contrast(logits, gt) < 1e-6
    assert pixel_contrast(logits[:, :1], gt[:, :1]) == 0


def _count_decoded_prompts(model) -> list[int]:
    """Record the number of prompts of every mask-decoder call (the list fills as it runs)."""
    calls: list[int] = []
    decode = model.sam2.sam_mask_decoder.forward

    def counting(*args, **kwargs):
        calls.append(kwargs["sparse_prompt_embeddings"].shape[0])
        return decode(*args, **kwargs)

    model.sam2.sam_mask_decoder.forward = counting
    return calls


def test_token_contrast_prefers_the_target_look():
    looks = torch.eye(3, 16)
    assert token_contrast(looks[1], looks, target=1) < 0.01
    assert token_contrast(looks[1], looks, target=2) > 5


def test_the_track_stage_trains_sams_memory_path_from_token_and_mask_keyframes(tiny_run_config):
    import numpy as np

    from vrs_hq_ros.train.curriculum import track_step_losses
    from vrs_hq_ros.train.synthetic_scenes import make_scene
    from vrs_hq_ros.train.trainer import build_model

    model, looks = build_model(tiny_run_config)
    model.train()
    scene = make_scene(3, num_frames=6, size=64, num_objects=3)
    losses = track_step_losses(model, looks, scene, np.random.default_rng(0), 1.0)
    losses.total.backward()

    assert losses.contrast > 0 and losses.mask > 0
    memory_grad = model.sam2.memory_attention.layers[0].cross_attn_image.q_proj.weight.grad
    mask_input_grad = model.sam2.sam_prompt_encoder.mask_downscaling[0].weight.grad
    assert memory_grad is not None and memory_grad.abs().sum() > 0
    assert mask_input_grad is not None  # the inference path (mask-conditioned keyframe) trains


def test_reset_memory_path_reinitialises_only_the_memory_encoder_and_attention(tiny_run_config):
    from vrs_hq_ros.train.curriculum import reset_memory_path
    from vrs_hq_ros.train.trainer import build_model

    sam2 = build_model(tiny_run_config)[0].sam2
    with torch.no_grad():
        for p in sam2.parameters():
            p.fill_(0.5)
    reset_memory_path(sam2)
    state = dict(sam2.named_parameters())

    memory_linear = state["memory_attention.layers.0.cross_attn_image.q_proj.weight"]
    assert not torch.all(memory_linear == 0.5)
    assert not torch.all(state["memory_encoder.out_proj.weight"] == 0.5)
    assert all(torch.all(v == 0.5) for k, v in state.items()
               if k.startswith(("image_encoder", "sam_mask_decoder", "sam_prompt_encoder")))


def _words_frame_counts(config, **stage_options) -> list[int]:
    """Frames each ``words`` step reads over 4 seeds (the losses must be finite)."""
    from vrs_hq_ros.train.run_config import StageConfig
    from vrs_hq_ros.train.trainer import TrainingRun, _step_losses, build_model

    model, looks = build_model(config)
    seen: list[int] = []
    original = model.embed_tokens

    def recording(frames, sentence, **kwargs):
        seen.append(len(frames))
        return original(frames, sentence, **kwargs)

    model.embed_tokens = recording
    stage = StageConfig("words", 1, 1e-3, distill_weight=1.0, contrast_weight=1.0,
                        **stage_options)
    for seed in range(4):
        losses = _step_losses(TrainingRun(model, looks), config, stage, seed)
        assert torch.isfinite(losses.total) and losses.contrast > 0
    return seen


def test_a_words_stage_with_reasoning_share_reads_t_prime_frames(tiny_run_config):
    data = tiny_run_config.data
    # reasoning sentences (every scene has some) read T' frames; referring ones would read 2
    counts = _words_frame_counts(tiny_run_config, reasoning_share=1.0)
    assert all(data.sampled_min <= n <= data.sampled_max for n in counts), counts


def test_referring_window_share_sets_how_many_referring_steps_read_t_prime(tiny_run_config):
    from vrs_hq_ros.train.run_config import RunConfigError, StageConfig

    data = tiny_run_config.data
    assert _words_frame_counts(tiny_run_config) == [2] * 4  # referring only, two frames
    counts = _words_frame_counts(tiny_run_config, referring_window_share=1.0)
    assert all(data.sampled_min <= n <= data.sampled_max for n in counts), counts
    with pytest.raises(RunConfigError, match="referring_window_share"):
        StageConfig("words", 1, 1e-3, referring_window_share=1.5)


def test_a_mask_only_track_stage_conditions_every_keyframe_on_its_mask(tiny_run_config,
                                                                       monkeypatch):
    import numpy as np

    from vrs_hq_ros.train import curriculum
    from vrs_hq_ros.train.synthetic_scenes import make_scene
    from vrs_hq_ros.train.trainer import build_model

    model, looks = build_model(tiny_run_config)
    scene = make_scene(3, num_frames=6, size=64, num_objects=3)
    calls = {"mask": 0, "token": 0}

    def counted(kind, function):
        def wrapper(*args):
            calls[kind] += 1
            return function(*args)
        return wrapper

    monkeypatch.setattr(curriculum, "propagate_from_mask",
                        counted("mask", curriculum.propagate_from_mask))
    monkeypatch.setattr(curriculum, "propagate_with_scores",
                        counted("token", curriculum.propagate_with_scores))
    curriculum.track_step_losses(model, looks, scene, np.random.default_rng(0), 1.0,
                                 mask_share=1.0)

    assert calls == {"mask": 3, "token": 0}


def test_a_batched_segment_step_decodes_every_object_of_every_scene(tiny_run_config):
    """``scenes_per_step``: one batch over scenes; prompt contrast and look maps train."""
    import numpy as np

    from vrs_hq_ros.train.curriculum import segment_batch_losses
    from vrs_hq_ros.train.look_maps import LookMaps
    from vrs_hq_ros.train.synthetic_scenes import make_scene
    from vrs_hq_ros.train.trainer import build_model

    model, looks = build_model(tiny_run_config)
    model.train()
    scenes = [make_scene(s, num_frames=6, size=64, num_objects=n) for s, n in ((1, 2), (2, 3))]
    calls = _count_decoded_prompts(model)
    maps = LookMaps.seeded()
    losses = segment_batch_losses(model, looks, scenes, np.random.default_rng(0), 2, 1.0, maps,
                                  1.0)
    losses.total.backward()

    assert calls == [2 * 2 + 2 * 3]  # one decoder call: 2 frames x every object of each scene
    assert losses.contrast > 0 and losses.look_map > 0 and losses.candidates > 0
    assert model.sam2.sam_mask_decoder.output_hypernetworks_mlps[0].layers[0].weight.grad \
        .abs().sum() > 0
    assert maps.heads[0].weight.grad.abs().sum() > 0


def test_stage_options_are_checked_against_the_stage_kind():
    from vrs_hq_ros.train.run_config import RunConfigError, StageConfig

    with pytest.raises(RunConfigError, match="scenes_per_step"):
        StageConfig("track", 1, 1e-3, scenes_per_step=2)
    with pytest.raises(RunConfigError, match="short_prompt_share"):
        StageConfig("segment", 1, 1e-3, short_prompt_share=0.5)
    with pytest.raises(RunConfigError, match="short_prompt_share"):
        StageConfig("words", 1, 1e-3, short_prompt_share=1.5)


def test_short_prompt_share_sets_which_steps_read_the_bare_prompt(tiny_run_config):
    from vrs_hq_ros.train.run_config import StageConfig
    from vrs_hq_ros.train.trainer import TrainingRun, _step_losses, build_model

    model, looks = build_model(tiny_run_config)
    forms: list[bool] = []
    original = model.embed_tokens

    def recording(frames, sentence, **kwargs):
        forms.append(kwargs.get("short_prompt", False))
        return original(frames, sentence, **kwargs)

    model.embed_tokens = recording
    for share in (0.0, 1.0):
        stage = StageConfig("words", 1, 1e-3, distill_weight=1.0, contrast_weight=1.0,
                            short_prompt_share=share)
        for seed in range(3):
            _step_losses(TrainingRun(model, looks), tiny_run_config, stage, seed)
    assert forms == [False] * 3 + [True] * 3


def test_a_track_stage_with_segment_weight_also_trains_prompted_decoding(tiny_run_config):
    from vrs_hq_ros.train.run_config import RunConfigError, StageConfig
    from vrs_hq_ros.train.trainer import TrainingRun, _step_losses, build_model

    model, looks = build_model(tiny_run_config)
    model.train()
    plain = StageConfig("track", 1, 1e-3, contrast_weight=1.0, keyframe_mask_share=1.0)
    mixed = StageConfig("track", 1, 1e-3, contrast_weight=1.0, keyframe_mask_share=1.0,
                        segment_weight=1.0)
    run = TrainingRun(model, looks)
    torch.manual_seed(0)  # the same dropout draws in memory attention
    without = _step_losses(run, tiny_run_config, plain, 5)
    torch.manual_seed(0)
    with_prompts = _step_losses(run, tiny_run_config, mixed, 5)

    assert without.candidates == 0 and with_prompts.candidates > 0
    assert with_prompts.total > without.total and with_prompts.mask == without.mask
    with pytest.raises(RunConfigError, match="segment_weight"):
        StageConfig("words", 1, 1e-3, segment_weight=1.0)


def test_partial_look_tokens_sum_the_named_attributes_and_are_decoded_too(tiny_run_config):
    import numpy as np

    from vrs_hq_ros.train.curriculum import segment_batch_losses
    from vrs_hq_ros.train.synthetic_scenes import make_scene
    from vrs_hq_ros.train.trainer import build_model

    model, looks = build_model(tiny_run_config)
    scene = make_scene(2, num_frames=6, size=64, num_objects=3)
    obj = scene.objects[0]
    torch.testing.assert_close(
        looks(obj, ("colour", "shape")),
        looks.tables["colour"].weight[looks.vocab["colour"].index(obj.colour)]
        + looks.tables["shape"].weight[looks.vocab["shape"].index(obj.shape)])
    torch.testing.assert_close(looks(obj), looks(obj, ("colour", "shape", "size", "texture")))

    calls = _count_decoded_prompts(model)
    model.train()
    segment_batch_losses(model, looks, [scene], np.random.default_rng(0), 2, 1.0)
    segment_batch_losses(model, looks, [scene], np.random.default_rng(0), 2, 1.0,
                         partial_look_share=1.0)
    assert calls[0] == 2 * 3 and 2 * 3 < calls[1] <= 2 * 3 * 2  # one more per nameable object


def test_partial_look_share_is_refused_where_no_step_would_read_it():
    from vrs_hq_ros.train.run_config import RunConfigError, StageConfig

    StageConfig("segment", 1, 1e-3, scenes_per_step=2, partial_look_share=0.5)
    StageConfig("track", 1, 1e-3, segment_weight=1.0, partial_look_share=0.5)
    StageConfig("joint", 1, 1e-3, segment_weight=1.0, partial_look_share=0.5)
    with pytest.raises(RunConfigError, match="partial_look_share"):
        StageConfig("segment", 1, 1e-3, partial_look_share=0.5)  # one scene per step
    with pytest.raises(RunConfigError, match="partial_look_share"):
        StageConfig("words", 1, 1e-3, partial_look_share=0.5)


def test_a_referring_words_step_is_taught_the_token_of_what_it_names(tiny_run_config):
    import dataclasses

    import numpy as np

    from vrs_hq_ros.train.curriculum import words_step_losses
    from vrs_hq_ros.train.synthetic_expressions import scene_expressions
    from vrs_hq_ros.train.synthetic_scenes import make_scene
    from vrs_hq_ros.train.trainer import build_model

    model, looks = build_model(tiny_run_config)
    scene = make_scene(2, num_frames=6, size=64, num_objects=3)
    e = next(x for x in scene_expressions(scene, np.random.default_rng(2)) if x.named)
    seen = []
    original = looks.forward

    def recording(obj, attributes=()):
        seen.append(attributes)
        return original(obj, attributes)

    looks.forward = recording
    words_step_losses(model, looks, scene, e, np.random.default_rng(0), 1.0, 1.0)
    words_step_losses(model, looks, scene, dataclasses.replace(e, named=()),
                      np.random.default_rng(0), 1.0, 1.0)
    count = len(scene.objects)
    assert seen == [e.named] * count + [()] * count


@pytest.mark.parametrize("option, frozen, stages, refused", [
    ("freeze_memory", ("memory_encoder", "memory_attention"), ("joint",), "track"),
    ("freeze_decoder", ("sam_mask_decoder", "sam_prompt_encoder"), ("track", "joint"),
     "segment"),
])
def test_a_freeze_option_keeps_its_parts_of_sam2(tiny_run_config, option, frozen, stages,
                                                 refused):
    from vrs_hq_ros.train.run_config import RunConfigError, StageConfig
    from vrs_hq_ros.train.trainer import TrainingRun, _trainable, build_model

    model, looks = build_model(tiny_run_config)
    run = TrainingRun(model, looks)
    parts = {id(p) for name in frozen for p in getattr(model.sam2, name).parameters()}
    for stage in stages:
        everything = {id(p) for p in _trainable(run, StageConfig(stage, 1, 1e-4))}
        kept = {id(p) for p in _trainable(run, StageConfig(stage, 1, 1e-4, **{option: True}))}
        assert parts <= everything and not parts & kept
        assert kept and kept == everything - parts
    with pytest.raises(RunConfigError, match=option):
        StageConfig(refused, 1, 1e-4, **{option: True})


def test_a_joint_stage_with_track_weight_adds_mask_conditioned_tracking(tiny_run_config):
    from vrs_hq_ros.train.run_config import RunConfigError, StageConfig
    from vrs_hq_ros.train.trainer import TrainingRun, _step_losses, build_model

    model, looks = build_model(tiny_run_config)
    model.train()
    run = TrainingRun(model, looks)
    torch.manual_seed(0)
    plain = _step_losses(run, tiny_run_config, StageConfig("joint", 1, 1e-4), 5)
    torch.manual_seed(0)
    mixed = _step_losses(run, tiny_run_config,
                         StageConfig("joint", 1, 1e-4, contrast_weight=1.0, track_weight=1.0), 5)

    assert plain.contrast == 0 and mixed.contrast > 0
    assert mixed.total > plain.total and torch.isfinite(mixed.total)
    with pytest.raises(RunConfigError, match="track_weight"):
        StageConfig("language", 1, 1e-4, track_weight=1.0)


def test_a_joint_stage_with_segment_weight_keeps_look_prompted_decoding(tiny_run_config):
    from vrs_hq_ros.train.run_config import StageConfig
    from vrs_hq_ros.train.trainer import TrainingRun, _step_losses, build_model

    model, looks = build_model(tiny_run_config)
    model.train()
    run = TrainingRun(model, looks)
    calls = _count_decoded_prompts(model)
    torch.manual_seed(0)
    plain = _step_losses(run, tiny_run_config, StageConfig("joint", 1, 1e-4), 5)
    plain_prompts = sum(calls)
    torch.manual_seed(0)
    mixed = _step_losses(run, tiny_run_config,
                         StageConfig("joint", 1, 1e-4, segment_weight=1.0,
                                     partial_look_share=0.5), 5)

    # the look-prompted decoding (every object, two frames) ran on top of the paper's losses
    assert sum(calls) - plain_prompts > plain_prompts
    assert mixed.mask == plain.mask and mixed.ce == plain.ce
    assert mixed.candidates > plain.candidates and mixed.total > plain.total


def test_track_frames_sets_how_far_each_object_is_tracked(tiny_run_config):
    from vrs_hq_ros.train.run_config import RunConfigError, StageConfig
    from vrs_hq_ros.train.trainer import TrainingRun, _step_losses, build_model

    model, looks = build_model(tiny_run_config)
    model.train()
    run = TrainingRun(model, looks)
    encoded = []  # frames per SAM2 image-encoder call
    encode = model.encode_frames
    model.encode_frames = lambda frames: encoded.append(len(frames)) or encode(frames)
    for frames in (4, 8):
        stage = StageConfig("track", 1, 1e-4, keyframe_mask_share=1.0, track_frames=frames)
        assert torch.isfinite(_step_losses(run, tiny_run_config, stage, 5).total)
    assert encoded == [4, 8]  # the scenes have 8-10 frames
    encoded.clear()
    joint = StageConfig("joint", 1, 1e-4, track_weight=1.0, track_frames=8)
    _step_losses(run, tiny_run_config, joint, 5)
    assert encoded[-1] == 8  # the tracking term after the paper's losses
    with pytest.raises(RunConfigError, match="track_frames"):
        StageConfig("joint", 1, 1e-4, track_frames=8)  # no tracking term to read it
    with pytest.raises(RunConfigError, match="track_frames"):
        StageConfig("track", 1, 1e-4, track_frames=1)

