"""The curriculum that teaches the tiny model to follow the sentence, and its losses.

Nothing here is pretrained, and the paper's loss alone leaves a from-scratch model at a local
minimum that segments every shape and ignores the prompt. These stages fix that:

1. ``segment``: SAM2 alone. Its decoder is prompted with each object's *look token*
   (``LookPrompts``): several scenes per step, memory-less (``segment_batch_losses``), or one
   scene whose keyframe is also propagated through SAM2's memory (``segment_step_losses``).
   The decoder must select one of several objects, some sharing a colour or a shape (hard
   negatives), so it becomes prompt-sensitive.
1b. ``track``: SAM2's memory path. Every object of a scene is tracked through a few
   consecutive frames from a keyframe conditioned on its look token (the training path) or
   on its mask (the inference path, ``add_new_mask``); pixel contrast across the objects'
   tracked masks stops the memory from tracking "every shape". ``reset_memory_path``
   re-initialises the memory first (a memory attention trained earlier had saturated and no
   longer learnt); ``segment_weight`` mixes look-prompted decoding in so that the decoder,
   trained here on prompt-less frames, keeps following its prompt.
2. ``words`` (optional): the MLLM learns to turn a referring sentence into the target's look
   token (distillation + token contrast only, two frames, no SAM2): a from-scratch LLM needs
   thousands of steps before its [TAK] state follows the words, and these steps are ~5x
   cheaper than ``language`` ones. ``short_prompt_share`` shows some steps the bare prompt
   (no system prompt or template words), from which a from-scratch LLM learns to carry the
   sentence to the [TAK] read position; through the ~40 template tokens it does not.
3. ``language``: the MLLM learns to produce TAK' (paper loss) plus a distillation term that
   pulls TAK' towards the target's look token, which the decoder already understands.
   Reasoning sentences teach it to find the target from motion, time and comparisons.
4. ``joint``: everything trains with the paper's loss (no teacher) at a lower rate.

Two terms are added to the paper's 1 CE + 2 BCE + 0.5 Dice in every stage (deviations,
documented in the model card): object-presence BCE on SAM2's object-score logits (SAM2's own
training loss; TKS ranks candidates by these scores) and the mask loss on the memory-less
decode of every sampled frame with TAK' (what TKS decodes at inference).

Dense look supervision (``StageConfig.look_map_weight``, ``segment``, a deviation): heads on
SAM2's image features classify the look of the object under each cell (``LookMaps``), so the
encoder learns shape as well as colour.

Prompt-contrastive terms (``StageConfig.contrast_weight``, deviations): in ``segment`` every
foreground pixel is classified among the scene's objects by their prompted mask logits, and
in ``language`` TAK' is classified among the scene's look tokens. A mask that ignores the
prompt (the union of all shapes) lowers BCE but not these terms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vrs_hq_ros.model.keyframe_propagation import (
    clip_around,
    propagate_from_mask,
    propagate_with_scores,
)
from vrs_hq_ros.model.loss import dice_loss, sigmoid_bce_loss
from vrs_hq_ros.model.prompt import NUM_ANSWER_VARIANTS, num_question_variants
from vrs_hq_ros.model.sam2_prompting import decode_with_token
from vrs_hq_ros.model.vrshq import VRSHQ
from vrs_hq_ros.train.datasets import segment_indices
from vrs_hq_ros.train.look_maps import LookMaps
from vrs_hq_ros.train.look_prompts import LookPrompts
from vrs_hq_ros.train.synthetic_expressions import LOOK_FIELDS, SceneExpression, naming_options
from vrs_hq_ros.train.synthetic_scenes import Scene

STAGES = ("segment", "track", "words", "language", "joint", "tower")
TRACK_FRAMES = 4  # consecutive frames per object in the ``track`` stage (its default)
WORDS_FRAMES = 2  # T' of the ``words`` stage: the sentence matters there, not the motion


@dataclass
class StepLosses:
    """Weighted loss terms of one step (scalars); ``total`` is their sum."""

    total: torch.Tensor
    ce: torch.Tensor
    mask: torch.Tensor
    candidates: torch.Tensor
    presence: torch.Tensor
    distill: torch.Tensor
    contrast: torch.Tensor
    look_map: torch.Tensor | None = None  # dense look supervision (``segment``, ``tower``)
    attend: torch.Tensor | None = None  # where [TAK] looks (batched ``words``)

    def as_floats(self) -> dict[str, float]:
        """Detached values for logs (``look_map`` and ``attend`` 0 when off)."""
        return {k: float(getattr(self, k).detach()) if getattr(self, k) is not None else 0.0
                for k in ("total", "ce", "mask", "candidates", "presence", "distill",
                          "contrast", "look_map", "attend")}


def pixel_contrast(logits: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each foreground pixel over the objects' prompted logits.

    ``logits``/``gt``: [F, K, S, S] (frame, object). Pixels of no object are ignored.
    """
    foreground = gt.sum(1) > 0
    if logits.shape[1] < 2 or not foreground.any():
        return logits.new_zeros(())
    ce = F.cross_entropy(logits, gt.argmax(1), reduction="none")
    return (ce * foreground).sum() / foreground.sum()


