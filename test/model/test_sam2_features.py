import pytest
import torch
from sam2.sam2_video_predictor import SAM2VideoPredictor

from vrs_hq_ros.model.sam2_builder import build_sam2
from vrs_hq_ros.model.sam2_features import FeatureShapeError, encode_frames, stack_features


@pytest.fixture(scope="module")
def images():
    torch.manual_seed(1)
    return torch.randn(3, 3, 128, 128)


def test_features_equal_the_video_predictors_cached_features(tiny_sam2, sam2_config, images):
    predictor = build_sam2(sam2_config, model_class=SAM2VideoPredictor)
    predictor.load_state_dict(tiny_sam2.state_dict())
    state = {"images": images, "cached_features": {}, "device": torch.device("cpu")}

    ours = encode_frames(tiny_sam2, images)

    for idx in range(3):
        with torch.no_grad():
            _, _, feats, pos, sizes = predictor._get_image_feature(state, idx, 1)
        assert ours[idx].feat_sizes == [tuple(s) for s in sizes]
        for a, b in zip(ours[idx].vision_feats + ours[idx].vision_pos_embeds, feats + pos,
                        strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_high_res_levels_are_projected_by_the_decoder_convs(tiny_sam2, images):
    feats = encode_frames(tiny_sam2, images[:1])[0]
    assert feats.feat_sizes == [(32, 32), (16, 16), (8, 8)]
    # conv_s0 / conv_s1 map to 256/8 and 256/4 channels; the raw FPN levels have 256.
    assert [f.shape for f in feats.vision_feats] == [(1024, 1, 32), (256, 1, 64), (64, 1, 256)]


def test_track_step_consumes_the_features(tiny_sam2, images):
    feats = encode_frames(tiny_sam2, images[:1])[0]
    with torch.no_grad():
        out = tiny_sam2.track_step(
            frame_idx=0, is_init_cond_frame=True, current_vision_feats=feats.vision_feats,
            current_vision_pos_embeds=feats.vision_pos_embeds, feat_sizes=feats.feat_sizes,
            point_inputs=None, mask_inputs=torch.ones(1, 1, 128, 128),
            output_dict={"cond_frame_outputs": {}, "non_cond_frame_outputs": {}}, num_frames=1)
    assert out["pred_masks_high_res"].shape == (1, 1, 128, 128)
    assert out["maskmem_features"].shape == (1, 64, 8, 8)


def test_stacked_features_keep_frame_order(tiny_sam2, images):
    feats = encode_frames(tiny_sam2, images)
    stacked = stack_features(feats)
    assert stacked.vision_feats[-1].shape == (64, 3, 256)
    assert torch.equal(stacked.vision_feats[0][:, 2:3], feats[2].vision_feats[0])


def test_wrong_image_size_is_refused(tiny_sam2):
    with pytest.raises(FeatureShapeError, match="expected images"):
        encode_frames(tiny_sam2, torch.zeros(1, 3, 64, 64))
