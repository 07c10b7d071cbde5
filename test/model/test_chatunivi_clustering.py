import pytest
import torch

from vrs_hq_ros.model.chatunivi_clustering import (
    ClusterStep,
    cluster_frame_tokens,
    dpc_knn,
    merge_clusters,
    official_steps,
    tokens_per_frame,
)


def test_official_steps_give_112_tokens_from_256_patches():
    assert tokens_per_frame(official_steps(), 256) == 112
    x = torch.randn(2, 256, 8)
    assert cluster_frame_tokens(x, official_steps()).shape == (2, 112, 8)


def test_well_separated_groups_become_their_means():
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = torch.cat([c + 0.1 * torch.randn(6, 2) for c in centers])[None]
    assign = dpc_knn(points, 3, k=3)
    groups = assign[0].reshape(3, 6)
    assert all(len(set(g.tolist())) == 1 for g in groups)
    merged = merge_clusters(points, assign, 3)[0]
    for g in range(3):
        expected = points[0, 6 * g:6 * g + 6].sum(0) / (6 + 1e-6)
        assert torch.allclose(merged[groups[g, 0]], expected, atol=1e-6)


def test_each_center_keeps_its_own_cluster():
    x = torch.randn(1, 40, 4)
    assign = dpc_knn(x, 10, k=5)
    assert sorted(set(assign[0].tolist())) == list(range(10))


@pytest.mark.parametrize("rate,num,expected", [(64, 256, 64), (0.0625, 16, 1), (0.5, 9, 5)])
def test_cluster_count_rule(rate, num, expected):
    assert ClusterStep(rate=rate, k=5).cluster_num(num) == expected


def test_k_shrinks_when_larger_than_the_cluster_count():
    assert ClusterStep(rate=2, k=5).effective_k(2) == 1
    assert ClusterStep(rate=64, k=5).effective_k(64) == 5
