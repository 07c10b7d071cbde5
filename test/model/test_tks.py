import math

import pytest
import torch

from vrs_hq_ros.model.tks import KeyframeSelectionError, sample_around_anchor, select_keyframe


@pytest.mark.parametrize("budget", [1, 4, 11, 12])
def test_sampling_contains_the_anchor_and_respects_the_budget(budget):
    for num_frames in range(1, 80):
        for anchor in range(num_frames):
            picked = sample_around_anchor(num_frames, anchor, budget)
            assert anchor in picked
            assert 1 <= len(picked) <= budget
            assert picked == sorted(set(picked)) and picked[-1] < num_frames
            step = math.ceil(num_frames / budget)
            assert all(b - a == step for a, b in zip(picked, picked[1:], strict=False))


def test_sampling_matches_the_official_rule_on_examples():
    assert sample_around_anchor(20, 5, 11) == [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]
    assert sample_around_anchor(8, 3, 11) == list(range(8))
    assert sample_around_anchor(34, 33, 11) == [1, 5, 9, 13, 17, 21, 25, 29, 33]


@pytest.mark.parametrize("num_frames,anchor,budget", [(0, 0, 11), (5, 5, 11), (5, -1, 11),
                                                      (5, 0, 0)])
def test_bad_sampling_inputs_raise(num_frames, anchor, budget):
    with pytest.raises(KeyframeSelectionError):
        sample_around_anchor(num_frames, anchor, budget)


def test_keyframe_is_the_highest_combined_score():
    # candidate 0 has the best object logit, candidate 2 the best TDA weight; the sum decides
    object_logits = torch.tensor([2.0, 0.0, 1.5])
    tda_weights = torch.tensor([0.05, 0.15, 0.80])
    soft = [math.exp(v) for v in (2.0, 0.0, 1.5)]
    expected = [s / sum(soft) + w for s, w in zip(soft, (0.05, 0.15, 0.80), strict=True)]

    choice = select_keyframe(object_logits, tda_weights)

    torch.testing.assert_close(choice.scores, torch.tensor(expected), atol=1e-6, rtol=0)
    assert choice.position == 2 == max(range(3), key=expected.__getitem__)


def test_object_score_can_outweigh_tda():
    choice = select_keyframe(torch.tensor([-5.0, 6.0, -5.0]), torch.tensor([0.4, 0.2, 0.4]))
    assert choice.position == 1


def test_clip_term_is_added_only_when_given():
    logits, weights = torch.zeros(3), torch.tensor([0.3, 0.3, 0.4])
    assert select_keyframe(logits, weights).position == 2
    assert select_keyframe(logits, weights, torch.tensor([0.0, 0.9, 0.1])).position == 1


def test_mismatched_candidate_lengths_raise():
    with pytest.raises(KeyframeSelectionError):
        select_keyframe(torch.zeros(3), torch.zeros(4))
