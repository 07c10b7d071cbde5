"""Train the project's tiny VRS-HQ model on synthetic reasoning videos (the shipped model).

One run = the curriculum of ``curriculum.py`` (stages from the run config), one scene per
step, drawn from the training seeds. A run is resumable: every ``checkpoint_every`` steps the
run folder gets ``checkpoints/step_<N>/`` (model and teacher weights as safetensors, the
optimizer state, the step), and ``train`` continues from the newest one. Logs go to
``train_log.jsonl`` (one line per ``log_every`` steps) in the run folder.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm
from transformers import AutoTokenizer

from vrs_hq_ros.model.llava_backbone import LlavaBackbone
from vrs_hq_ros.model.vrshq import VRSHQ
from vrs_hq_ros.train.curriculum import (
    WORDS_FRAMES,
    StepLosses,
    language_step_losses,
    reset_memory_path,
    segment_batch_losses,
    segment_step_losses,
    track_step_losses,
    words_step_losses,
)
from vrs_hq_ros.train.look_prompts import LookPrompts
from vrs_hq_ros.train.run_config import TRAIN_SEEDS, VAL_SEEDS, RunConfig, StageConfig
from vrs_hq_ros.train.synthetic_corpus import build_synthetic_tokenizer
from vrs_hq_ros.train.synthetic_expressions import REASONING, SceneExpression, scene_expressions
from vrs_hq_ros.train.synthetic_scenes import Scene, make_scene
from vrs_hq_ros.train.tower_looks import (
    TOWER_FRAMES,
    TOWER_RENDERED,
    TowerLookHeads,
    tower_batch,
    tower_look_loss,
)
from vrs_hq_ros.train.training_run import (
    TrainingRun,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
    saved_stage,
)
from vrs_hq_ros.train.words_batch import (
    AttendSupervision,
    WordsBatches,
    WordsDraw,
    words_batch_losses,
    words_loader,
)

logger = logging.getLogger(__name__)

MAX_REDRAWS = 20  # scenes tried per step when a stage needs a sentence


def build_model(config: RunConfig, tokenizer=None) -> tuple[VRSHQ, LookPrompts]:
    """Build the seeded random model (or load ``init_from``) and teacher tokens.

    The tokenizer is learnt from the synthetic corpus unless given (a resumed run reuses its
    own); a model started from ``init_from`` keeps that folder's.
    """
    torch.manual_seed(config.seed)
    start = VRSHQ.from_pretrained(config.init_from) if config.init_from is not None else None
    if start is not None and "backbone" in config.init_parts:
        return start, LookPrompts()
    vrs_config = config.model.vrshq_config()
    if start is not None:  # SAM2 (and CLIP) from the folder, a new MLLM on its tokenizer
        vrs_config, vrs_config.backbone = start.config, vrs_config.backbone
        tokenizer = start.backbone.tokenizer
    if tokenizer is None:
        tokenizer = build_synthetic_tokenizer(config.model.vocab_size)
    backbone = LlavaBackbone.build(vrs_config.backbone, tokenizer=tokenizer)
    model = VRSHQ(vrs_config, backbone=backbone)
    if start is not None:
        model.sam2.load_state_dict(start.sam2.state_dict())
        model.clip.load_state_dict(start.clip.state_dict())
    return model, LookPrompts()


def draw_scene(config: RunConfig, seed: int, num_objects: int | None = None,
               num_frames: int | None = None) -> tuple[Scene, np.random.Generator]:
    """Draw the scene of ``seed`` with a JPEG round trip (the benchmark layout stores JPEG).

    ``num_frames`` overrides the clip length the data config would draw (a short render).
    """
    rng = np.random.default_rng(seed + 7)
    data = config.data
    drawn = int(rng.integers(data.frames_min, data.frames_max + 1))
    scene = make_scene(seed, num_frames=num_frames or drawn, size=data.size_px,
                       num_objects=num_objects)
    quality = int(rng.integers(data.jpeg_quality_min, 101))
    for t, rgb in enumerate(scene.frames):
        ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        scene.frames[t] = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return scene, rng


def choose_expression(expressions: list[SceneExpression], rng: np.random.Generator,
                      reasoning_share: float) -> SceneExpression:
    """Pick a reasoning sentence with probability ``reasoning_share`` (when there is one)."""
    reasoning = [e for e in expressions if e.type_id == REASONING]
    referring = [e for e in expressions if e.type_id != REASONING]
    pool = reasoning if reasoning and (rng.random() < reasoning_share or not referring) \
        else referring
    return pool[int(rng.integers(len(pool)))]


def _trainable(run: TrainingRun, stage: StageConfig) -> list[torch.nn.Parameter]:
    """Which weights a stage trains (everything but CLIP, whose anchor stays random)."""
    model = run.model
    model.requires_grad_(False)
    run.looks.requires_grad_(False)
    run.look_maps.requires_grad_(False)
    if stage.name == "segment":
        parts = [model.sam2, run.looks] if stage.train_looks else [model.sam2]
        if not stage.train_sam2:  # fit the teacher tokens to a trained decoder
            parts = [run.looks]
        if stage.look_map_weight > 0:
            parts.append(run.look_maps)
    elif stage.name == "track":  # the memory path and the decoder; image features stay
        parts = [model.sam2]
    elif stage.name == "tower":
        parts = [model.backbone.llava.model.vision_tower, run.tower_heads]
    elif stage.name in ("words", "language"):
        parts = [model.backbone, model.projection]
    else:
        parts = [model.backbone, model.projection, model.sam2]
    for part in parts:
        part.requires_grad_(True)
    if not stage.train_tower:
        model.backbone.llava.model.vision_tower.requires_grad_(False)
    if stage.name == "track":
        model.sam2.image_encoder.requires_grad_(False)
    if stage.freeze_memory:
        model.sam2.memory_encoder.requires_grad_(False)
        model.sam2.memory_attention.requires_grad_(False)
    if stage.freeze_decoder:
        model.sam2.sam_prompt_encoder.requires_grad_(False)
        model.sam2.sam_mask_decoder.requires_grad_(False)
    return [p for part in parts for p in part.parameters() if p.requires_grad]


def _segment_batch(run: TrainingRun, config: RunConfig, stage: StageConfig, seed: int):
    """``segment`` with ``scenes_per_step`` scenes (their seeds stay in the training range)."""
    count = stage.scenes_per_step
    scenes, rng = [], None
    for j in range(count):
        scene, scene_rng = draw_scene(config, TRAIN_SEEDS + (seed * count + j) % VAL_SEEDS)
        scenes.append(scene)
        rng = rng or scene_rng
    return segment_batch_losses(run.model, run.looks, scenes, rng, 2, stage.contrast_weight,
                                run.look_maps, stage.look_map_weight,
                                stage.partial_look_share)


def _words_batches(run: TrainingRun, config: RunConfig, stage: StageConfig, first_step: int,
                   last_step: int):
    """Return an iterator over the batched ``words`` steps ``[first_step, last_step)``."""
    draw = WordsDraw(stage.scenes_per_step, stage.sentences_per_scene, stage.reasoning_share,
                     stage.referring_window_share, stage.short_prompt_share,
                     config.data.sampled_min, config.data.sampled_max, stage.named_teacher,
                     stage.naming_share)
    base = TRAIN_SEEDS + config.seed * 100_000

    def scene_of(seed: int, num_objects: int | None = None):  # seeds stay in the train range
        return draw_scene(config, TRAIN_SEEDS + (seed - TRAIN_SEEDS) % VAL_SEEDS, num_objects)

    batches = WordsBatches(run.model.backbone, draw, base * stage.scenes_per_step, scene_of)
    return iter(words_loader(batches, range(first_step, last_step), config.data_workers))


def _check_attend(config: RunConfig, model: VRSHQ) -> None:
    """Fail early when a stage asks [TAK] attention of layers or heads the LLM lacks."""
    text = model.backbone.llava.config.text_config
    for stage in config.stages:
        if stage.attend_weight > 0 and (max(stage.attend_layers) >= text.num_hidden_layers or
                                        stage.attend_heads > text.num_attention_heads):
            raise ValueError(f"stage {stage.name}: attend_layers {list(stage.attend_layers)} / "
                             f"attend_heads {stage.attend_heads} exceed the LLM's "
                             f"{text.num_hidden_layers} layers / {text.num_attention_heads} heads")


def _tower_step(run: TrainingRun, config: RunConfig, stage: StageConfig, seed: int):
    """``tower``: dense look and motion labels on ``TOWER_FRAMES`` frames of each scene."""
    count = stage.scenes_per_step
    scenes = [draw_scene(config, TRAIN_SEEDS + (seed * count + j) % VAL_SEEDS,
                         num_frames=TOWER_RENDERED)[0] for j in range(count)]
    batch = tower_batch(run.model.backbone, scenes, np.random.default_rng(seed), TOWER_FRAMES)
    loss = tower_look_loss(run.model.backbone, run.tower_heads, batch)
    zero = loss.new_zeros(())
    return StepLosses(loss, zero, zero, zero, zero, zero, zero, look_map=loss)


def _step_losses(run: TrainingRun, config: RunConfig, stage: StageConfig, seed: int):
    if stage.name == "segment" and stage.scenes_per_step > 1:
        return _segment_batch(run, config, stage, seed)
    if stage.name == "tower":
        return _tower_step(run, config, stage, seed)
    short = stage.short_prompt_share > 0 and \
        np.random.default_rng(seed + 13).random() < stage.short_prompt_share
    for attempt in range(MAX_REDRAWS):
        scene, rng = draw_scene(config, seed + attempt)
        sampled = int(rng.integers(config.data.sampled_min, config.data.sampled_max + 1))
        expressions = scene_expressions(scene, rng)
        # A scene no sentence fits (every object barely visible) falls back to segment losses
        # below; in words and language SAM2 does not train, so they have no gradient: redraw.
        if expressions or stage.name not in ("words", "language"):
            break
    else:
        raise RuntimeError(f"no training scene with a sentence in seeds {seed}.."
                           f"{seed + MAX_REDRAWS - 1}: check the data config")
    if stage.name == "track":
        losses = track_step_losses(run.model, run.looks, scene, rng, stage.contrast_weight,
                                   stage.keyframe_mask_share, stage.track_frames)
        return _with_prompted_decoding(losses, run, stage, scene, rng)
    if stage.name == "segment" or not expressions:
        target = int(rng.integers(len(scene.objects)))
        # fewer frames: every object is decoded on each (see segment_step_losses)
        return segment_step_losses(run.model, run.looks, scene, target, rng,
                                   max(2, sampled // 2), stage.contrast_weight, run.look_maps,
                                   stage.look_map_weight)
    if stage.name == "words":
        if stage.reasoning_share > 0:
            expression = choose_expression(expressions, rng, stage.reasoning_share)
            reads_window = expression.type_id == REASONING
        else:  # referring only (a scene without one falls back to any, on two frames)
            referring = [e for e in expressions if e.type_id != REASONING] or expressions
            expression = referring[int(rng.integers(len(referring)))]
            reads_window = False
        if expression.type_id != REASONING and stage.referring_window_share > 0:
            reads_window = rng.random() < stage.referring_window_share  # as inference reads
        frames = sampled if reads_window else WORDS_FRAMES
        return words_step_losses(run.model, run.looks, scene, expression, rng,
                                 stage.distill_weight, stage.contrast_weight, frames, short)
    expression = choose_expression(expressions, rng, config.data.reasoning_share)
    looks = run.looks if stage.name == "language" else None
    losses = language_step_losses(run.model, looks, scene, expression, rng, sampled,
                                  stage.distill_weight, stage.contrast_weight, short)
    if stage.track_weight > 0:  # keep mask-conditioned tracking while the decoder meets TAK'
        tracked = track_step_losses(run.model, run.looks, scene, rng, stage.contrast_weight,
                                    mask_share=1.0, frames=stage.track_frames)
        losses.total = losses.total + stage.track_weight * tracked.total
        losses.contrast = losses.contrast + stage.track_weight * tracked.contrast
    return _with_prompted_decoding(losses, run, stage, scene, rng)


def _with_prompted_decoding(losses: StepLosses, run: TrainingRun, stage: StageConfig,
                            scene: Scene, rng: np.random.Generator) -> StepLosses:
    """Add ``segment_weight`` of look-prompted decoding (keeps the decoder on its prompt)."""
    if stage.segment_weight <= 0:
        return losses
    prompted = segment_batch_losses(run.model, run.looks, [scene], rng, 2,
                                    stage.contrast_weight,
                                    partial_look_share=stage.partial_look_share)
    losses.total = losses.total + stage.segment_weight * prompted.total
    losses.candidates = losses.candidates + stage.segment_weight * prompted.candidates
    return losses


def train(config: RunConfig, run_dir: str | Path, log: Callable[[str], None] = logger.info,
          stop_after: int | None = None, stop_after_seconds: float | None = None
          ) -> TrainingRun:
    """Run (or resume) the curriculum in ``run_dir``; returns the model in eval mode.

    ``stop_after`` ends the sitting after that many steps, ``stop_after_seconds`` after that
    much time in the step loop (the run resumes later, from the checkpoint saved then).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "run_config.json").write_text(json.dumps(config.to_dict(), indent=2))
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    tokenizer_dir = run_dir / "tokenizer"
    tokenizer = (AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
                 if tokenizer_dir.is_dir() else None)
    model, looks = build_model(config, tokenizer)
    model.backbone.tokenizer.save_pretrained(tokenizer_dir)
    run = TrainingRun(model, looks)
    if any(stage.name == "tower" for stage in config.stages):
        if not isinstance(model.backbone, LlavaBackbone):
            raise ValueError("a tower stage needs the LLaVA backbone (a CLIP tower to train), "
                             f"not {type(model.backbone).__name__}")
        run.tower_heads = TowerLookHeads.seeded(
            model.backbone.llava.config.vision_config.hidden_size)
    _check_attend(config, model)
    optimizer, stage_index = None, -1
    latest = latest_checkpoint(run_dir)
    if latest is not None:
        run.step = load_checkpoint(run, latest)
        log(f"resuming from {latest} (step {run.step})")
    for part in (run.model, run.looks, run.look_maps, run.tower_heads):
        if part is not None:
            part.to(config.device)
    batches = None
    bar = tqdm(total=config.total_steps, initial=run.step, dynamic_ncols=True,
               disable=None, desc="train")
    window: list[dict[str, float]] = []
    start, done = time.perf_counter(), 0

    def sitting_goes_on() -> bool:
        return (stop_after is None or done < stop_after) and (
            stop_after_seconds is None or time.perf_counter() - start < stop_after_seconds)

    while run.step < config.total_steps and sitting_goes_on():
        index, stage, step_in_stage = config.stage_at(run.step)
        if index != stage_index:
            if stage.reset_memory and step_in_stage == 0:
                reset_memory_path(run.model.sam2)
                log("stage starts with SAM2's memory encoder and attention re-initialised")
            optimizer = torch.optim.AdamW(_trainable(run, stage), lr=stage.lr, weight_decay=0.0)
            if latest is not None and stage_index == -1 and saved_stage(latest) == index:
                optimizer.load_state_dict(torch.load(latest / "optimizer.pt", map_location="cpu",
                                                     weights_only=True))
            stage_index = index
            log(f"stage {index + 1}/{len(config.stages)}: {stage.name} ({stage.steps} steps)")
            batches = None
            if stage.name == "words" and stage.scenes_per_step > 1:
                batches = _words_batches(run, config, stage, run.step,
                                         run.step + stage.steps - step_in_stage)
        for group in optimizer.param_groups:
            group["lr"] = stage.lr_at(step_in_stage)
        run.model.train()
        run.model.clip.eval()
        optimizer.zero_grad(set_to_none=True)
        if batches is not None:
            attend = AttendSupervision(stage.attend_weight, stage.attend_layers,
                                       stage.attend_heads) if stage.attend_weight > 0 else None
            losses = words_batch_losses(run.model, run.looks, next(batches),
                                        stage.distill_weight, stage.contrast_weight, attend)
        else:
            losses = _step_losses(run, config, stage,
                                  TRAIN_SEEDS + config.seed * 100_000 + run.step)
        losses.total.backward()
        torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]],
                                       1.0)
        optimizer.step()
        run.step += 1
        done += 1
        window.append(losses.as_floats())
        bar.update(1)
        bar.set_postfix({k: f"{v:.3f}" for k, v in window[-1].items() if v}, refresh=False)
        if run.step % config.log_every == 0 or run.step == config.total_steps:
            means = {k: round(float(np.mean([w[k] for w in window])), 4) for k in window[0]}
            row = {"step": run.step, "stage": stage.name, **means,
                   "seconds": round(time.perf_counter() - start, 1)}
            with open(run_dir / "train_log.jsonl", "a") as fh:
                fh.write(json.dumps(row) + "\n")
            log(f"step {run.step}/{config.total_steps} [{stage.name}] " +
                " ".join(f"{k} {v:.3f}" for k, v in means.items()))
            window = []
        if run.step % config.checkpoint_every == 0 or run.step == config.total_steps:
            save_checkpoint(run, optimizer, stage_index, run_dir, config.keep_checkpoints)
    if done and run.step % config.checkpoint_every and run.step < config.total_steps:
        # a sitting ended early: keep its last steps for the next one
        save_checkpoint(run, optimizer, stage_index, run_dir, config.keep_checkpoints)
    bar.close()
    run.model.eval()
    return run
