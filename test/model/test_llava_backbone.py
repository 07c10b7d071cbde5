import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vrs_hq_ros.model.backbone import BackboneError
from vrs_hq_ros.model.config import LlavaBackboneConfig
from vrs_hq_ros.model.llava_backbone import LlavaBackbone
from vrs_hq_ros.model.prompt import IGNORE_INDEX


@pytest.fixture(scope="module")
def backbone():
    torch.manual_seed(0)
    return LlavaBackbone.build(LlavaBackboneConfig()).eval()


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(5)
    return [rng.integers(0, 256, (30, 40, 3), dtype=np.uint8) for _ in range(4)]


def test_one_hidden_state_per_frame_and_one_for_the_clip(backbone, frames):
    out = backbone(frames, "the boy in red")
    assert out.seg_hidden.shape == (4, backbone.hidden_size)
    assert out.tak_hidden.shape == (backbone.hidden_size,)
    assert out.lm_loss is None


@torch.no_grad()
def test_states_are_read_from_the_last_layer_before_each_token(backbone, frames):
    tokens = backbone.encode_prompt(len(frames), "the boy in red")
    pixels = backbone.preprocess_frames(frames)
    full = backbone.llava(input_ids=tokens.input_ids[None], pixel_values=pixels,
                          output_hidden_states=True).hidden_states[-1][0]
    out = backbone.forward_tokens(pixels, tokens)
    torch.testing.assert_close(out.seg_hidden, full[tokens.seg_positions - 1])
    torch.testing.assert_close(out.tak_hidden, full[tokens.tak_position - 1])


