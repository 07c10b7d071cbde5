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
