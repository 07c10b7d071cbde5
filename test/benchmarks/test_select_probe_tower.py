"""The real-token probe merges patches into objects or clusters and keeps who owns them."""

import importlib.util
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[2] / "benchmarks"
SPEC = importlib.util.spec_from_file_location("select_probe_tower", HERE / "select_probe_tower.py")
tower_probe = importlib.util.module_from_spec(SPEC)
sys.modules["select_probe_tower"] = tower_probe
SPEC.loader.exec_module(tower_probe)


def _frames():
    rng = np.random.default_rng(0)
    owner = np.full((2, 9), -1)
    owner[0, [1, 2]] = 0
    owner[0, [6]] = 1
    owner[1, [4, 5, 7]] = 0
    tokens = rng.normal(size=(18, 5)).astype(np.float32)
    tokens[owner.reshape(-1) == 0, :4] += 10  # object 0's patches look alike
    return tokens, owner.reshape(-1)


def test_pooling_gives_each_object_the_mean_of_its_patches_per_frame():
    tokens, owner = _frames()
    pooled, owners = tower_probe._pooled(tokens, owner, 2)
    assert owners.tolist() == [0, 1, 0]
    np.testing.assert_allclose(pooled[0], tokens[[1, 2]].mean(0), rtol=1e-6)
    np.testing.assert_allclose(pooled[2], tokens[[13, 14, 16]].mean(0), rtol=1e-6)


def test_clusters_belong_to_the_owner_of_most_of_their_patches():
    tokens, owner = _frames()
    merged, owners = tower_probe._clustered(tokens, owner, 2, 4)
    assert merged.shape == (8, 5) and owners.shape == (8,)
    assert 0 in owners[:4] and 0 in owners[4:]  # object 0 stands out in both frames
    assert set(owners.tolist()) <= {-1, 0, 1}


def test_grouping_by_predicted_looks_merges_patches_of_one_look_and_drops_background():
    tokens, owner = _frames()
    key = np.zeros((18, 3), int)
    key[[1, 2, 13, 14, 16]] = (3, 1, 1)  # object 0's patches: one predicted look
    key[6] = (5, 2, 1)  # object 1's
    key[3] = (3, 1, 1)  # a background patch the heads mistake for object 0
    grouped, owners = tower_probe._grouped(tokens, owner, 2, key)
    assert owners.tolist() == [0, 1, 0]
    np.testing.assert_allclose(grouped[0], tokens[[1, 2, 3]].mean(0), rtol=1e-6)
    np.testing.assert_allclose(grouped[1], tokens[6], rtol=1e-6)
