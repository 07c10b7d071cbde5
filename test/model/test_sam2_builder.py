from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from sam2.utils.misc import _load_img_as_tensor

from vrs_hq_ros.model.config import ConfigError, SAM2Config
from vrs_hq_ros.model.sam2_builder import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    FrameFormatError,
    SAM2CheckpointError,
    build_sam2,
    preprocess_frame,
)


def test_tiny_sam2_has_the_paper_memory_and_heads(tiny_sam2, sam2_config):
    assert tiny_sam2.num_maskmem == 7
    assert tiny_sam2.pred_obj_scores and tiny_sam2.use_obj_ptrs_in_encoder
    assert tiny_sam2.use_high_res_features_in_sam
    assert tiny_sam2.sam_prompt_embed_dim == 256
    assert tiny_sam2.image_size == sam2_config.image_size
    assert not tiny_sam2.training


def test_preprocess_matches_sam2_video_frame_loading(tmp_path, rng):
    rgb = rng.integers(0, 256, size=(90, 130, 3), dtype=np.uint8)
    path = tmp_path / "frame.png"  # lossless, so both paths see the same pixels
    Image.fromarray(rgb).save(path)
    reference, height, width = _load_img_as_tensor(str(path), 128)
    mean = torch.tensor(IMAGENET_MEAN)[:, None, None]
    std = torch.tensor(IMAGENET_STD)[:, None, None]
    reference = (reference.float() - mean) / std

    ours = preprocess_frame(rgb, 128)

    assert (height, width) == (90, 130)
    assert ours.shape == (3, 128, 128) and ours.dtype == torch.float32
    torch.testing.assert_close(ours, reference, atol=1e-6, rtol=0)


@pytest.mark.parametrize("bad", [
    np.zeros((8, 8, 3), np.float32),
    np.zeros((8, 8), np.uint8),
    np.zeros((8, 8, 4), np.uint8),
    np.zeros((0, 8, 3), np.uint8),
    [[0, 0, 0]],
])
def test_preprocess_rejects_non_rgb_uint8(bad):
    with pytest.raises(FrameFormatError):
        preprocess_frame(bad, 128)


def test_safetensors_checkpoint_restores_every_weight(tmp_path, tiny_sam2, sam2_config):
    path = tmp_path / "sam2.safetensors"
    save_file({k: v.contiguous() for k, v in tiny_sam2.state_dict().items()}, str(path))
    torch.manual_seed(123)  # a different random init, overwritten by the checkpoint
    cfg = SAM2Config.from_dict({**sam2_config.to_dict(), "checkpoint": str(path)})

    loaded = build_sam2(cfg)

    for key, value in tiny_sam2.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_official_pt_checkpoint_layout_loads_with_weights_only(tmp_path, tiny_sam2, sam2_config):
    path = tmp_path / "sam2.pt"
    torch.save({"model": tiny_sam2.state_dict()}, path)
    cfg = SAM2Config.from_dict({**sam2_config.to_dict(), "checkpoint": str(path)})
    loaded = build_sam2(cfg)
    assert torch.equal(loaded.no_mem_embed, tiny_sam2.no_mem_embed)


def test_checkpoint_of_another_architecture_is_refused(tmp_path, tiny_sam2):
    path = tmp_path / "sam2.safetensors"
    save_file({k: v.contiguous() for k, v in tiny_sam2.state_dict().items()}, str(path))
    other = SAM2Config.hiera_tiny(128, checkpoint=str(path))
    with pytest.raises(SAM2CheckpointError, match="does not match"):
        build_sam2(other)


def test_missing_checkpoint_is_a_named_error(tmp_path, sam2_config):
    cfg = SAM2Config.from_dict({**sam2_config.to_dict(), "checkpoint": str(tmp_path / "no.pt")})
    with pytest.raises(SAM2CheckpointError, match="not found"):
        build_sam2(cfg)


def test_config_round_trips_and_validates():
    cfg = SAM2Config.hiera_large(512, version="2.0")
    assert SAM2Config.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError):
        SAM2Config(image_size=100)
    with pytest.raises(ConfigError):
        SAM2Config.from_dict({"image_sise": 256})
    with pytest.raises(ConfigError, match="query-pooling"):
        SAM2Config(stages=(1, 1, 1, 1), global_att_blocks=(3,))


