"""The reasoning backbone interface: frames + sentence -> last-layer [SEG]/[TAK] states.

Implementations (``llava_backbone.LlavaBackbone`` here; the official Chat-UniVi later) differ
in how frames become visual tokens; the prompt, the token positions and the outputs are shared.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import nn

from vrs_hq_ros.model.prompt import PromptTokens, build_conversation, tokenize_conversation


class BackboneError(RuntimeError):
    """The backbone cannot be built, loaded or run on the given input."""


@dataclass
class BackboneOutput:
    """Hidden states read at the [SEG]/[TAK] positions of the last layer.

    ``seg_hidden`` [T', D], ``tak_hidden`` [D]; ``lm_loss`` is the teacher-forced text
    cross-entropy over the answer tokens (a scalar) when it was asked for, else ``None``;
    ``tak_attention`` [layers, heads, L]: the attention row of the [TAK] read position in the
    layers a training pass asked for, else ``None``.
    """

    seg_hidden: torch.Tensor
    tak_hidden: torch.Tensor
    lm_loss: Optional[torch.Tensor] = None
    tak_attention: Optional[torch.Tensor] = None


class ReasoningBackbone(nn.Module, abc.ABC):
    """A multimodal LLM answering one [SEG] per frame and one [TAK] per clip."""

    tokenizer = None  # a Hugging Face tokenizer with <image>, [SEG], [TAK]

    @property
    @abc.abstractmethod
    def hidden_size(self) -> int:
        """Width D of the last-layer hidden states."""

    @property
    @abc.abstractmethod
    def tokens_per_image(self) -> int:
        """Visual tokens one frame expands to in the LLM sequence."""

    @abc.abstractmethod
    def preprocess_frames(self, frames: list[np.ndarray]) -> torch.Tensor:
        """RGB uint8 frames [H, W, 3] -> the vision tower's input [T', 3, s, s]."""

    @abc.abstractmethod
    def forward_tokens(self, pixel_values: torch.Tensor, tokens: PromptTokens,
                       with_lm_loss: bool = False) -> BackboneOutput:
        """One teacher-forced forward pass over the expanded prompt."""

    @abc.abstractmethod
    def save(self, directory: Path) -> None:
        """Write the architecture config and tokenizer (weights are saved by the owner)."""

    def encode_prompt(self, num_frames: int, sentence: str, question_variant: int = 0,
                      answer_variant: int = 0, short: bool = False) -> PromptTokens:
        """Render and tokenise the VRS-HQ conversation for ``num_frames`` frames.

        Variant 0 is the official inference text; training draws the others. ``short``: the
        bare curriculum form (``prompt.build_conversation``), training only.
        """
        conversation = build_conversation(num_frames, sentence, question_variant,
                                          answer_variant, short=short)
        return tokenize_conversation(conversation, self.tokenizer, self.tokens_per_image)

    def forward(self, frames: list[np.ndarray], sentence: str, with_lm_loss: bool = False,
                question_variant: int = 0, answer_variant: int = 0,
                short_prompt: bool = False) -> BackboneOutput:
        """Frames + sentence -> [SEG]/[TAK] hidden states (and the text loss if asked)."""
        tokens = self.encode_prompt(len(frames), sentence, question_variant, answer_variant,
                                    short=short_prompt)
        return self.forward_tokens(self.preprocess_frames(frames), tokens, with_lm_loss)