@torch.no_grad()
def test_text_loss_is_cross_entropy_over_the_answer(backbone, frames):
    tokens = backbone.encode_prompt(len(frames), "the boy in red")
    pixels = backbone.preprocess_frames(frames)
    logits = backbone.llava(input_ids=tokens.input_ids[None], pixel_values=pixels).logits[0]
    expected = F.cross_entropy(logits[:-1], tokens.labels[1:], ignore_index=IGNORE_INDEX)
    out = backbone.forward_tokens(pixels, tokens, with_lm_loss=True)
    torch.testing.assert_close(out.lm_loss, expected, atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_frames_and_sentence_both_reach_the_tokens(backbone, frames):
    base = backbone(frames, "the boy in red")
    other_frames = backbone([255 - f for f in frames], "the boy in red")
    other_text = backbone(frames, "a green car")
    assert not torch.allclose(base.seg_hidden, other_frames.seg_hidden)
    assert not torch.allclose(base.tak_hidden, other_text.tak_hidden)


def test_frames_are_resized_and_normalised_for_the_vision_tower(backbone, frames):
    pixels = backbone.preprocess_frames(frames)
    assert pixels.shape == (4, 3, 32, 32)
    black = backbone.preprocess_frames([np.zeros((10, 10, 3), np.uint8)])
    expected = -torch.tensor(backbone.cfg.image_mean) / torch.tensor(backbone.cfg.image_std)
    torch.testing.assert_close(black[0, :, 0, 0], expected)


def test_save_and_load_keep_architecture_and_tokenizer(backbone, tmp_path):
    backbone.save(tmp_path)
    loaded = LlavaBackbone.load(backbone.cfg, tmp_path)
    assert loaded.hidden_size == backbone.hidden_size
    assert loaded.tokens_per_image == backbone.tokens_per_image
    text = "(0) [SEG], (1) [TAK] <image>"
    assert loaded.tokenizer(text)["input_ids"] == backbone.tokenizer(text)["input_ids"]


def test_missing_pretrained_folder_raises(tmp_path):
    with pytest.raises(BackboneError, match="not found"):
        LlavaBackbone.build(LlavaBackboneConfig(pretrained_dir=str(tmp_path / "none")))
    with pytest.raises(BackboneError):
        LlavaBackbone.load(LlavaBackboneConfig(), tmp_path)


def test_frame_pairs_show_each_token_the_motion_to_the_next_frame(frames):
    from vrs_hq_ros.model.llava_backbone import with_frame_differences

    torch.manual_seed(0)
    paired = LlavaBackbone.build(LlavaBackboneConfig(vision_frame_pairs=True)).eval()
    pixels = paired.preprocess_frames(frames)
    assert pixels.shape[1] == 6
    torch.testing.assert_close(pixels[1, 3:], pixels[2, :3] - pixels[1, :3])
    torch.testing.assert_close(pixels[3, 3:], pixels[3, :3] - pixels[2, :3])  # last: backward
    assert with_frame_differences(pixels[:1, :3])[0, 3:].abs().sum() == 0  # one frame: none
    still = paired([frames[0]] * 3, "the red one").tak_hidden
    moving = paired([frames[0], frames[1], frames[0]], "the red one").tak_hidden
    assert not torch.allclose(still, moving)


def test_sincos_positions_make_the_column_linearly_readable():
    torch.manual_seed(0)
    cfg = LlavaBackboneConfig(vision_sincos_positions=True, vision_hidden_size=32)
    table = LlavaBackbone.build(cfg).llava.model.vision_tower.embeddings.position_embedding
    grid = cfg.vision_image_size // cfg.vision_patch_size
    rows = table.weight[1:].detach()  # row 0: the CLS token
    column = torch.arange(grid).repeat(grid).float()
    fit = torch.linalg.lstsq(torch.cat([rows, torch.ones(len(rows), 1)], 1), column[:, None])
    residual = (torch.cat([rows, torch.ones(len(rows), 1)], 1) @ fit.solution)[:, 0] - column
    assert residual.abs().max() < 0.05


@torch.no_grad()
def test_image_token_norm_scales_visual_tokens_to_the_word_embeddings(tmp_path, frames):
    torch.manual_seed(0)
    cfg = LlavaBackboneConfig(image_token_norm=True, text_initializer_range=64 ** -0.5)
    normed = LlavaBackbone.build(cfg).eval()
    pixels = normed.preprocess_frames(frames)

    def visual_tokens(model):
        tower = model.llava.model.vision_tower(pixels, output_hidden_states=True)
        return model.llava.model.multi_modal_projector(tower.hidden_states[-2][:, 1:])

    tokens = visual_tokens(normed)
    assert tokens.norm(dim=-1).mean() == pytest.approx(1.0, rel=1e-3)  # sqrt(64) * 64 ** -0.5
    torch.testing.assert_close(tokens.mean(-1), torch.zeros_like(tokens.mean(-1)), atol=1e-5,
                               rtol=0)
    normed.save(tmp_path)  # the switch is the config's: a reloaded backbone normalises too
    reloaded = LlavaBackbone.load(cfg, tmp_path)
    reloaded.load_state_dict(normed.state_dict())
    torch.testing.assert_close(visual_tokens(reloaded.eval()), tokens)
    plain = LlavaBackbone.load(LlavaBackboneConfig(text_initializer_range=64 ** -0.5), tmp_path)
    plain.load_state_dict(normed.state_dict())
    assert not torch.allclose(visual_tokens(plain.eval()), tokens)


@torch.no_grad()
def test_frame_times_tell_each_token_its_place_in_the_window(tmp_path, frames):
    torch.manual_seed(0)
    cfg = LlavaBackboneConfig(vision_frame_times=True)
    timed = LlavaBackbone.build(cfg).eval()
    torch.manual_seed(0)
    plain = LlavaBackbone.build(LlavaBackboneConfig()).eval()
    plain_state = {k: v for k, v in timed.state_dict().items() if not k.startswith("frame_times")}
    plain.load_state_dict(plain_state)
    # zero-initialised: the same answer as without the option
    torch.testing.assert_close(timed(frames, "the red one").tak_hidden,
                               plain(frames, "the red one").tak_hidden)
    torch.nn.init.normal_(timed.frame_times.proj.weight, std=0.5)
    first_last = timed.frame_times(torch.tensor([0.0, 1.0]))
    assert (first_last[0] - first_last[1]).norm() > 0.1
    # each frame's visual tokens carry its place: the projector's output moves by the map
    patches = torch.randn(3, timed.tokens_per_image, timed.cfg.vision_hidden_size)
    projector = timed.llava.model.multi_modal_projector
    timed._set_window_times([3])
    shifted = projector(patches)
    expected = timed.frame_times(torch.tensor([0.0, 0.5, 1.0]))
    plain_projector = plain.llava.model.multi_modal_projector
    torch.testing.assert_close(shifted - plain_projector(patches), expected[:, None].expand_as(
        shifted), atol=1e-5, rtol=1e-5)
    timed._set_window_times([2])
    with pytest.raises(BackboneError, match="frame times"):
        projector(patches)  # a pass whose frame count does not match
    # batched and single passes agree, windows of different lengths side by side
    tokens = [timed.encode_prompt(4, "the red one", 0, 0), timed.encode_prompt(2, "a", 0, 0)]
    pixels = [timed.preprocess_frames(frames), timed.preprocess_frames(frames[:2])]
    batched = timed.forward_tokens_batch(pixels, tokens)
    for p, t, out in zip(pixels, tokens, batched, strict=True):
        torch.testing.assert_close(out.tak_hidden, timed.forward_tokens(p, t).tak_hidden,
                                   atol=1e-5, rtol=1e-5)
