"""``ReasoningBackbone`` on transformers' LLaVA (CLIP vision tower + projector + LLaMA)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import (
    AutoTokenizer,
    CLIPVisionConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
)
from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

from vrs_hq_ros.model.backbone import BackboneError, BackboneOutput, ReasoningBackbone
from vrs_hq_ros.model.config import LlavaBackboneConfig
from vrs_hq_ros.model.prompt import IMAGE_TOKEN, PromptTokens
from vrs_hq_ros.model.sam2_builder import check_frame
from vrs_hq_ros.model.tokenizer_builder import add_vrs_tokens, build_byte_tokenizer

logger = logging.getLogger(__name__)

TOKENIZER_DIR = "tokenizer"
HF_CONFIG_FILE = "llava_config.json"


def _tiny_llava_config(cfg: LlavaBackboneConfig, tokenizer) -> LlavaConfig:
    vision = CLIPVisionConfig(
        image_size=cfg.vision_image_size, patch_size=cfg.vision_patch_size,
        hidden_size=cfg.vision_hidden_size, num_hidden_layers=cfg.vision_layers,
        num_attention_heads=cfg.vision_heads, intermediate_size=cfg.vision_intermediate_size,
        projection_dim=cfg.vision_hidden_size, num_channels=6 if cfg.vision_frame_pairs else 3)
    init = {} if cfg.text_initializer_range is None else {
        "initializer_range": cfg.text_initializer_range}
    text = LlamaConfig(
        **init, vocab_size=len(tokenizer), hidden_size=cfg.text_hidden_size,
        num_hidden_layers=cfg.text_layers, num_attention_heads=cfg.text_heads,
        num_key_value_heads=cfg.text_heads, intermediate_size=cfg.text_intermediate_size,
        max_position_embeddings=cfg.max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id)
    return LlavaConfig(vision_config=vision, text_config=text,
                       image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
                       image_seq_length=cfg.tokens_per_image,
                       vision_feature_select_strategy="default", vision_feature_layer=-2)


def with_frame_differences(pixels: torch.Tensor) -> torch.Tensor:
    """[T', 3, s, s] -> [T', 6, s, s]: each frame and its difference to the next one.

    The last frame takes the difference to the one before it (a single frame: zeros), so
    every token sees how much, not which way, its content moves.
    """
    if pixels.shape[0] < 2:
        return torch.cat([pixels, torch.zeros_like(pixels)], dim=1)
    diffs = pixels[1:] - pixels[:-1]
    return torch.cat([pixels, torch.cat([diffs, diffs[-1:]])], dim=1)


def _sincos_positions(embedding: torch.nn.Embedding, grid: int) -> None:
    """Write a 2D sine-cosine table into CLIP's position embeddings (row 0: the CLS token)."""
    dim = embedding.weight.shape[1]
    quarter = dim // 4
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float32),
                            torch.arange(grid, dtype=torch.float32), indexing="ij")
    omega = 1.0 / 100.0 ** (torch.arange(quarter, dtype=torch.float32) / max(quarter, 1))

    def encode(values: torch.Tensor) -> torch.Tensor:
        angles = values.flatten()[:, None] / grid * torch.pi * omega[None]
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    table = torch.cat([encode(xs), encode(ys)], dim=1)
    with torch.no_grad():
        embedding.weight.zero_()
        embedding.weight[1:, :table.shape[1]] = table


