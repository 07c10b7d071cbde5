import pytest
import torch
import torch.nn.functional as F

from vrs_hq_ros.model.config import LossConfig
from vrs_hq_ros.model.loss import MaskShapeError, dice_loss, sigmoid_bce_loss, vrshq_loss


def test_bce_is_the_mean_per_mask_then_averaged_over_masks():
    torch.manual_seed(0)
    logits, gt = torch.randn(3, 8, 8), (torch.rand(3, 8, 8) > 0.5).float()
    expected = torch.stack([F.binary_cross_entropy_with_logits(logits[i], gt[i])
                            for i in range(3)]).mean()
    torch.testing.assert_close(sigmoid_bce_loss(logits, gt), expected, atol=1e-6, rtol=1e-5)


def test_dice_is_near_zero_for_a_confident_correct_mask_and_near_one_for_the_opposite():
    gt = torch.zeros(1, 16, 16)
    gt[0, 4:12, 4:12] = 1
    assert float(dice_loss(gt * 40 - 20, gt)) < 1e-3
    assert float(dice_loss(20 - gt * 40, gt)) > 0.99


def test_dice_matches_the_formula():
    logits = torch.tensor([[[0.0, 2.0], [-1.0, 1.0]]])
    gt = torch.tensor([[[1.0, 1.0], [0.0, 0.0]]])
    p = torch.sigmoid(logits).flatten()
    t = gt.flatten()
    s = 1000.0
    expected = 1 - (2 * (p / s * t).sum() + 1e-6) / ((p / s).sum() + (t / s).sum() + 1e-6)
    torch.testing.assert_close(dice_loss(logits, gt), expected)


def test_total_uses_the_official_weights():
    torch.manual_seed(1)
    logits, gt = torch.randn(2, 8, 8), (torch.rand(2, 8, 8) > 0.5).float()
    ce = torch.tensor(1.7)
    out = vrshq_loss(ce, logits, gt, LossConfig())
    torch.testing.assert_close(out.ce, ce)
    torch.testing.assert_close(out.bce, 2.0 * sigmoid_bce_loss(logits, gt))
    torch.testing.assert_close(out.dice, 0.5 * dice_loss(logits, gt))
    torch.testing.assert_close(out.total, out.ce + out.bce + out.dice)


def test_mask_shape_mismatch_raises():
    with pytest.raises(MaskShapeError):
        vrshq_loss(torch.tensor(0.0), torch.zeros(1, 4, 4), torch.zeros(1, 4, 5), LossConfig())
