"""One VRS-HQ optimisation step: which parameters train, the forward pass, the update.

Trainable (as the official recipe): the LLM (fully, or LoRA adapters + embeddings + lm_head),
the projection MLP and SAM2's mask decoder (with conv_s0/conv_s1). Frozen: SAM2's image
encoder, memory modules and prompt encoder, the MLLM's vision tower and projector, CLIP.
SAM2 runs in training mode, so no frame is gated by its object score. Masks are supervised on
a short clip around the training keyframe (argmax of the TDA weights): the keyframe decoded
with TAK', its neighbours reached by SAM2 propagation (``LossConfig.clip_length`` frames, 3 as
the official code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import nn

from vrs_hq_ros.model.keyframe_propagation import clip_around, propagate_from_keyframe
from vrs_hq_ros.model.loss import LossBreakdown, MaskShapeError, vrshq_loss
from vrs_hq_ros.model.sam2_prompting import resize_mask_logits
from vrs_hq_ros.model.vrshq import VRSHQ


@dataclass
class TrainingSample:
    """T' frames given to the MLLM, the sentence, and ground-truth masks [T', H, W] (bool).

    The prompt variants select the official training templates (0 = the inference text).
    """

    frames: list[np.ndarray]
    sentence: str
    masks: np.ndarray
    question_variant: int = 0
    answer_variant: int = 0


@dataclass
class LoraSettings:
    """LoRA on the LLM's attention (official: r 8, alpha 16 on q_proj / v_proj)."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")


def _language_model(model: VRSHQ) -> nn.Module:
    return model.backbone.llava.model.language_model


def prepare_for_training(model: VRSHQ, lora: Optional[LoraSettings] = None
                         ) -> list[nn.Parameter]:
    """Freeze/unfreeze as the official recipe and return the trainable parameters."""
    model.requires_grad_(False)
    llava = model.backbone.llava
    if lora is None:
        _language_model(model).requires_grad_(True)
    else:
        from peft import LoraConfig, get_peft_model

        peft_cfg = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                              target_modules=list(lora.target_modules))
        llava.model.language_model = get_peft_model(_language_model(model), peft_cfg)
        llava.get_input_embeddings().requires_grad_(True)
    llava.lm_head.requires_grad_(True)
    model.projection.requires_grad_(True)
    # The whole mask decoder trains, conv_s0/conv_s1 included (applied when frames are
    # encoded; ``encode_frames`` keeps their graph while they train).
    model.sam2.sam_mask_decoder.requires_grad_(True)
    model.train()
    # SAM2 stays in training mode as in the official code (no object-score gating, training
    # memory sampling); the frozen pretrained towers of the MLLM and CLIP stay in eval mode.
    for frozen in (model.clip, llava.model.vision_tower):
        frozen.eval()
    return [p for p in model.parameters() if p.requires_grad]


def merge_lora(model: VRSHQ) -> None:
    """Fold LoRA adapters into the LLM weights so ``save_pretrained`` sees plain modules."""
    language_model = _language_model(model)
    if hasattr(language_model, "merge_and_unload"):
        model.backbone.llava.model.language_model = language_model.merge_and_unload()


def compute_loss(model: VRSHQ, sample: TrainingSample) -> LossBreakdown:
    """Teacher-forced forward on one sample -> weighted CE + BCE + Dice."""
    masks = torch.as_tensor(np.asarray(sample.masks, dtype=np.float32))
    if masks.ndim != 3 or masks.shape[0] != len(sample.frames) \
            or tuple(masks.shape[1:]) != sample.frames[0].shape[:2]:
        raise MaskShapeError(f"masks must be [T', H, W] matching the frames, got "
                             f"{list(masks.shape)}")
    seg, tak, out = model.embed_tokens(sample.frames, sample.sentence, with_lm_loss=True,
                                       question_variant=sample.question_variant,
                                       answer_variant=sample.answer_variant)
    tda = model.fuse(seg, tak)
    key = int(torch.argmax(tda.weights.detach()))
    clip = clip_around(key, len(sample.frames), model.config.loss.clip_length)
    # grads reach only the encoding modules that train (conv_s0/s1; the trunk when unfrozen)
    features = model.encode_frames([sample.frames[i] for i in clip])
    clip_logits = propagate_from_keyframe(model.sam2, features, clip.index(key), tda.tak_fused)
    height, width = masks.shape[1:]
    logits = resize_mask_logits(clip_logits, height, width)
    return vrshq_loss(out.lm_loss.float(), logits, masks[clip].to(logits.device),
                      model.config.loss)


def train_step(model: VRSHQ, optimizer: torch.optim.Optimizer, sample: TrainingSample
               ) -> LossBreakdown:
    """Zero grads, forward, backward, step; returns the (detached) loss terms."""
    optimizer.zero_grad(set_to_none=True)
    losses = compute_loss(model, sample)
    losses.total.backward()
    optimizer.step()
    return LossBreakdown(*(t.detach() for t in (losses.total, losses.ce, losses.bce,
                                                losses.dice)))
