import math

import pytest
import torch

from vrs_hq_ros.model.tda import TokenShapeError, temporal_dynamic_aggregation


def test_tda_matches_the_formula_on_hand_computed_inputs():
    seg = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    tak = torch.tensor([2.0, 0.0])
    # cos(seg_i, tak) = 1, 0, 1/sqrt(2)
    exps = [math.exp(1.0), math.exp(0.0), math.exp(1 / math.sqrt(2))]
    w = [e / sum(exps) for e in exps]
    mix = [w[0] * 1 + w[2] * 3, w[1] * 2 + w[2] * 3]
    expected = torch.tensor([2.0 + 0.1 * mix[0], 0.0 + 0.1 * mix[1]])

    result = temporal_dynamic_aggregation(seg, tak, alpha=0.1)

    torch.testing.assert_close(result.weights, torch.tensor(w), atol=1e-6, rtol=0)
    torch.testing.assert_close(result.tak_fused, expected, atol=1e-6, rtol=0)


def test_tda_weights_sum_to_one_and_favour_the_most_similar_frame():
    torch.manual_seed(0)
    seg = torch.randn(9, 256)
    tak = seg[4] * 3 + 0.01 * torch.randn(256)
    result = temporal_dynamic_aggregation(seg, tak)
    assert result.weights.shape == (9,)
    assert float(result.weights.sum()) == pytest.approx(1.0, abs=1e-6)
    assert int(result.weights.argmax()) == 4


def test_alpha_zero_leaves_tak_unchanged():
    seg, tak = torch.randn(3, 8), torch.randn(8)
    assert torch.equal(temporal_dynamic_aggregation(seg, tak, alpha=0.0).tak_fused, tak)


@pytest.mark.parametrize("seg,tak", [
    (torch.zeros(3, 4), torch.zeros(5)),
    (torch.zeros(4), torch.zeros(4)),
    (torch.zeros(0, 4), torch.zeros(4)),
])
def test_mismatched_shapes_raise(seg, tak):
    with pytest.raises(TokenShapeError):
        temporal_dynamic_aggregation(seg, tak)