def test_padded_preprocessing_keeps_the_aspect_ratio_and_pads_with_zeros():
    import numpy as np

    from vrs_hq_ros.model.sam2_builder import letterbox_shape, preprocess_frame_padded

    rgb = np.full((60, 120, 3), 200, dtype=np.uint8)
    assert letterbox_shape(60, 120, 128) == (64, 128)
    image = preprocess_frame_padded(rgb, 128)
    assert image.shape == (3, 128, 128)
    assert torch.all(image[:, 64:] == 0) and torch.all(image[:, :64] > 0)


def test_unpadding_crops_before_resizing():
    from vrs_hq_ros.model.sam2_builder import unpad_mask_logits

    logits = torch.full((128, 128), -10.0)
    logits[:64, 64:] = 10.0  # right half of the content area (content is 64 x 128)
    mask = unpad_mask_logits(logits, 60, 120) > 0
    assert mask.shape == (60, 120)
    assert mask[:, 64:].all() and not mask[:, :56].any()
    assert unpad_mask_logits(torch.stack([logits, -logits]), 60, 120).shape == (2, 60, 120)


@pytest.mark.parametrize("pointers", [True, False])
def test_object_pointers_can_be_kept_out_of_memory_attention(sam2_config, rng, pointers):
    from vrs_hq_ros.model.keyframe_propagation import propagate_from_mask
    from vrs_hq_ros.model.sam2_features import encode_frames

    torch.manual_seed(0)
    sam2 = build_sam2(replace(sam2_config, use_obj_ptrs_in_encoder=pointers))
    reference = build_sam2(sam2_config)
    calls: list[int] = []
    sam2.memory_attention.register_forward_hook(
        lambda _m, _a, kwargs, _o: calls.append(kwargs["num_obj_ptr_tokens"]), with_kwargs=True)
    size = sam2_config.image_size
    images = torch.from_numpy(rng.random((3, 3, size, size), dtype=np.float32))
    mask = torch.zeros(size, size)
    mask[8:24, 8:24] = 1
    with torch.no_grad():
        clip = propagate_from_mask(sam2, encode_frames(sam2, images), 0, mask)

    assert clip.mask_logits.shape == (3, size, size) and torch.isfinite(clip.mask_logits).all()
    assert calls and all((n > 0) == pointers for n in calls)
    assert set(sam2.state_dict()) == set(reference.state_dict())  # same weights either way


def test_conv_trunk_feeds_sam2_the_levels_hiera_does(sam2_config, rng):
    """The conv trunk (tiny from-scratch models) gives the same feature layout as Hiera."""
    from vrs_hq_ros.model.conv_trunk import ConvTrunk
    from vrs_hq_ros.model.keyframe_propagation import propagate_from_mask
    from vrs_hq_ros.model.sam2_features import encode_frames

    torch.manual_seed(0)
    hiera = build_sam2(sam2_config)
    conv = build_sam2(replace(sam2_config, trunk="conv"))
    assert isinstance(conv.image_encoder.trunk, ConvTrunk)
    assert conv.image_encoder.trunk.channel_list == hiera.image_encoder.trunk.channel_list
    size = sam2_config.image_size
    images = torch.from_numpy(rng.random((2, 3, size, size), dtype=np.float32))
    with torch.no_grad():
        ours, theirs = encode_frames(conv, images), encode_frames(hiera, images)
        mask = torch.zeros(size, size)
        mask[8:24, 8:24] = 1
        clip = propagate_from_mask(conv, ours, 0, mask)
    assert ours[0].feat_sizes == theirs[0].feat_sizes
    assert [f.shape for f in ours[0].vision_feats] == [f.shape for f in theirs[0].vision_feats]
    assert clip.mask_logits.shape == (2, size, size) and torch.isfinite(clip.mask_logits).all()
    # Only the trunk differs: every other weight has the same name and shape.
    rest = {k: v.shape for k, v in hiera.state_dict().items() if ".trunk." not in k}
    assert rest == {k: v.shape for k, v in conv.state_dict().items() if ".trunk." not in k}


def test_conv_trunk_config_round_trips_and_unknown_trunks_are_refused():
    cfg = SAM2Config.tiny_random(128)
    conv = replace(cfg, trunk="conv")
    assert SAM2Config.from_dict(conv.to_dict()).trunk == "conv"
    assert SAM2Config.from_dict({k: v for k, v in cfg.to_dict().items()
                                 if k != "trunk"}).trunk == "hiera"  # configs saved before
    with pytest.raises(ConfigError, match="trunk"):
        SAM2Config(trunk="resnet")
