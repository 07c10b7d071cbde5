"""The isolation probe's tokens say what the scene holds, and its model learns from them."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import torch

SPEC = importlib.util.spec_from_file_location(
    "select_probe", Path(__file__).resolve().parents[2] / "benchmarks" / "select_probe.py")
probe = importlib.util.module_from_spec(SPEC)
sys.modules["select_probe"] = probe  # dataclasses look their module up there
SPEC.loader.exec_module(probe)


def test_clean_tokens_are_one_per_visible_object_and_frame():
    scene = probe.summarise(3)
    opts = probe.ProbeOptions(speed=True)
    tokens, owner = probe.window_tokens(scene, opts, np.random.default_rng(0))
    assert tokens.shape == (len(owner), opts.num_features)
    places = tokens[:, probe.LOOK_DIM + 3]
    assert 8 <= len(np.unique(places)) <= 12  # T' frames, each with a visible object here
    for place in np.unique(places):  # no object twice in a frame
        in_frame = owner[places == place]
        assert len(in_frame) == len(set(in_frame.tolist())) <= len(scene.looks)
    for k in np.unique(owner):  # an object's look is its own, exactly
        np.testing.assert_array_equal(tokens[owner == k, :probe.LOOK_DIM],
                                      np.broadcast_to(scene.looks[k],
                                                      ((owner == k).sum(), probe.LOOK_DIM)))
    np.testing.assert_allclose(tokens[:, -2], np.linalg.norm(tokens[:, -4:-2], axis=1),
                               rtol=1e-5)


def test_noisy_tokens_add_background_and_split_objects():
    scene = probe.summarise(3)
    opts = probe.ProbeOptions(noisy=True)
    tokens, owner = probe.window_tokens(scene, opts, np.random.default_rng(0))
    frames = len(np.unique(tokens[:, probe.LOOK_DIM + 3]))
    assert (owner == -1).sum() == opts.background_tokens * frames
    assert np.all(tokens[owner == -1, :probe.LOOK_DIM] == 0)
    assert np.all(tokens[owner >= 0, -1] == 1) and np.all(tokens[owner == -1, -1] == 0)
    places = tokens[:, probe.LOOK_DIM + 3]
    pieces = [(owner[places == p] == k).sum()
              for p in np.unique(places) for k in np.unique(owner[owner >= 0])]
    assert max(pieces) <= 4 and max(pieces) >= 2  # large objects cover several patches


def test_training_steps_lower_both_terms_on_a_fixed_batch():
    torch.manual_seed(0)
    opts = probe.ProbeOptions(speed=True)
    vocab = probe.Vocabulary()
    scenes = [probe.summarise(k) for k in range(12)]
    batch = probe.draw_samples(scenes, 16, opts, vocab, np.random.default_rng(1))
    model = probe.SelectProbe(opts.num_features, len(vocab))
    optim = torch.optim.AdamW(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(40):
        answer, attend = probe.probe_losses(model, batch)
        losses.append((answer.item(), attend.item()))
        optim.zero_grad()
        (answer + attend).backward()
        optim.step()
    assert losses[-1][0] < 0.5 * losses[0][0]
    assert losses[-1][1] < 0.5 * losses[0][1]
