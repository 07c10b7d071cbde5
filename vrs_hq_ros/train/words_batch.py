"""The ``words`` stage over many sentences per step: data drawn ahead by workers, one batch.

``words_step_losses`` (one sentence a step) spends most of its time in Python and small
kernels; a from-scratch MLLM needs hundreds of thousands of samples before TAK' follows
reasoning sentences, which one sentence a step never reaches (docs/TRAINING.md). Here each step
reads ``scenes_per_step`` scenes, several sentences of each, every sentence over its own T'
frames, and runs the MLLM once over the padded batch. The samples of a step depend only on
its step number, so a resumed run sees the same data and DataLoader workers can draw
ahead (on a GPU machine the scene renderer, not the model, is the limit).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from vrs_hq_ros.model.llava_backbone import LlavaBackbone
from vrs_hq_ros.model.prompt import NUM_ANSWER_VARIANTS, PromptTokens, num_question_variants
from vrs_hq_ros.model.vrshq import VRSHQ
from vrs_hq_ros.train.curriculum import WORDS_FRAMES, StepLosses, token_contrast
from vrs_hq_ros.train.datasets import segment_indices
from vrs_hq_ros.train.look_prompts import LookPrompts
from vrs_hq_ros.train.synthetic_expressions import (
    REASONING,
    REFERRING,
    SceneExpression,
    scene_expressions,
)
from vrs_hq_ros.train.synthetic_scenes import COLOURS, SHAPES, SIZES, TEXTURES
from vrs_hq_ros.train.tower_looks import patch_attribute_labels

# Sentences that name nothing, for one-object scenes: only the frames tell the answer's look.
NAMING_SENTENCES = ("the object", "the shape", "the thing in the video")
MAX_REDRAWS = 20
REDRAW_STRIDE = 7_919  # seed offset of a step's redraws (they may meet other steps' scenes)
# Every look as table rows (``LookPrompts.indices``): naming samples are contrasted against all.
ALL_LOOKS = torch.tensor(list(itertools.product(range(len(COLOURS)), range(len(SHAPES)),
                                                range(len(SIZES)), range(len(TEXTURES)))))


@dataclass
class WordsSample:
    """One sentence over its frames: the tower's input, the prompt, the scene's looks.

    ``looks`` [K, 4] holds each object's attribute indices (``LookPrompts.indices``);
    ``named`` the attributes the teacher token sums (all four unless the stage asks for the
    ones the sentence names); ``target_tokens`` the prompt positions of the visual tokens whose
    patch the target owns (``tower_looks.OWNED``), for ``attend_weight``.
    """

    pixels: torch.Tensor
    tokens: PromptTokens
    looks: torch.Tensor
    target: int
    named: tuple[str, ...]
    reasoning: bool
    rule: str = ""
    target_tokens: torch.Tensor | None = None


@dataclass(frozen=True)
class WordsDraw:
    """How a batched ``words`` step draws its sentences (from the stage and data configs)."""

    scenes: int
    sentences_per_scene: int
    reasoning_share: float
    referring_window_share: float
    short_prompt_share: float
    sampled_min: int
    sampled_max: int
    named_teacher: bool
    naming_share: float = 0.0


def pick_expressions(expressions: list[SceneExpression], rng: np.random.Generator,
                     count: int, reasoning_share: float) -> list[SceneExpression]:
    """Up to ``count`` different sentences, each reasoning with ``reasoning_share``."""
    reasoning = [e for e in expressions if e.type_id == REASONING]
    referring = [e for e in expressions if e.type_id != REASONING]
    chosen: list[SceneExpression] = []
    while len(chosen) < count and (reasoning or referring):
        pool = reasoning if reasoning and (rng.random() < reasoning_share or not referring) \
            else referring
        chosen.append(pool.pop(int(rng.integers(len(pool)))))
    return chosen


def target_token_positions(backbone: LlavaBackbone, scene, indices: list[int],
                           tokens: PromptTokens, index: int) -> torch.Tensor:
    """Prompt positions of the visual tokens whose patch object ``index`` owns, frame by frame.

    LLaVA drops CLS, so each frame's span holds its patches in raster order.
    """
    grid = backbone.cfg.vision_image_size // backbone.cfg.vision_patch_size
    if grid * grid != backbone.tokens_per_image:
        raise ValueError(f"{backbone.tokens_per_image} tokens a frame is not a {grid}x{grid} grid")
    owner = patch_attribute_labels(scene, indices, grid)["owner"].reshape(len(indices), -1)
    positions = [start + np.flatnonzero(frame_owner == index + 1)
                 for (start, _), frame_owner in zip(tokens.image_token_spans, owner, strict=True)]
    return torch.from_numpy(np.concatenate(positions)).long()


def draw_words_samples(backbone: LlavaBackbone, draw: WordsDraw, scene_seeds: list[int],
                       draw_scene) -> list[WordsSample]:
    """Draw one step's samples; ``draw_scene(seed, num_objects=None) -> (scene, rng)``."""
    samples: list[WordsSample] = []
    for seed in scene_seeds:
        naming = draw.naming_share > 0 and \
            np.random.default_rng(seed + 11).random() < draw.naming_share
        scene, rng = draw_scene(seed, num_objects=1 if naming else None)
        objects = {}  # sentence target -> object index
        if naming:  # the one object's full look, contrasted with every look there is
            rows = LookPrompts.indices(scene.objects[0])
            target = int(torch.nonzero((ALL_LOOKS == torch.tensor(rows)).all(1))[0])
            looks, chosen = ALL_LOOKS, [
                SceneExpression(NAMING_SENTENCES[int(rng.integers(len(NAMING_SENTENCES)))],
                                target, REFERRING, "naming")
                for _ in range(draw.sentences_per_scene)]
            objects[target] = 0
        else:
            looks = torch.tensor([LookPrompts.indices(o) for o in scene.objects])
            chosen = pick_expressions(scene_expressions(scene, rng), rng,
                                      draw.sentences_per_scene, draw.reasoning_share)
        for expression in chosen:
            reasoning = expression.type_id == REASONING
            window = reasoning or (not naming and rng.random() < draw.referring_window_share)
            count = int(rng.integers(draw.sampled_min, draw.sampled_max + 1)) if window \
                else WORDS_FRAMES
            indices = sorted(segment_indices(len(scene.frames), count, rng))
            if naming:  # the lone object may have left the view: name it where it is seen
                seen = np.flatnonzero(scene.visible_fraction(0) > 0.3)
                indices = sorted(int(i) for i in rng.choice(seen, min(count, len(seen)),
                                                            replace=False)) or indices
            short = rng.random() < draw.short_prompt_share
            tokens = backbone.encode_prompt(
                len(indices), expression.sentence,
                int(rng.integers(num_question_variants(expression.sentence))),
                int(rng.integers(NUM_ANSWER_VARIANTS)), short=short)
            samples.append(WordsSample(
                backbone.preprocess_frames([scene.frames[i] for i in indices]), tokens, looks,
                expression.target, expression.named if draw.named_teacher else (), reasoning,
                expression.rule, target_token_positions(
                    backbone, scene, indices, tokens,
                    objects.get(expression.target, expression.target))))
    return samples


