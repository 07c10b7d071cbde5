"""Dense look supervision of SAM2's image features (the ``segment`` stage's look_map term)."""

import json

import numpy as np
import pytest
import torch

from vrs_hq_ros.model.sam2_features import SAM2FrameFeatures
from vrs_hq_ros.train.look_maps import ATTRIBUTES, LookMaps, attribute_maps
from vrs_hq_ros.train.run_config import RunConfig, RunConfigError
from vrs_hq_ros.train.synthetic_scenes import make_scene
from vrs_hq_ros.train.trainer import build_model, latest_checkpoint, train
from vrs_hq_ros.train.training_run import LOOK_MAPS_FILE


def test_attribute_maps_name_the_object_owning_each_pixel():
    scene = make_scene(5, num_frames=4, size=64, num_objects=3)
    maps = attribute_maps(scene, [0, 3])
    for k, obj in enumerate(scene.objects):
        for name, values in ATTRIBUTES.items():
            owned = maps[name][scene.labels[[0, 3]] == k + 1]
            assert (owned == values.index(getattr(obj, name)) + 1).all()
    assert all((m[scene.labels[[0, 3]] == 0] == 0).all() for m in maps.values())


def _oracle_features(scene, indices, maps: LookMaps) -> list[SAM2FrameFeatures]:
    """Features whose channels are one-hot attribute classes at the heads' cell centres."""
    truth = attribute_maps(scene, indices)
    size = scene.labels.shape[-1]
    frames = []
    for f in range(len(indices)):
        feats, sizes = [], []
        for level, head in enumerate(maps.heads):
            cells = size // (4 * 2 ** level)
            centres = (np.arange(cells) * (size / cells) + size / cells / 2).astype(int)
            onehot = torch.zeros(head.in_channels, cells, cells)
            start = 0
            for values, classes in zip(truth.values(), maps.classes, strict=True):
                labels = torch.as_tensor(values[f][centres][:, centres], dtype=torch.long)
                onehot[start:start + classes] = torch.nn.functional.one_hot(
                    labels, classes).permute(2, 0, 1).float()
                start += classes
            feats.append(onehot.flatten(1).T[:, None])  # [HW, 1, C]
            sizes.append((cells, cells))
        frames.append(SAM2FrameFeatures(feats, [torch.zeros_like(x) for x in feats], sizes))
    return frames


def test_look_map_loss_is_near_zero_for_features_that_spell_out_the_looks():
    scene = make_scene(2, num_frames=3, size=64, num_objects=3)
    maps = LookMaps()
    total = sum(maps.classes)
    with torch.no_grad():
        for head in maps.heads:  # identity on the one-hot channels, large logits
            head.weight.zero_()
            head.bias.zero_()
            head.weight[:total, :total, 0, 0] = 20 * torch.eye(total)
        good = maps.loss(_oracle_features(scene, [0, 2], maps), scene, [0, 2])
        shuffled = maps.loss(_oracle_features(scene, [0, 2], maps), scene, [2, 0])
    assert good < 1e-3
    assert shuffled > good + 1  # the labels follow the frames they are given


@pytest.mark.parametrize("trunk", ["hiera", "conv"])
def test_look_map_loss_reaches_the_image_encoder(tiny_run_config, trunk):
    data = tiny_run_config.to_dict()
    data["model"]["sam2_trunk"] = trunk
    model, _ = build_model(RunConfig.from_dict(data))
    model.train()
    scene = make_scene(1, num_frames=3, size=64, num_objects=2)
    loss = LookMaps().loss(model.encode_frames(list(scene.frames[:2])), scene, [0, 1])
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    grads = [p.grad for p in model.sam2.image_encoder.trunk.parameters() if p.grad is not None]
    assert grads and sum(g.abs().sum() for g in grads) > 0


def _segment_config(tiny_run_config, weight: float) -> RunConfig:
    data = tiny_run_config.to_dict()
    data["stages"] = [{"name": "segment", "steps": 3, "lr": 1e-2, "look_map_weight": weight}]
    return RunConfig.from_dict(data)


def test_a_segment_stage_trains_and_checkpoints_the_look_maps(tmp_path, tiny_run_config):
    logged, changed = {}, {}
    for weight in (0.0, 1.0):
        fresh = LookMaps.seeded()
        run = train(_segment_config(tiny_run_config, weight), tmp_path / str(weight),
                    log=lambda _: None)
        rows = [json.loads(line) for line in (tmp_path / str(weight) / "train_log.jsonl").open()]
        logged[weight] = all(r["look_map"] > 0 for r in rows)
        after = run.look_maps.state_dict()
        changed[weight] = any(not torch.equal(v, after[k]) for k, v in fresh.state_dict().items())
        assert (latest_checkpoint(tmp_path / str(weight)) / LOOK_MAPS_FILE).is_file()
    assert logged == {0.0: False, 1.0: True}
    assert changed == {0.0: False, 1.0: True}


def test_a_resumed_segment_stage_continues_with_its_look_maps(tmp_path, tiny_run_config):
    config = _segment_config(tiny_run_config, 1.0)
    whole = train(config, tmp_path / "whole", log=lambda _: None)
    train(config, tmp_path / "split", log=lambda _: None, stop_after=2)
    split = train(config, tmp_path / "split", log=lambda _: None)
    for key, value in whole.look_maps.state_dict().items():
        torch.testing.assert_close(split.look_maps.state_dict()[key], value, atol=2e-4, rtol=0)


def test_look_map_weight_is_checked():
    with pytest.raises(RunConfigError, match="segment only"):
        RunConfig.from_dict({"stages": [{"name": "words", "steps": 1, "lr": 1e-3,
                                         "look_map_weight": 1.0}]})
    with pytest.raises(RunConfigError, match="look_map_weight"):
        RunConfig.from_dict({"stages": [{"name": "segment", "steps": 1, "lr": 1e-3,
                                         "look_map_weight": -1.0}]})
