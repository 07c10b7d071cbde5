import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from vrs_hq_ros.model.clip_anchor import ClipAnchor, ClipModelError
from vrs_hq_ros.model.config import ClipAnchorConfig
from vrs_hq_ros.model.sam2_builder import FrameFormatError


@pytest.fixture(scope="module")
def anchor():
    torch.manual_seed(0)
    return ClipAnchor(ClipAnchorConfig.tiny_random())


def test_probabilities_are_a_distribution_over_frames(anchor, rng):
    frames = [rng.integers(0, 256, (40, 60, 3), dtype=np.uint8) for _ in range(7)]
    probs = anchor.frame_probabilities(frames, "a person riding a bike")
    assert probs.shape == (7,)
    assert float(probs.sum()) == pytest.approx(1.0, abs=1e-5)
    assert float(probs.std()) > 0


def test_identical_frames_are_equally_likely(anchor, rng):
    frame = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    probs = anchor.frame_probabilities([frame] * 4, "a cat")
    torch.testing.assert_close(probs, torch.full((4,), 0.25))


def test_preprocessing_follows_the_model_image_size_and_openai_stats(anchor):
    white = np.full((50, 70, 3), 255, np.uint8)
    from PIL import Image

    pixels = anchor.preprocess(Image.fromarray(white))
    assert pixels.shape == (3, 32, 32)
    expected = (1 - torch.tensor([0.48145466, 0.4578275, 0.40821073])) / torch.tensor(
        [0.26862954, 0.26130258, 0.27577711])
    torch.testing.assert_close(pixels[:, 0, 0], expected, atol=1e-5, rtol=0)


def test_local_checkpoint_restores_the_scores(anchor, rng, tmp_path):
    frames = [rng.integers(0, 256, (40, 60, 3), dtype=np.uint8) for _ in range(3)]
    path = tmp_path / "clip.safetensors"
    save_file({k: v.contiguous() for k, v in anchor.clip.state_dict().items()}, str(path))
    cfg = ClipAnchorConfig.tiny_random()
    cfg.checkpoint = str(path)
    torch.manual_seed(99)
    loaded = ClipAnchor(cfg)
    torch.testing.assert_close(loaded.frame_logits(frames, "a dog"),
                               anchor.frame_logits(frames, "a dog"))


def test_unknown_model_and_missing_checkpoint_raise(tmp_path):
    with pytest.raises(ClipModelError, match="unknown"):
        ClipAnchor(ClipAnchorConfig(model_name="no-such-clip"))
    cfg = ClipAnchorConfig.tiny_random()
    cfg.checkpoint = str(tmp_path / "missing.safetensors")
    with pytest.raises(ClipModelError, match="not found"):
        ClipAnchor(cfg)


def test_bad_frames_raise(anchor):
    with pytest.raises(FrameFormatError):
        anchor.frame_probabilities([np.zeros((8, 8), np.uint8)], "a cat")