class WordsBatches(Dataset):
    """Step number -> that step's samples (a DataLoader with ``batch_size=None`` prefetches)."""

    def __init__(self, backbone: LlavaBackbone, draw: WordsDraw, first_seed: int, draw_scene):
        self.backbone, self.draw, self.first_seed = backbone, draw, first_seed
        self.draw_scene = draw_scene

    def __len__(self) -> int:
        return 1 << 40

    def __getitem__(self, step: int) -> list[WordsSample]:
        first = self.first_seed + step * self.draw.scenes
        for attempt in range(MAX_REDRAWS):  # a step whose scenes hold no sentence: others
            seeds = [first + attempt * REDRAW_STRIDE + j for j in range(self.draw.scenes)]
            samples = draw_words_samples(self.backbone, self.draw, seeds, self.draw_scene)
            if samples:
                return samples
        raise RuntimeError(f"no sentence in {MAX_REDRAWS} draws of step {step}'s scenes: "
                           "check the data config")


def words_loader(batches: WordsBatches, steps: range, workers: int) -> DataLoader:
    """Iterate the steps ``steps`` of ``batches``; ``workers`` > 0 draws them ahead."""
    return DataLoader(batches, batch_size=None, sampler=steps, num_workers=workers,
                      collate_fn=lambda samples: samples, prefetch_factor=4 if workers else None,
                      multiprocessing_context="fork" if workers else None,
                      persistent_workers=False)


