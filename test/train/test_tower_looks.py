"""The ``tower`` stage: dense look labels per patch, the tower learns them, then stays fixed."""

import numpy as np
import pytest
import torch

from vrs_hq_ros.train.look_maps import ATTRIBUTES
from vrs_hq_ros.train.run_config import RunConfig, RunConfigError
from vrs_hq_ros.train.synthetic_scenes import make_scene
from vrs_hq_ros.train.tower_looks import (
    IGNORE,
    MOTION_SCALE,
    TowerLookHeads,
    patch_attribute_labels,
    patch_motion_targets,
    tower_batch,
    tower_look_accuracy,
    tower_look_loss,
)
from vrs_hq_ros.train.trainer import build_model, latest_checkpoint, train
from vrs_hq_ros.train.training_run import TOWER_HEADS_FILE


def test_each_patch_is_labelled_with_the_look_of_the_object_covering_it():
    scene = make_scene(3, num_frames=2, size=96, num_objects=1, motions=("still",),
                       occluder=False)
    obj = scene.objects[0]
    grid = 6  # 16 px patches
    maps = patch_attribute_labels(scene, [0, 1], grid)
    cx, cy = (obj.centres_xy[0] // 16).astype(int)
    for name, values in ATTRIBUTES.items():
        assert maps[name].shape == (2, grid, grid)
        assert maps[name][0, cy, cx] == values.index(getattr(obj, name)) + 1
    far_x, far_y = (grid - 1 if cx < grid // 2 else 0), (grid - 1 if cy < grid // 2 else 0)
    assert all(maps[name][0, far_y, far_x] == 0 for name in ATTRIBUTES)
    ignored = [maps[name] == IGNORE for name in ATTRIBUTES]
    assert all(np.array_equal(ignored[0], other) for other in ignored)  # one mask for all


def test_a_patch_grazed_by_an_object_is_left_out():
    scene = make_scene(3, num_frames=2, size=96, num_objects=1, motions=("still",),
                       occluder=False)
    labels = scene.labels.copy()
    labels[:] = 0
    labels[:, 0:3, 0:3] = 1  # 9 of a 16x16 patch's 256 pixels: between EMPTY and OWNED
    grazed = type(scene)(scene.frames, labels, scene.objects, None, scene.background)
    maps = patch_attribute_labels(grazed, [0], 6)
    assert maps["shape"][0, 0, 0] == IGNORE
    assert (maps["shape"][0] == 0).sum() == 35


def test_the_tower_loss_teaches_the_patch_tokens_the_looks(tiny_run_config):
    model, _ = build_model(tiny_run_config)
    backbone = model.backbone
    heads = TowerLookHeads.seeded(backbone.llava.config.vision_config.hidden_size)
    rng = np.random.default_rng(0)
    held_out = tower_batch(backbone, [make_scene(10_000 + i, 4, 64) for i in range(6)], rng, 2)
    before = tower_look_accuracy(backbone, heads, held_out)
    params = list(backbone.llava.model.vision_tower.parameters()) + list(heads.parameters())
    optimizer = torch.optim.AdamW(params, lr=3e-3)
    losses = []
    for step in range(60):
        batch = tower_batch(backbone, [make_scene(step * 8 + j, 4, 64) for j in range(8)],
                            rng, 2)
        loss = tower_look_loss(backbone, heads, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    after = tower_look_accuracy(backbone, heads, held_out)
    assert np.mean(losses[-10:]) < 0.7 * np.mean(losses[:10])
    assert after["colour"] > max(0.5, before["colour"] + 0.2), (before, after)


def _tower_then_words(tiny_run_config) -> RunConfig:
    raw = tiny_run_config.to_dict()
    raw["stages"] = [{"name": "tower", "steps": 2, "lr": 1e-3, "scenes_per_step": 2},
                     {"name": "words", "steps": 2, "lr": 1e-3, "distill_weight": 1.0,
                      "contrast_weight": 1.0, "scenes_per_step": 2, "sentences_per_scene": 2,
                      "reasoning_share": 0.5, "train_tower": False}]
    raw["checkpoint_every"] = 1
    return RunConfig.from_dict(raw)


def test_a_tower_stage_trains_the_tower_alone_and_a_later_stage_can_keep_it(tmp_path,
                                                                           tiny_run_config):
    config = _tower_then_words(tiny_run_config)
    start, _ = build_model(config)
    after_tower = train(RunConfig.from_dict({**config.to_dict(), "stages": [
        config.stages[0].__dict__]}), tmp_path / "tower", log=lambda _: None).model
    run = train(config, tmp_path / "both", log=lambda _: None)
    assert (latest_checkpoint(tmp_path / "both") / TOWER_HEADS_FILE).is_file()
    start_state, tower_state = start.state_dict(), after_tower.state_dict()
    for name, value in run.model.state_dict().items():
        if ".vision_tower." in name:  # trained by tower, kept by words
            assert torch.equal(value, tower_state[name]), name
        elif name.startswith("sam2."):  # neither stage trains SAM2
            assert torch.equal(value, start_state[name]), name
    changed_tower = [n for n in tower_state if ".vision_tower." in n
                     and not torch.equal(tower_state[n], start_state[n])]
    changed_llm = [n for n in tower_state if ".language_model." in n
                   and not torch.equal(run.model.state_dict()[n], tower_state[n])]
    assert changed_tower and changed_llm
    assert all(torch.equal(tower_state[n], start_state[n]) for n in tower_state
               if ".language_model." in n)  # tower trains nothing else


@pytest.mark.parametrize("stage, message", [
    ({"name": "segment", "steps": 1, "lr": 1e-3, "train_tower": False}, "train_tower"),
    ({"name": "track", "steps": 1, "lr": 1e-3, "scenes_per_step": 2}, "scenes_per_step"),
])
def test_tower_options_are_checked(tiny_run_config, stage, message):
    raw = tiny_run_config.to_dict()
    raw["stages"] = [stage]
    with pytest.raises(RunConfigError, match=message):
        RunConfig.from_dict(raw)


def test_motion_targets_give_the_owners_place_and_its_step_to_the_next_read_frame():
    scene = make_scene(5, num_frames=9, size=96, num_objects=1, motions=("moving",),
                       occluder=False)
    obj = scene.objects[0]
    indices = [0, 4, 8]
    owners = patch_attribute_labels(scene, indices, 6)["owner"]
    targets = patch_motion_targets(scene, indices, owners)
    assert targets.shape == (3, 6, 6, 3)
    assert np.isnan(targets[owners == 0]).all()
    frame = int(np.argmax((owners > 0).reshape(3, -1).any(1)))  # a frame where it owns a patch
    cell = targets[frame][owners[frame] > 0][0]
    np.testing.assert_allclose(cell[:2], np.clip(obj.centres_xy[indices[frame]] / 96, 0, 1))
    step = np.linalg.norm(np.diff(obj.centres_xy[indices], axis=0), axis=1)
    expected = np.append(step, step[-1])[frame] / 96 * 100 / MOTION_SCALE
    assert cell[2] == pytest.approx(expected)
    assert expected > 0