def token_contrast(token: torch.Tensor, looks: torch.Tensor, target: int,
                   temperature: float = 0.1) -> torch.Tensor:
    """Cross-entropy of ``token`` [D] classified among look tokens [K, D] by cosine."""
    logits = F.cosine_similarity(token[None], looks, dim=-1) / temperature
    return F.cross_entropy(logits[None], torch.tensor([target], device=token.device))


def _mask_terms(logits: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """2 BCE + 0.5 Dice on masks [N, H, W] (paper weights)."""
    return 2.0 * sigmoid_bce_loss(logits, gt) + 0.5 * dice_loss(logits, gt)


def _gt(masks: np.ndarray, size: int, device: torch.device) -> torch.Tensor:
    """Bool masks [N, H, W] -> float [N, S, S] at SAM2's input size (area-averaged, >= 0.5)."""
    gt = torch.as_tensor(masks, dtype=torch.float32, device=device)[:, None]
    gt = F.interpolate(gt, size=(size, size), mode="area" if gt.shape[-1] > size else "nearest")
    return (gt[:, 0] >= 0.5).float()


def sam2_prompted_losses(model: VRSHQ, scene: Scene, target: int, indices: list[int],
                         token: torch.Tensor, key_position: int) -> tuple[torch.Tensor, ...]:
    """Mask, candidate-mask and presence losses for ``token`` on ``scene`` frames ``indices``.

    Every sampled frame is decoded without memory (as TKS does); the keyframe's decode is
    propagated through SAM2's memory over a short clip around it (as the official training).
    """
    size, device = model.image_size, model.device
    frames = [scene.frames[i] for i in indices]
    gt = _gt(scene.mask(target)[indices], size, device)
    present = (gt.flatten(1).sum(1) > 0).float()
    features = model.encode_frames(frames)
    decoded = decode_with_token(model.sam2, features, token, gate_by_object_score=False)
    candidates = _mask_terms(decoded.mask_logits, gt)
    clip = clip_around(key_position, len(indices), model.config.loss.clip_length)
    propagated = propagate_with_scores(model.sam2, [features[i] for i in clip],
                                       clip.index(key_position), token)
    mask = _mask_terms(propagated.mask_logits, gt[clip])
    presence = (F.binary_cross_entropy_with_logits(decoded.object_logits, present)
                + F.binary_cross_entropy_with_logits(propagated.object_logits, present[clip]))
    return mask, candidates, presence


def segment_step_losses(model: VRSHQ, looks: LookPrompts, scene: Scene, target: int,
                        rng: np.random.Generator, frames_per_sample: int,
                        contrast_weight: float = 0.0, look_maps: LookMaps | None = None,
                        look_map_weight: float = 0.0) -> StepLosses:
    """Stage 1: SAM2 prompted with look tokens.

    Every object of the scene is decoded on every sampled frame (one batch over frames
    encoded once), so each step contrasts the objects with one another; the keyframe of
    ``target`` is also propagated through SAM2's memory (tracking). With ``look_maps`` and a
    positive ``look_map_weight`` the image features are also supervised densely by look.
    """
    indices = segment_indices(len(scene.frames), frames_per_sample, rng)
    if rng.random() < 0.5:  # consecutive frames too: inference propagates frame by frame
        start = int(rng.integers(0, len(scene.frames) - len(indices) + 1))
        indices = list(range(start, start + len(indices)))
    size, device = model.image_size, model.device
    features = model.encode_frames([scene.frames[i] for i in indices])
    objects = range(len(scene.objects))
    tokens = torch.stack([looks(scene.objects[k]) for k in objects])  # [K, 256]
    pairs = [(f, k) for f in range(len(indices)) for k in objects]
    gt = torch.cat([_gt(scene.mask(k)[indices], size, device) for k in objects])  # [K*F]
    order = [k * len(indices) + f for f, k in pairs]
    gt = gt[order]
    decoded = decode_with_token(model.sam2, [features[f] for f, _ in pairs],
                                tokens[[k for _, k in pairs]], gate_by_object_score=False)
    present = (gt.flatten(1).sum(1) > 0).float()
    candidates = _mask_terms(decoded.mask_logits, gt)
    presence = F.binary_cross_entropy_with_logits(decoded.object_logits, present)
    contrast = candidates.new_zeros(())
    if contrast_weight > 0:
        grid = (len(indices), len(scene.objects), size, size)
        contrast = contrast_weight * pixel_contrast(decoded.mask_logits.view(grid),
                                                    gt.view(grid))

    visible = [p for p, i in enumerate(indices) if scene.mask(target)[i].any()]
    key = int(rng.choice(visible)) if visible else int(rng.integers(len(indices)))
    clip = clip_around(key, len(indices), model.config.loss.clip_length)
    propagated = propagate_with_scores(model.sam2, [features[i] for i in clip],
                                       clip.index(key), tokens[target])
    target_gt = _gt(scene.mask(target)[[indices[i] for i in clip]], size, device)
    mask = _mask_terms(propagated.mask_logits, target_gt)
    presence = presence + F.binary_cross_entropy_with_logits(
        propagated.object_logits, (target_gt.flatten(1).sum(1) > 0).float())
    zero = mask.new_zeros(())
    look_map = zero
    if look_maps is not None and look_map_weight > 0:
        look_map = look_map_weight * look_maps.loss(features, scene, indices)
    return StepLosses(mask + candidates + presence + contrast + look_map, zero, mask, candidates,
                      presence, zero, contrast, look_map)


def segment_batch_losses(model: VRSHQ, looks: LookPrompts, scenes: list[Scene],
                         rng: np.random.Generator, frames_per_scene: int = 2,
                         contrast_weight: float = 0.0, look_maps: LookMaps | None = None,
                         look_map_weight: float = 0.0, partial_look_share: float = 0.0
                         ) -> StepLosses:
    """Stage 1 over several scenes per step: every object decoded on a few frames of each.

    Memory-less decodes only (what TKS decodes); the frames of all scenes are encoded and
    decoded in one batch, which this CPU runs several times faster per frame than one scene
    at a time. Pixel contrast is taken within each frame, dense look supervision per scene.
    With ``partial_look_share`` that share of objects is also decoded from the token of an
    attribute subset that singles it out in its scene (what a referring sentence names:
    "the red one"), so the decoder follows the MLLM's token for such sentences too.
    """
    size, device = model.image_size, model.device
    picks = [(scene, sorted(int(i) for i in rng.choice(
        len(scene.frames), min(frames_per_scene, len(scene.frames)), replace=False)))
        for scene in scenes]
    features = model.encode_frames([scene.frames[i] for scene, idx in picks for i in idx])
    feats, tokens, gts, groups, cursor = [], [], [], [], 0
    partial: list[tuple[int, torch.Tensor, np.ndarray]] = []  # (feature, token, mask)
    for scene, idx in picks:
        scene_tokens = [looks(o) for o in scene.objects]
        subsets = [[f for f in naming_options(scene, k) if len(f) < len(LOOK_FIELDS)]
                   for k in range(len(scene.objects))] if partial_look_share > 0 else []
        for i in idx:
            groups.append((len(feats), len(scene.objects)))
            feats += [features[cursor]] * len(scene.objects)
            tokens += scene_tokens
            gts.append(_gt(np.stack([scene.mask(k)[i] for k in range(len(scene.objects))]),
                           size, device))
            for k, options in enumerate(subsets):
                if options and rng.random() < partial_look_share:
                    named = options[int(rng.integers(len(options)))]
                    obj = scene.objects[k]
                    partial.append((cursor, looks(obj, tuple(LOOK_FIELDS[f] for f in named)),
                                    scene.mask(k)[i]))
            cursor += 1
    for frame, token, mask in partial:  # after the full-look groups the contrast reads
        feats.append(features[frame])
        tokens.append(token)
        gts.append(_gt(mask[None], size, device))
    gt = torch.cat(gts)
    decoded = decode_with_token(model.sam2, feats, torch.stack(tokens),
                                gate_by_object_score=False)
    candidates = _mask_terms(decoded.mask_logits, gt)
    presence = F.binary_cross_entropy_with_logits(decoded.object_logits,
                                                  (gt.flatten(1).sum(1) > 0).float())
    zero = candidates.new_zeros(())
    contrast = zero
    if contrast_weight > 0:
        contrast = contrast_weight * torch.stack([
            pixel_contrast(decoded.mask_logits[a:a + k][None], gt[a:a + k][None])
            for a, k in groups]).mean()
    look_map = zero
    if look_maps is not None and look_map_weight > 0:
        terms, cursor = [], 0
        for scene, idx in picks:
            terms.append(look_maps.loss(features[cursor:cursor + len(idx)], scene, idx))
            cursor += len(idx)
        look_map = look_map_weight * torch.stack(terms).mean()
    return StepLosses(candidates + presence + contrast + look_map, zero, zero, candidates,
                      presence, zero, contrast, look_map)


def language_step_losses(model: VRSHQ, looks: LookPrompts | None, scene: Scene,
                         expression: SceneExpression, rng: np.random.Generator,
                         frames_per_sample: int, distill_weight: float,
                         contrast_weight: float = 0.0, short_prompt: bool = False
                         ) -> StepLosses:
    """Stages 2-3: the MLLM reads T' frames + the sentence; TAK' prompts SAM2 (paper path).

    ``short_prompt``: the bare curriculum prompt (``prompt.build_conversation``) instead of
    the official template.
    """
    indices = sorted(segment_indices(len(scene.frames), frames_per_sample, rng))
    frames = [scene.frames[i] for i in indices]
    question = int(rng.integers(num_question_variants(expression.sentence)))
    answer = int(rng.integers(NUM_ANSWER_VARIANTS))  # official: templates drawn per sample
    seg, tak, out = model.embed_tokens(frames, expression.sentence, with_lm_loss=True,
                                       question_variant=question, answer_variant=answer,
                                       short_prompt=short_prompt)
    tda = model.fuse(seg, tak)
    key = int(torch.argmax(tda.weights.detach()))  # official training keyframe
    mask, candidates, presence = sam2_prompted_losses(model, scene, expression.target, indices,
                                                      tda.tak_fused, key)
    ce = out.lm_loss.float()
    distill, contrast = mask.new_zeros(()), mask.new_zeros(())
    if looks is not None and distill_weight > 0:
        teacher = looks(scene.objects[expression.target], expression.named).detach()
        distill = distill_weight * (tda.tak_fused - teacher).pow(2).sum() / teacher.pow(2).sum()
    if looks is not None and contrast_weight > 0:
        every_look = torch.stack([looks(o, expression.named) for o in scene.objects]).detach()
        contrast = contrast_weight * token_contrast(tda.tak_fused, every_look, expression.target)
    return StepLosses(ce + mask + candidates + presence + distill + contrast, ce, mask,
                      candidates, presence, distill, contrast)


def words_step_losses(model: VRSHQ, looks: LookPrompts, scene: Scene,
                      expression: SceneExpression, rng: np.random.Generator,
                      distill_weight: float, contrast_weight: float,
                      frames_per_sample: int = WORDS_FRAMES,
                      short_prompt: bool = False) -> StepLosses:
    """Stage ``words``: TAK' of a sentence pulled to (and contrasted by) look tokens.

    No SAM2: the MLLM alone learns which object the sentence means, from ``frames_per_sample``
    frames (two suffice for referring sentences; reasoning ones need T').
    """
    indices = sorted(segment_indices(len(scene.frames), frames_per_sample, rng))
    question = int(rng.integers(num_question_variants(expression.sentence)))
    answer = int(rng.integers(NUM_ANSWER_VARIANTS))
    seg, tak, _ = model.embed_tokens([scene.frames[i] for i in indices], expression.sentence,
                                     question_variant=question, answer_variant=answer,
                                     short_prompt=short_prompt)
    token = model.fuse(seg, tak).tak_fused
    # the teacher sums the attributes the sentence names (all of them for reasoning ones)
    every_look = torch.stack([looks(o, expression.named) for o in scene.objects]).detach()
    teacher = every_look[expression.target]
    distill = distill_weight * (token - teacher).pow(2).sum() / teacher.pow(2).sum()
    contrast = contrast_weight * token_contrast(token, every_look, expression.target)
    zero = token.new_zeros(())
    return StepLosses(distill + contrast, zero, zero, zero, zero, distill, contrast)


def reset_memory_path(sam2: torch.nn.Module) -> None:
    """Re-initialise the layers of SAM2's memory encoder and memory attention (PyTorch init)."""
    for part in (sam2.memory_encoder, sam2.memory_attention):
        for module in part.modules():
            if module is not part and hasattr(module, "reset_parameters"):
                module.reset_parameters()


def track_step_losses(model: VRSHQ, looks: LookPrompts, scene: Scene, rng: np.random.Generator,
                      contrast_weight: float, mask_share: float = 0.5,
                      frames: int = TRACK_FRAMES) -> StepLosses:
    """Stage ``track``: every object tracked from a token- or mask-conditioned keyframe.

    Each object is followed over ``frames`` consecutive frames of the scene.
    """
    size, device = model.image_size, model.device
    count = min(frames, len(scene.frames))
    start = int(rng.integers(0, len(scene.frames) - count + 1))
    indices = list(range(start, start + count))
    features = model.encode_frames([scene.frames[i] for i in indices])
    logits, targets, presence = [], [], []
    for k, obj in enumerate(scene.objects):
        gt = _gt(scene.mask(k)[indices], size, device)
        visible = [i for i in range(count) if gt[i].any()]
        key = int(rng.choice(visible)) if visible else int(rng.integers(count))
        if rng.random() < mask_share:
            clip = propagate_from_mask(model.sam2, features, key, gt[key])
        else:
            clip = propagate_with_scores(model.sam2, features, key, looks(obj).detach())
        logits.append(clip.mask_logits)
        targets.append(gt)
        presence.append(F.binary_cross_entropy_with_logits(
            clip.object_logits, (gt.flatten(1).sum(1) > 0).float()))
    logits_t, gt_t = torch.stack(logits), torch.stack(targets)  # [K, F, S, S]
    mask = _mask_terms(logits_t.flatten(0, 1), gt_t.flatten(0, 1))
    contrast = contrast_weight * pixel_contrast(logits_t.transpose(0, 1), gt_t.transpose(0, 1))
    presence_t = torch.stack(presence).mean()
    zero = mask.new_zeros(())
    return StepLosses(mask + contrast + presence_t, zero, mask, zero, presence_t, zero, contrast)
