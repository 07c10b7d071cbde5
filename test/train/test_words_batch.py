"""The batched ``words`` stage, starting runs from saved models, look tables fitted alone."""

import json
from dataclasses import replace
from functools import partial

import pytest
import torch

from vrs_hq_ros.train.look_prompts import LookPrompts
from vrs_hq_ros.train.run_config import RunConfig, RunConfigError
from vrs_hq_ros.train.trainer import build_model, draw_scene, latest_checkpoint, train
from vrs_hq_ros.train.words_batch import (
    WordsDraw,
    draw_words_samples,
    look_accuracy,
    words_batch_losses,
)


def _draw(**options) -> WordsDraw:
    values = dict(scenes=3, sentences_per_scene=3, reasoning_share=0.5,
                  referring_window_share=0.5, short_prompt_share=0.0, sampled_min=4,
                  sampled_max=5, named_teacher=False)
    return WordsDraw(**{**values, **options})


def _samples(config, model, draw, seeds=(0, 1, 2)):
    return draw_words_samples(model.backbone, draw, list(seeds),
                              partial(draw_scene, config))


def test_a_batched_pass_equals_one_prompt_at_a_time(tiny_run_config):
    model, _ = build_model(tiny_run_config)
    samples = _samples(tiny_run_config, model, _draw(referring_window_share=0.5))
    lengths = {len(s.tokens.input_ids) for s in samples}
    assert len(lengths) > 1  # rows of different lengths: the padding is exercised
    with torch.no_grad():
        batched = model.backbone.forward_tokens_batch([s.pixels for s in samples],
                                                      [s.tokens for s in samples])
        for sample, out in zip(samples, batched, strict=True):
            single = model.backbone.forward_tokens(sample.pixels, sample.tokens)
            torch.testing.assert_close(out.tak_hidden, single.tak_hidden, atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(out.seg_hidden, single.seg_hidden, atol=1e-5, rtol=1e-5)


def test_a_steps_sentences_are_drawn_as_the_stage_asks(tiny_run_config):
    model, _ = build_model(tiny_run_config)
    samples = _samples(tiny_run_config, model, _draw(reasoning_share=1.0,
                                                     sentences_per_scene=2))
    again = _samples(tiny_run_config, model, _draw(reasoning_share=1.0, sentences_per_scene=2))
    assert [s.tokens.input_ids.tolist() for s in samples] == \
        [s.tokens.input_ids.tolist() for s in again]  # a step's data depends on its seeds only
    assert 3 <= len(samples) <= 6
    assert all(s.named == () for s in samples)  # named_teacher off: the full look
    assert any(s.reasoning for s in samples)
    assert all(s.pixels.shape[0] in (4, 5) for s in samples if s.reasoning)  # T' frames
    referring = _samples(tiny_run_config, model, _draw(reasoning_share=0.0,
                                                       referring_window_share=0.0,
                                                       named_teacher=True))
    assert all(not s.reasoning and s.pixels.shape[0] == 2 for s in referring)
    assert any(s.named for s in referring)


def test_naming_samples_ask_for_the_one_objects_full_look_among_every_look(tiny_run_config):
    from vrs_hq_ros.train.words_batch import ALL_LOOKS, NAMING_SENTENCES

    model, _ = build_model(tiny_run_config)
    samples = _samples(tiny_run_config, model, _draw(naming_share=1.0, sentences_per_scene=2))
    assert len(samples) == 6 and all(s.rule == "naming" for s in samples)
    assert len(ALL_LOOKS) == 96 and len({tuple(r) for r in ALL_LOOKS.tolist()}) == 96
    for seed, pair in zip((0, 1, 2), (samples[0:2], samples[2:4], samples[4:6]), strict=True):
        scene, _ = draw_scene(tiny_run_config, seed, num_objects=1)
        assert all(s.looks.shape == (96, 4) for s in pair)
        assert all(tuple(s.looks[s.target].tolist()) == LookPrompts.indices(scene.objects[0])
                   for s in pair)
    sentences = {model.backbone.tokenizer.decode(s.tokens.input_ids) for s in samples}
    assert all(any(n in text for n in NAMING_SENTENCES) for text in sentences)


def test_the_batched_words_loss_trains_the_mllm_towards_the_target_look(tiny_run_config):
    model, looks = build_model(tiny_run_config)
    model.train()
    samples = _samples(tiny_run_config, model, _draw())
    parts = list(model.backbone.parameters()) + list(model.projection.parameters())
    optimizer = torch.optim.AdamW(parts, lr=3e-3)
    first = None
    for _ in range(15):
        optimizer.zero_grad()
        losses = words_batch_losses(model, looks, samples, 1.0, 1.0)
        losses.total.backward()
        assert all(p.grad is None or torch.isfinite(p.grad).all() for p in parts)
        first = first if first is not None else float(losses.total.detach())
        optimizer.step()
    assert float(losses.total.detach()) < 0.8 * first
    model.eval()
    accuracy = look_accuracy(model, looks, samples)
    assert accuracy["all"] >= 0.5 and set(accuracy) >= {"all", "referring"}


def _batched_config(tiny_run_config, **top) -> RunConfig:
    raw = tiny_run_config.to_dict()
    raw["stages"] = [{"name": "words", "steps": 3, "lr": 1e-3, "distill_weight": 1.0,
                      "contrast_weight": 1.0, "scenes_per_step": 2, "sentences_per_scene": 2,
                      "reasoning_share": 0.5}]
    raw.update(top)
    return RunConfig.from_dict(raw)


def test_a_batched_words_run_resumes_with_the_losses_of_an_uninterrupted_one(tmp_path,
                                                                             tiny_run_config):
    config = _batched_config(tiny_run_config, data_workers=1)
    train(config, tmp_path / "whole", log=lambda _: None)
    first = train(config, tmp_path / "split", log=lambda _: None, stop_after=2)
    assert first.step == 2
    train(config, tmp_path / "split", log=lambda _: None)

    def losses(run):
        return [json.loads(line)["total"] for line in (tmp_path / run / "train_log.jsonl").open()]

    assert len(losses("split")) == 3
    assert losses("split") == pytest.approx(losses("whole"), abs=2e-4)


def test_a_sitting_can_end_after_a_time_and_keeps_its_steps(tmp_path, tiny_run_config,
                                                            monkeypatch):
    from types import SimpleNamespace

    from vrs_hq_ros.train import trainer

    ticks = iter(range(1000))  # a clock that advances one second each time it is read
    monkeypatch.setattr(trainer, "time", SimpleNamespace(perf_counter=lambda: next(ticks)))
    config = _batched_config(tiny_run_config)
    run = train(config, tmp_path, log=lambda _: None, stop_after_seconds=2.5)
    assert 0 < run.step < config.total_steps
    assert latest_checkpoint(tmp_path).name == f"step_{run.step}"  # kept for the next sitting
    monkeypatch.undo()
    assert train(config, tmp_path, log=lambda _: None).step == config.total_steps


def test_a_run_starts_from_a_saved_models_sam2_with_a_new_mllm(tmp_path, tiny_run_config):
    saved, _ = build_model(tiny_run_config)
    with torch.no_grad():
        saved.sam2.no_mem_embed.fill_(0.25)
    saved.save_pretrained(tmp_path / "saved")
    wider = replace(tiny_run_config, init_from=str(tmp_path / "saved"), init_parts=("sam2",),
                    model=replace(tiny_run_config.model, text_hidden_size=48))
    model, _ = build_model(wider)
    assert model.backbone.hidden_size == 48
    assert torch.equal(model.sam2.no_mem_embed, saved.sam2.no_mem_embed)
    assert model.backbone.tokenizer.get_vocab() == saved.backbone.tokenizer.get_vocab()
    whole, _ = build_model(replace(tiny_run_config, init_from=str(tmp_path / "saved")))
    for name, value in saved.state_dict().items():
        assert torch.equal(whole.state_dict()[name], value), name


def test_a_segment_stage_without_sam2_fits_only_the_look_tables(tmp_path, tiny_run_config):
    raw = tiny_run_config.to_dict()
    raw["stages"] = [{"name": "segment", "steps": 2, "lr": 1e-2, "contrast_weight": 1.0,
                      "scenes_per_step": 2, "train_sam2": False}]
    config = RunConfig.from_dict(raw)
    before_model, before_looks = build_model(config)
    run = train(config, tmp_path, log=lambda _: None)
    for name, value in before_model.sam2.state_dict().items():
        assert torch.equal(run.model.sam2.state_dict()[name], value), name
    assert not torch.equal(run.looks.tables["colour"].weight, before_looks.tables["colour"].weight)


@pytest.mark.parametrize("stage, top, message", [
    ({"name": "language", "steps": 1, "lr": 1e-3, "scenes_per_step": 2}, {}, "scenes_per_step"),
    ({"name": "words", "steps": 1, "lr": 1e-3, "sentences_per_scene": 2}, {},
     "sentences_per_scene"),
    ({"name": "joint", "steps": 1, "lr": 1e-3, "named_teacher": False}, {}, "named_teacher"),
    ({"name": "track", "steps": 1, "lr": 1e-3, "train_sam2": False}, {}, "train_sam2"),
    ({"name": "words", "steps": 1, "lr": 1e-3, "naming_share": 0.5}, {}, "naming_share"),
    ({"name": "words", "steps": 1, "lr": 1e-3}, {"device": "tpu"}, "device"),
    ({"name": "words", "steps": 1, "lr": 1e-3}, {"init_parts": ["backbone"]}, "init_parts"),
])
def test_batched_and_start_options_are_checked(stage, top, message):
    with pytest.raises(RunConfigError, match=message):
        RunConfig.from_dict({"stages": [stage], **top})


def test_a_step_whose_scenes_hold_no_sentence_draws_other_scenes(tiny_run_config):
    import numpy as np

    from vrs_hq_ros.train.words_batch import REDRAW_STRIDE, WordsBatches

    model, _ = build_model(tiny_run_config)

    def hidden_objects_first(seed, num_objects=None):  # the first draw: every object unseen
        scene, rng = draw_scene(tiny_run_config, seed, num_objects)
        if seed < REDRAW_STRIDE:
            scene = replace(scene, labels=np.zeros_like(scene.labels))
        return scene, rng

    batches = WordsBatches(model.backbone, _draw(scenes=2), 0, hidden_objects_first)
    samples = batches[3]
    assert samples and all(s.looks.shape[0] >= 2 for s in samples)
    assert [s.tokens.input_ids.tolist() for s in samples] == \
        [s.tokens.input_ids.tolist() for s in batches[3]]