class LlavaBackbone(ReasoningBackbone):
    """LLaVA reading T' frames as T' images, each expanded to its patch tokens."""

    def __init__(self, cfg: LlavaBackboneConfig, tokenizer, llava: LlavaForConditionalGeneration):
        super().__init__()
        self.cfg = cfg
        self.tokenizer = tokenizer
        self.llava = llava
        vision = llava.config.vision_config
        self._tokens_per_image = (vision.image_size // vision.patch_size) ** 2
        self._image_size = vision.image_size
        if cfg.image_token_norm:
            scale = cfg.text_initializer_range or cfg.text_hidden_size ** -0.5
            llava.model.multi_modal_projector.register_forward_hook(
                lambda _module, _inputs, out: torch.nn.functional.layer_norm(
                    out, out.shape[-1:]) * scale)
        self.frame_times = FrameTimes(self.hidden_size) if cfg.vision_frame_times else None
        self._window_times: torch.Tensor | None = None  # [frames], set around each pass
        if self.frame_times is not None:
            llava.model.multi_modal_projector.register_forward_hook(self._add_frame_times)

    def _add_frame_times(self, _module, _inputs, out: torch.Tensor) -> torch.Tensor:
        if self._window_times is None or self._window_times.shape[0] != out.shape[0]:
            raise BackboneError("frame times were not set for this pass")
        return out + self.frame_times(self._window_times.to(out.device))[:, None].to(out.dtype)

    def _set_window_times(self, frame_counts: list[int]) -> None:
        """Each frame's place i / (T' - 1) in its window, prompt after prompt."""
        self._window_times = torch.cat([torch.linspace(0, 1, n) if n > 1 else torch.zeros(1)
                                        for n in frame_counts])

    @classmethod
    def build(cls, cfg: LlavaBackboneConfig, tokenizer=None) -> LlavaBackbone:
        """Random tiny model (sizes from ``cfg``) or the local ``cfg.pretrained_dir`` weights.

        ``tokenizer`` (with ``<image>``, ``[SEG]``, ``[TAK]``) replaces the byte-level one of a
        random model.
        """
        if cfg.pretrained_dir is None:
            tokenizer = tokenizer if tokenizer is not None else build_byte_tokenizer()
            llava = LlavaForConditionalGeneration(_tiny_llava_config(cfg, tokenizer))
            if cfg.vision_sincos_positions:
                _sincos_positions(llava.model.vision_tower.embeddings.position_embedding,
                                  cfg.vision_image_size // cfg.vision_patch_size)
        else:
            path = Path(cfg.pretrained_dir)
            if not path.is_dir():
                raise BackboneError(f"LLaVA folder not found: {path}")
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            llava = LlavaForConditionalGeneration.from_pretrained(path, local_files_only=True)
            if add_vrs_tokens(tokenizer):
                llava.resize_token_embeddings(len(tokenizer))
            llava.config.image_token_index = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
        return cls(cfg, tokenizer, llava.to(getattr(torch, cfg.dtype)))

    @classmethod
    def load(cls, cfg: LlavaBackboneConfig, directory: Path) -> LlavaBackbone:
        """Rebuild the architecture saved by ``save`` (weights are loaded by the owner)."""
        tok_dir, hf_file = directory / TOKENIZER_DIR, directory / HF_CONFIG_FILE
        if not tok_dir.is_dir() or not hf_file.is_file():
            raise BackboneError(f"{directory} lacks {TOKENIZER_DIR}/ or {HF_CONFIG_FILE}")
        tokenizer = AutoTokenizer.from_pretrained(tok_dir, local_files_only=True)
        hf_config = LlavaConfig.from_dict(json.loads(hf_file.read_text()))
        llava = LlavaForConditionalGeneration(hf_config)
        return cls(cfg, tokenizer, llava.to(getattr(torch, cfg.dtype)))

    def save(self, directory: Path) -> None:
        """Write the tokenizer and the LLaVA architecture config into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(directory / TOKENIZER_DIR)
        (directory / HF_CONFIG_FILE).write_text(self.llava.config.to_json_string())

    @property
    def hidden_size(self) -> int:
        """Width of the LLM's hidden states."""
        return self.llava.config.text_config.hidden_size

    @property
    def tokens_per_image(self) -> int:
        """Patch tokens per frame."""
        return self._tokens_per_image

    def preprocess_frames(self, frames: list[np.ndarray]) -> torch.Tensor:
        """Bicubic resize to the tower's square input, /255, CLIP mean/std -> [T', 3, s, s].

        With ``vision_frame_pairs`` each frame also carries its difference to the next
        sampled frame: [T', 6, s, s].
        """
        if not frames:
            raise BackboneError("no frames given")
        size = self._image_size
        batch = []
        for rgb in frames:
            check_frame(rgb)
            resized = np.array(Image.fromarray(rgb).resize((size, size), Image.BICUBIC))
            batch.append(torch.from_numpy(resized).permute(2, 0, 1))
        pixels = torch.stack(batch).float() / 255.0
        mean = torch.tensor(self.cfg.image_mean)[None, :, None, None]
        std = torch.tensor(self.cfg.image_std)[None, :, None, None]
        pixels = (pixels - mean) / std
        return with_frame_differences(pixels) if self.cfg.vision_frame_pairs else pixels

    def forward_tokens(self, pixel_values: torch.Tensor, tokens: PromptTokens,
                       with_lm_loss: bool = False) -> BackboneOutput:
        """Teacher-forced pass; reads the last layer one position before each [SEG]/[TAK]."""
        param = next(self.llava.parameters())
        input_ids = tokens.input_ids[None].to(param.device)
        labels = tokens.labels[None].to(param.device) if with_lm_loss else None
        self._set_window_times([pixel_values.shape[0]])
        out = self.llava(input_ids=input_ids, pixel_values=pixel_values.to(param.device,
                                                                           param.dtype),
                         labels=labels, output_hidden_states=True, use_cache=False,
                         return_dict=True)
        last = out.hidden_states[-1][0]  # [L, D]
        seg = last[tokens.seg_hidden_positions.to(param.device)]
        tak = last[tokens.tak_hidden_position]
        return BackboneOutput(seg_hidden=seg, tak_hidden=tak,
                              lm_loss=out.loss if with_lm_loss else None)

    def forward_tokens_batch(self, pixel_values: list[torch.Tensor],
                             tokens: list[PromptTokens],
                             attention_layers: tuple[int, ...] = ()) -> list[BackboneOutput]:
        """Teacher-forced pass over several prompts at once (training; no text loss).

        Prompts are right-padded into one batch and their frames concatenated in order, so each
        row's <image> positions take its own frames; row i equals ``forward_tokens`` on it.
        ``attention_layers``: LLM layers whose attention rows at the [TAK] read position are
        returned (``tak_attention``, differentiable).
        """
        if len(pixel_values) != len(tokens) or not tokens:
            raise BackboneError("one pixel tensor per prompt, at least one prompt")
        param = next(self.llava.parameters())
        length = max(len(t.input_ids) for t in tokens)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.full((len(tokens), length), pad, dtype=torch.long)
        attention = torch.zeros((len(tokens), length), dtype=torch.long)
        for row, t in enumerate(tokens):
            input_ids[row, :len(t.input_ids)] = t.input_ids
            attention[row, :len(t.input_ids)] = 1
        pixels = torch.cat(pixel_values).to(param.device, param.dtype)
        self._set_window_times([p.shape[0] for p in pixel_values])
        layers = self.llava.model.language_model.layers
        with _LayerInputs([layers[i].self_attn for i in attention_layers]) as inputs:
            out = self.llava(input_ids=input_ids.to(param.device), pixel_values=pixels,
                             attention_mask=attention.to(param.device),
                             output_hidden_states=True, use_cache=False, return_dict=True)
        reads = [t.tak_hidden_position for t in tokens]
        rows = [_query_row(layers[i].self_attn, *inputs.captured[n], reads)
                for n, i in enumerate(attention_layers)]
        last = out.hidden_states[-1]  # [B, L, D]
        return [BackboneOutput(seg_hidden=last[row, t.seg_hidden_positions.to(param.device)],
                               tak_hidden=last[row, t.tak_hidden_position],
                               tak_attention=torch.stack([r[row] for r in rows])[
                                   ..., :len(t.input_ids)] if rows else None)
                for row, t in enumerate(tokens)]


class FrameTimes(torch.nn.Module):
    """Place of a frame in its window, t in [0, 1] -> [D]: sine-cosine features, a linear map.

    The map starts at zero, so a model given it starts out answering as without it.
    """

    def __init__(self, hidden_size: int, frequencies: int = 8):
        super().__init__()
        self.register_buffer("omega", torch.pi * 2.0 ** torch.arange(frequencies) / 2,
                             persistent=False)
        self.proj = torch.nn.Linear(2 * frequencies, hidden_size)
        torch.nn.init.zeros_(self.proj.weight)
        torch.nn.init.zeros_(self.proj.bias)

    def forward(self, times: torch.Tensor) -> torch.Tensor:
        """[frames] in [0, 1] -> [frames, D]."""
        angles = times.float()[:, None] * self.omega[None]
        return self.proj(torch.cat([angles.sin(), angles.cos()], dim=1))


class _LayerInputs:
    """Keep the hidden states and rotary embeddings each given attention module receives."""

    def __init__(self, modules: list[torch.nn.Module]):
        self.modules, self.captured, self.handles = modules, [None] * len(modules), []

    def __enter__(self) -> _LayerInputs:
        for n, module in enumerate(self.modules):
            def keep(_module, args, kwargs, n=n):
                hidden = kwargs.get("hidden_states", args[0] if args else None)
                self.captured[n] = (hidden, kwargs["position_embeddings"])
            self.handles.append(module.register_forward_pre_hook(keep, with_kwargs=True))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self.handles:
            handle.remove()


def _query_row(attn: torch.nn.Module, hidden: torch.Tensor, rotary: tuple[torch.Tensor, ...],
               reads: list[int]) -> torch.Tensor:
    """Attention weights [B, heads, L] of each row's query at ``reads[row]`` in LLaMA ``attn``.

    The same weights eager attention gives at that position (causal; right padding lies after
    every read position), computed for one query instead of L.
    """
    batch, length, _ = hidden.shape
    shape = (batch, length, -1, attn.head_dim)
    query = attn.q_proj(hidden).view(shape).transpose(1, 2)
    key = attn.k_proj(hidden).view(shape).transpose(1, 2)
    query, key = apply_rotary_pos_emb(query, key, *rotary)
    key = key.repeat_interleave(query.shape[1] // key.shape[1], dim=1)
    index = torch.tensor(reads, device=query.device)
    picked = query[torch.arange(batch), :, index]  # [B, heads, head_dim]
    logits = torch.einsum("bhd,bhld->bhl", picked, key) * attn.scaling
    future = torch.arange(length, device=query.device)[None, None] > index[:, None, None]
    return torch.softmax(logits.masked_fill(future, float("-inf")), dim=-1)
