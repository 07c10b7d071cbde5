"""``ReasoningBackbone`` of the official model: Chat-UniVi (CLIP ViT-L/14 + clustering + LLaMA).

Per frame: CLIP vision tower, hidden states of layer ``select_layer`` (-2) without CLS, three
chained DPC-KNN clusterings (64/32/16 -> 112 tokens), ``mm_projector`` (one Linear), spliced into
the LLaMA input embeddings where the frame's ``<image>`` stood (official
``prepare_inputs_labels_for_multimodal``). The [SEG]/[TAK] states are the last layer's post-norm
outputs one position before each token.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import (
    CLIPVisionConfig,
    CLIPVisionModel,
    LlamaConfig,
    LlamaForCausalLM,
)

from vrs_hq_ros.model.backbone import BackboneError, BackboneOutput, ReasoningBackbone
from vrs_hq_ros.model.chatunivi_clustering import (
    OFFICIAL_CLUSTER_NUMS,
    cluster_frame_tokens,
    official_steps,
    tokens_per_frame,
)
from vrs_hq_ros.model.prompt import PromptTokens
from vrs_hq_ros.model.sam2_builder import check_frame

logger = logging.getLogger(__name__)


@dataclass
class ChatUniViSpec:
    """Architecture of a Chat-UniVi backbone, read from a release's ``config.json``."""

    llama: LlamaConfig
    vision: CLIPVisionConfig
    select_layer: int = -2
    cluster_rates: tuple[float, ...] = OFFICIAL_CLUSTER_NUMS
    extra: dict = field(default_factory=dict)

    @property
    def tokens_per_image(self) -> int:
        """Visual tokens per frame after clustering (112 for the release)."""
        patches = (self.vision.image_size // self.vision.patch_size) ** 2
        return tokens_per_frame(official_steps(self.cluster_rates), patches)


class ChatUniViBackbone(ReasoningBackbone):
    """LLaMA + CLIP vision tower + ``mm_projector`` + token clustering."""

    def __init__(self, spec: ChatUniViSpec, tokenizer, image_processor,
                 attn_implementation: str = "sdpa"):
        super().__init__()
        self.spec = spec
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        spec.llama._attn_implementation = attn_implementation
        spec.vision._attn_implementation = attn_implementation
        self.llm = LlamaForCausalLM(spec.llama)
        self.vision_tower = CLIPVisionModel(spec.vision)
        self.mm_projector = nn.Linear(spec.vision.hidden_size, spec.llama.hidden_size)
        self.steps = official_steps(spec.cluster_rates)
        self.vision_tower.requires_grad_(False)

    @property
    def hidden_size(self) -> int:
        """LLaMA width (4096 for the 7B release)."""
        return self.spec.llama.hidden_size

    @property
    def tokens_per_image(self) -> int:
        """112 for the official hyper-parameters."""
        return self.spec.tokens_per_image

    def preprocess_frames(self, frames: list[np.ndarray]) -> torch.Tensor:
        """Run the tower's ``CLIPImageProcessor`` (shortest side, center crop, mean/std)."""
        if not frames:
            raise BackboneError("no frames given")
        for rgb in frames:
            check_frame(rgb)
        return self.image_processor(images=list(frames), return_tensors="pt")["pixel_values"]

    def visual_tokens(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """[T', 3, s, s] -> projected, clustered visual tokens [T', 112, D]."""
        tower = next(self.vision_tower.parameters())
        out = self.vision_tower(pixel_values.to(tower.device, tower.dtype),
                                output_hidden_states=True)
        patches = out.hidden_states[self.spec.select_layer][:, 1:]
        clustered = cluster_frame_tokens(patches, self.steps)
        return self.mm_projector(clustered.to(self.mm_projector.weight.dtype))

    def embed(self, pixel_values: torch.Tensor, tokens: PromptTokens) -> torch.Tensor:
        """Input embeddings [1, L, D]: text embeddings with each frame's tokens spliced in."""
        if len(tokens.image_token_spans) != pixel_values.shape[0]:
            raise BackboneError(f"{pixel_values.shape[0]} frames for "
                                f"{len(tokens.image_token_spans)} <image> in the prompt")
        embedding = self.llm.get_input_embeddings()
        ids = tokens.input_ids.to(embedding.weight.device).clamp(min=0)  # image ids overwritten
        embeds = embedding(ids)
        visual = self.visual_tokens(pixel_values).to(embeds.dtype)
        if visual.shape[1] != self.tokens_per_image:
            raise BackboneError(f"{visual.shape[1]} visual tokens, expected "
                                f"{self.tokens_per_image}")
        pieces, cursor = [], 0
        for frame, (start, end) in enumerate(tokens.image_token_spans):
            pieces += [embeds[cursor:start], visual[frame]]
            cursor = end
        pieces.append(embeds[cursor:])
        return torch.cat(pieces)[None]

    def forward_tokens(self, pixel_values: torch.Tensor, tokens: PromptTokens,
                       with_lm_loss: bool = False) -> BackboneOutput:
        """One teacher-forced pass; last layer (post-norm) one position before each token."""
        embeds = self.embed(pixel_values, tokens)
        out = self.llm.model(inputs_embeds=embeds, use_cache=False, return_dict=True)
        last = out.last_hidden_state[0]
        device = last.device
        seg = last[tokens.seg_hidden_positions.to(device)]
        tak = last[tokens.tak_hidden_position]
        loss = None
        if with_lm_loss:
            logits = self.llm.lm_head(out.last_hidden_state).float()
            labels = tokens.labels[None].to(device)
            loss = nn.functional.cross_entropy(logits[0, :-1], labels[0, 1:], ignore_index=-100)
        return BackboneOutput(seg_hidden=seg, tak_hidden=tak, lm_loss=loss)

    def compile(self, mode: str = "default") -> None:
        """Wrap the LLaMA decoder's forward in ``torch.compile`` (optional, GPU speed-up).

        Shapes change with the number of frames, so it compiles with dynamic shapes.
        """
        self.llm.model.forward = torch.compile(self.llm.model.forward, mode=mode, dynamic=True)

    def save(self, directory: Path) -> None:
        """Refuse: a release is read-only here (write it with the official tools)."""
        raise BackboneError("saving a Chat-UniVi backbone is not supported; the release "
                            "directory is the saved form")
