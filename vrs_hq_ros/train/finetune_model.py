"""The model side of fine-tuning: building it, the per-batch loss module, merging and export.

The loss of a video sample is ``model.training_step.compute_loss`` (TDA keyframe, 3-frame
propagated clip). An image sample follows the official image path: one frame, the projected
TAK alone prompts SAM2 (one sparse token, no TDA), BCE + Dice on that mask, CE on the text.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from vrs_hq_ros.model.config import VRSHQConfig
from vrs_hq_ros.model.loss import LossBreakdown, vrshq_loss
from vrs_hq_ros.model.sam2_prompting import decode_with_token, resize_mask_logits
from vrs_hq_ros.model.training_step import (
    LoraSettings,
    TrainingSample,
    compute_loss,
    merge_lora,
    prepare_for_training,
)
from vrs_hq_ros.model.vrshq import VRSHQ
from vrs_hq_ros.train.datasets import TrainingDataError, TrainSample
from vrs_hq_ros.train.finetune_config import ModelSpec

log = logging.getLogger(__name__)

LOSS_TERMS = ("loss", "ce", "bce", "dice")


def build_model(spec: ModelSpec) -> VRSHQ:
    """Build the starting model: a saved VRS-HQ folder or the seeded random tiny model."""
    if spec.init_from:
        if not Path(spec.init_from).is_dir():
            raise TrainingDataError(f"model.init_from {spec.init_from} is not a folder")
        return VRSHQ.from_pretrained(spec.init_from)
    if spec.tiny_image_size is None:
        raise TrainingDataError("the config needs model.init_from (a VRS-HQ folder) or "
                                "model.tiny_image_size")
    torch.manual_seed(spec.seed)
    return VRSHQ(VRSHQConfig.tiny(image_size=spec.tiny_image_size))


def lora_settings(spec: ModelSpec) -> LoraSettings | None:
    """Return the LoRA settings of ``spec`` (None: the whole LLM trains)."""
    if not spec.lora:
        return None
    return LoraSettings(r=spec.lora_r, alpha=spec.lora_alpha, dropout=spec.lora_dropout,
                        target_modules=tuple(spec.lora_target_modules))


def prepare_model(spec: ModelSpec) -> VRSHQ:
    """Build, freeze/unfreeze as the recipe, wrap LoRA, switch on gradient checkpointing."""
    model = build_model(spec)
    prepare_for_training(model, lora_settings(spec))
    if spec.gradient_checkpointing:
        # Non-reentrant checkpointing needs no input grads, so frozen embeddings are fine.
        model.backbone.llava.gradient_checkpointing_enable(
            gradient_checkpointing_kwargs={"use_reentrant": False})
    return model


def image_loss(model: VRSHQ, sample: TrainSample) -> LossBreakdown:
    """Loss of a still image: TAK (projected, not fused) prompts SAM2 on the one frame."""
    _, tak, out = model.embed_tokens(sample.frames, sample.sentence, with_lm_loss=True,
                                     question_variant=sample.question_variant,
                                     answer_variant=sample.answer_variant)
    features = model.encode_frames(sample.frames)
    decoded = decode_with_token(model.sam2, features, tak, gate_by_object_score=False)
    height, width = sample.masks.shape[1:]
    logits = resize_mask_logits(decoded.mask_logits, height, width)
    masks = torch.as_tensor(sample.masks, dtype=torch.float32, device=logits.device)
    return vrshq_loss(out.lm_loss.float(), logits, masks, model.config.loss)


def sample_loss(model: VRSHQ, sample: TrainSample) -> LossBreakdown:
    """Compute the paper's loss of one sample (video or image)."""
    if sample.is_image:
        return image_loss(model, sample)
    return compute_loss(model, TrainingSample(sample.frames, sample.sentence, sample.masks,
                                              sample.question_variant, sample.answer_variant))


class FinetuneModule(nn.Module):
    """Wraps the model so DDP / DeepSpeed / FSDP see one ``forward``: batch -> loss terms [4].

    Returns (total, ce, bce, dice), each the mean over the batch's samples.
    """

    def __init__(self, model: VRSHQ):
        super().__init__()
        self.model = model

    def forward(self, batch: list[TrainSample]) -> torch.Tensor:
        """Batch of samples -> [4] mean loss terms."""
        terms = [sample_loss(self.model, s) for s in batch]
        return torch.stack([torch.stack([t.total, t.ce, t.bce, t.dice]) for t in terms]).mean(0)


def export_model(model: VRSHQ, out_dir: str | Path) -> Path:
    """Merge LoRA into the LLM and write a folder ``VRSHQ.from_pretrained`` loads."""
    merge_lora(model)
    model.backbone.llava.gradient_checkpointing_disable()
    model.eval()
    model.save_pretrained(out_dir)
    return Path(out_dir)
