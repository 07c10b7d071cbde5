import math

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
