"""Teaching [TAK] where to look: target token positions, attention rows, the attend term."""

from functools import partial

import numpy as np
import pytest
import torch

from vrs_hq_ros.train.run_config import RunConfig, RunConfigError
from vrs_hq_ros.train.tower_looks import OWNED
from vrs_hq_ros.train.trainer import build_model, draw_scene, train
from vrs_hq_ros.train.words_batch import (
    AttendSupervision,
    WordsDraw,
    attend_loss,
    draw_words_samples,
    target_token_positions,
    words_batch_losses,
)


def _samples(config, model, seeds=(0, 1, 2, 3)):
    draw = WordsDraw(scenes=len(seeds), sentences_per_scene=2, reasoning_share=0.5,
                     referring_window_share=1.0, short_prompt_share=0.0, sampled_min=4,
                     sampled_max=5, named_teacher=False)
    return draw_words_samples(model.backbone, draw, list(seeds), partial(draw_scene, config))


def test_target_tokens_are_the_patches_the_target_owns_in_each_frame_read(tiny_run_config):
    model, _ = build_model(tiny_run_config)
    backbone = model.backbone
    grid = backbone.cfg.vision_image_size // backbone.cfg.vision_patch_size
    scene, _ = draw_scene(tiny_run_config, 0)
    indices = [0, 3, 6]
    tokens = backbone.encode_prompt(len(indices), "the red circle", 0, 0)
    step = scene.labels.shape[1] // grid
    for index in range(len(scene.objects)):
        positions = set(target_token_positions(backbone, scene, indices, tokens, index).tolist())
        expected = set()
        for frame, t in enumerate(indices):
            start = tokens.image_token_spans[frame][0]
            for row in range(grid):
                for col in range(grid):
                    patch = scene.labels[t, row * step:(row + 1) * step,
                                         col * step:(col + 1) * step]
                    shares = [(patch == k + 1).mean() for k in range(len(scene.objects))]
                    if shares[index] >= OWNED and int(np.argmax(shares)) == index:
                        expected.add(start + row * grid + col)
        assert positions == expected, index
        assert all(tokens.input_ids[p] == backbone.llava.config.image_token_index
                   for p in positions)
    assert any(len(s.target_tokens) for s in _samples(tiny_run_config, model))


def test_attention_rows_equal_eager_attention_and_leave_the_answer_alone(tiny_run_config):
    model, _ = build_model(tiny_run_config)
    llava = model.backbone.llava
    samples = _samples(tiny_run_config, model)[:3]
    pixels, prompts = [s.pixels for s in samples], [s.tokens for s in samples]
    with torch.no_grad():
        plain = model.backbone.forward_tokens_batch(pixels, prompts)
        with_rows = model.backbone.forward_tokens_batch(pixels, prompts, (0,))
        llava.set_attn_implementation("eager")
        for sample, a, b in zip(samples, plain, with_rows, strict=True):
            assert a.tak_attention is None
            torch.testing.assert_close(a.tak_hidden, b.tak_hidden, atol=1e-5, rtol=1e-5)
            eager = llava(input_ids=sample.tokens.input_ids[None], pixel_values=sample.pixels,
                          output_attentions=True, use_cache=False).attentions[0]
            read = sample.tokens.tak_hidden_position
            torch.testing.assert_close(b.tak_attention[0], eager[0, :, read],
                                       atol=1e-5, rtol=1e-4)


def test_the_attend_term_moves_tak_attention_onto_the_target(tiny_run_config):
    model, looks = build_model(tiny_run_config)
    model.train()
    samples = [s for s in _samples(tiny_run_config, model) if len(s.target_tokens)]
    attend = AttendSupervision(weight=1.0, layers=(0,), heads=1)

    def target_mass() -> float:
        with torch.no_grad():
            rows = model.backbone.forward_tokens_batch([s.pixels for s in samples],
                                                       [s.tokens for s in samples], (0,))
        return float(np.mean([float(r.tak_attention[0, 0, s.target_tokens].sum())
                              for s, r in zip(samples, rows, strict=True)]))

    before = target_mass()
    optimizer = torch.optim.AdamW(model.backbone.parameters(), lr=3e-3)
    for _ in range(20):
        optimizer.zero_grad()
        losses = words_batch_losses(model, looks, samples, 1.0, 1.0, attend)
        assert float(losses.attend.detach()) > 0
        losses.total.backward()
        optimizer.step()
    after = target_mass()
    assert after > before + 0.2 and after > 0.4, (before, after)


def test_the_attend_term_skips_a_target_seen_in_no_frame():
    rows = torch.softmax(torch.randn(2, 2, 10), -1)
    assert attend_loss(rows, torch.zeros(0, dtype=torch.long), 1) is None
    value = attend_loss(rows, torch.tensor([3, 4]), 1)
    expected = -torch.log(rows[:, :1, [3, 4]].sum(-1)).mean()
    torch.testing.assert_close(value, expected)


def test_attend_options_are_checked(tmp_path, tiny_run_config):
    with pytest.raises(RunConfigError, match="attend_weight"):
        RunConfig.from_dict({"stages": [{"name": "joint", "steps": 1, "lr": 1e-3,
                                         "attend_weight": 1.0}]})
    with pytest.raises(RunConfigError, match="attend_heads"):
        RunConfig.from_dict({"stages": [{"name": "words", "steps": 1, "lr": 1e-3,
                                         "scenes_per_step": 2, "attend_heads": 0}]})
    raw = tiny_run_config.to_dict()
    raw["stages"] = [{"name": "words", "steps": 1, "lr": 1e-3, "scenes_per_step": 2,
                      "attend_weight": 1.0, "attend_layers": [3]}]
    with pytest.raises(ValueError, match="attend_layers"):
        train(RunConfig.from_dict(raw), tmp_path, log=lambda _: None)