@dataclass(frozen=True)
class AttendSupervision:
    """Where [TAK] is taught to look (``StageConfig.attend_*``): weight, layers, first heads."""

    weight: float
    layers: tuple[int, ...]
    heads: int


def fused_tokens(model: VRSHQ, samples: list[WordsSample],
                 attention_layers: tuple[int, ...] = ()
                 ) -> tuple[list[torch.Tensor], list[torch.Tensor | None]]:
    """TAK' [256] of every sample, and its [TAK] attention rows, from one batched MLLM pass."""
    outputs = model.backbone.forward_tokens_batch([s.pixels for s in samples],
                                                  [s.tokens for s in samples], attention_layers)
    return ([model.fuse(*model.project(out)).tak_fused for out in outputs],
            [out.tak_attention for out in outputs])


def attend_loss(attention: torch.Tensor, target_tokens: torch.Tensor, heads: int
                ) -> torch.Tensor | None:
    """-log of the attention mass the first ``heads`` heads put on the target's tokens.

    ``attention`` [layers, heads, L]; averaged over layers. ``None`` when the target owns no
    token in the frames read (hidden or out of view throughout).
    """
    if target_tokens is None or len(target_tokens) == 0:
        return None
    mass = attention[:, :heads][..., target_tokens.to(attention.device)].sum(-1)
    return -torch.log(mass.clamp_min(1e-6)).mean()


def words_batch_losses(model: VRSHQ, looks: LookPrompts, samples: list[WordsSample],
                       distill_weight: float, contrast_weight: float,
                       attend: AttendSupervision | None = None) -> StepLosses:
    """Mean distillation and token-contrast terms of TAK' over the batch (no SAM2).

    ``attend``: adds the mean ``attend_loss`` (docs/TRAINING.md, "Teaching [TAK] where to
    look"), logged as ``attend``.
    """
    distill, contrast, looked = [], [], []
    tokens, attentions = fused_tokens(model, samples, attend.layers if attend else ())
    for sample, token, attention in zip(samples, tokens, attentions, strict=True):
        if attend is not None:
            term = attend_loss(attention, sample.target_tokens, attend.heads)
            if term is not None:
                looked.append(term)
        every_look = looks.of_indices(sample.looks.to(token.device), sample.named).detach()
        teacher = every_look[sample.target]
        distill.append((token - teacher).pow(2).sum() / teacher.pow(2).sum())
        contrast.append(token_contrast(token, every_look, sample.target))
    distill_t = distill_weight * torch.stack(distill).mean()
    contrast_t = contrast_weight * torch.stack(contrast).mean()
    zero = distill_t.new_zeros(())
    attend_t = attend.weight * torch.stack(looked).mean() if looked else zero
    return StepLosses(distill_t + contrast_t + attend_t, zero, zero, zero, zero, distill_t,
                      contrast_t, attend=attend_t)


@torch.no_grad()
def look_accuracy(model: VRSHQ, looks: LookPrompts, samples: list[WordsSample],
                  batch: int = 32) -> dict[str, float]:
    """Share of samples whose TAK' is closest (cosine) to its target's full look token.

    Keys: all, referring, reasoning and ``rule:<name>`` (how well the MLLM picks the object).
    """
    hits: dict[str, list[bool]] = {}
    for start in range(0, len(samples), batch):
        chunk = samples[start:start + batch]
        for sample, token in zip(chunk, fused_tokens(model, chunk)[0], strict=True):
            every_look = looks.of_indices(sample.looks.to(token.device))
            cosine = torch.nn.functional.cosine_similarity(token[None], every_look, dim=-1)
            hit = int(torch.argmax(cosine)) == sample.target
            kind = "reasoning" if sample.reasoning else "referring"
            for key in ("all", kind, f"rule:{sample.rule}"):
                hits.setdefault(key, []).append(hit)
    return {key: round(float(np.mean(v)), 3) for key, v in sorted(hits.items())}
