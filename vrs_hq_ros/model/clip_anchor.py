"""CLIP frame-text relevance: which frame of the window best matches the sentence (TKS anchor).

Two back ends: open_clip (a built-in or custom architecture, optional checkpoint) and a local
Hugging Face ``CLIPModel`` folder (``cfg.hf_dir``, the official
openai/clip-vit-large-patch14-336 format, run as the official code does: ``CLIPProcessor`` on
the PIL frames, ``logits_per_image``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import open_clip
import torch
from PIL import Image
from torch import nn

from vrs_hq_ros.model.config import ClipAnchorConfig
from vrs_hq_ros.model.sam2_builder import check_frame

logger = logging.getLogger(__name__)


class ClipModelError(RuntimeError):
    """The CLIP model cannot be built or its checkpoint loaded."""


class ClipAnchor(nn.Module):
    """open_clip model + its own preprocessing and tokenizer."""

    def __init__(self, cfg: ClipAnchorConfig):
        super().__init__()
        self.cfg = cfg
        self.hf_model = self.hf_processor = None
        if cfg.hf_dir is not None:
            self._init_hf(Path(cfg.hf_dir))
            return
        if cfg.model_cfg is not None:
            self.clip = open_clip.CLIP(**cfg.model_cfg)
            text_cfg = cfg.model_cfg.get("text_cfg", {})
            self.tokenizer = open_clip.SimpleTokenizer(
                context_length=text_cfg.get("context_length", 77))
        else:
            if cfg.model_name not in open_clip.list_models():
                raise ClipModelError(f"unknown open_clip model {cfg.model_name!r}")
            self.clip = open_clip.create_model(cfg.model_name, pretrained=None)
            self.tokenizer = open_clip.get_tokenizer(cfg.model_name)
        if cfg.checkpoint is not None:
            if not Path(cfg.checkpoint).is_file():
                raise ClipModelError(f"CLIP checkpoint not found: {cfg.checkpoint}")
            open_clip.load_checkpoint(self.clip, cfg.checkpoint, weights_only=True)
        visual = self.clip.visual
        pre = getattr(visual, "preprocess_cfg", {}) or {}
        size = pre.get("size", visual.image_size)
        self.preprocess = open_clip.image_transform(
            size, is_train=False, mean=pre.get("mean", open_clip.OPENAI_DATASET_MEAN),
            std=pre.get("std", open_clip.OPENAI_DATASET_STD))
        self.clip.eval()

    def _init_hf(self, path: Path) -> None:
        from transformers import CLIPModel, CLIPProcessor

        if not (path / "config.json").is_file():
            raise ClipModelError(f"{path} is not a Hugging Face CLIP folder (no config.json)")
        try:
            self.hf_processor = CLIPProcessor.from_pretrained(path, local_files_only=True)
            self.hf_model = CLIPModel.from_pretrained(path, local_files_only=True,
                                                      attn_implementation="sdpa")
        except (OSError, ValueError) as exc:
            raise ClipModelError(f"cannot load the CLIP model in {path}: {exc}") from exc
        self.hf_model.eval()
        logger.info("CLIP anchor: Hugging Face CLIPModel from %s", path)

    @torch.no_grad()
    def frame_logits(self, frames: list[np.ndarray], sentence: str) -> torch.Tensor:
        """Scaled cosine similarity of each frame to the sentence -> [T]."""
        for rgb in frames:
            check_frame(rgb)
        if self.hf_model is not None:
            param = next(self.hf_model.parameters())
            inputs = self.hf_processor(text=[sentence], images=[Image.fromarray(f) for f in frames],
                                       return_tensors="pt", padding=True)
            inputs = {k: v.to(param.device, param.dtype) if k == "pixel_values"
                      else v.to(param.device) for k, v in inputs.items()}
            return self.hf_model(**inputs).logits_per_image[:, 0].float()
        param = next(self.clip.parameters())
        images = torch.stack([self.preprocess(Image.fromarray(rgb)) for rgb in frames])
        text = self.tokenizer([sentence])
        image_feat = self.clip.encode_image(images.to(param.device, param.dtype), normalize=True)
        text_feat = self.clip.encode_text(text.to(param.device), normalize=True)
        return (self.clip.logit_scale.exp() * image_feat @ text_feat.T)[:, 0].float()

    def frame_probabilities(self, frames: list[np.ndarray], sentence: str) -> torch.Tensor:
        """Softmax over frames of ``frame_logits`` -> [T] (sums to 1)."""
        return torch.softmax(self.frame_logits(frames, sentence), dim=0)
