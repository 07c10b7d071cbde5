"""Write a fabricated VRS-HQ release: official file layout, key names and config fields, tiny sizes.

Layout (as ``merge_lora_weights.py`` + transformers 4.31 ``save_pretrained`` writes it, without
the vision tower) plus the two local CLIP folders the docs ask for, and a ``vrs_hq_ros.json``
sidecar giving the tiny SAM2 architecture.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import sentencepiece
import torch
from safetensors.torch import save_file
from tokenizers.pre_tokenizers import ByteLevel
from transformers import (
    CLIPConfig,
    CLIPImageProcessor,
    CLIPModel,
    CLIPProcessor,
    CLIPTokenizer,
    CLIPVisionConfig,
    CLIPVisionModel,
    LlamaConfig,
    LlamaForCausalLM,
)

from vrs_hq_ros.model.config import SAM2Config
from vrs_hq_ros.model.projection import TokenProjection
from vrs_hq_ros.model.prompt import SYSTEM_PROMPT, build_conversation
from vrs_hq_ros.model.sam2_builder import build_sam2

VOCAB = 320  # sentencepiece pieces; [SEG] = 320, [TAK] = 321 as added tokens
TOWER_SIZE = 126  # 9 x 9 patches of 14 px: enough for the official 64/32/16 clusters
SAM2_SIZE = 128
LLAMA = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=4, max_position_embeddings=4096, rms_norm_eps=1e-6,
             bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False,
             vocab_size=VOCAB + 2, hidden_act="silu", initializer_range=0.02)
CLUSTER = {"use_cluster": True, "freeze": False, "vision_tune": False,
           "spatial_cluster_rate0": 64, "spatial_cluster_rate1": 32,
           "spatial_cluster_rate2": 16, "temporal_cluster_rate": 0.0625}


def tiny_sam2_config() -> SAM2Config:
    """SAM 2.0 settings (the paper's) at tiny size."""
    return SAM2Config.from_dict({**SAM2Config.tiny_random(SAM2_SIZE).to_dict(), "version": "2.0"})


def _write_tokenizer(out: Path) -> None:
    corpus = [SYSTEM_PROMPT] + [build_conversation(n, s).text.replace("<image>", " ")
                                for n in (1, 3, 11) for s in ("the dog on the left",
                                                              "which cat is jumping?")]
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus * 20), model_writer=model, vocab_size=VOCAB,
        model_type="bpe", byte_fallback=True, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        character_coverage=1.0, hard_vocab_limit=False, minloglevel=2)
    (out / "tokenizer.model").write_bytes(model.getvalue())
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": False,
        "model_max_length": 2048, "padding_side": "right", "pad_token": None,
        "clean_up_tokenization_spaces": False, "sp_model_kwargs": {}, **special}))
    (out / "special_tokens_map.json").write_text(json.dumps({**special, "pad_token": "<unk>"}))
    (out / "added_tokens.json").write_text(json.dumps({"[SEG]": VOCAB, "[TAK]": VOCAB + 1}))


def _write_clip_folders(root: Path) -> None:
    torch.manual_seed(1)  # the parity fixture was recorded from exactly these weights
    tower = CLIPVisionConfig(image_size=TOWER_SIZE, patch_size=14, hidden_size=32,
                             num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                             projection_dim=32)
    tower_dir = root / "clip-vit-large-patch14"
    tower_dir.mkdir()
    # openai's folder layout: "vision_model.*" keys, which transformers 4.31 also reads
    save_file({"vision_model." + k: v.contiguous() for k, v in
               CLIPVisionModel(tower).state_dict().items()},
              str(tower_dir / "model.safetensors"), metadata={"format": "pt"})
    tower.save_pretrained(tower_dir)
    CLIPImageProcessor(size={"shortest_edge": TOWER_SIZE},
                       crop_size={"height": TOWER_SIZE, "width": TOWER_SIZE}).save_pretrained(
        root / "clip-vit-large-patch14")

    anchor_dir = root / "clip-vit-large-patch14-336"
    anchor_dir.mkdir()
    chars = sorted(ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(chars + [c + "</w>" for c in chars])}
    vocab.update({"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1})
    (anchor_dir / "vocab.json").write_text(json.dumps(vocab))
    (anchor_dir / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(anchor_dir / "vocab.json"), str(anchor_dir / "merges.txt"))
    config = CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=77,
                         bos_token_id=vocab["<|startoftext|>"],
                         eos_token_id=vocab["<|endoftext|>"]),
        vision_config=dict(image_size=56, patch_size=14, hidden_size=32, intermediate_size=64,
                           num_hidden_layers=1, num_attention_heads=2), projection_dim=32)
    CLIPModel(config).save_pretrained(anchor_dir)
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 56},
                                           crop_size={"height": 56, "width": 56}),
        tokenizer=tokenizer)
    processor.save_pretrained(anchor_dir)


def release_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights under the official key names (vision tower left out, as released)."""
    torch.manual_seed(seed)
    state = dict(LlamaForCausalLM(LlamaConfig(**LLAMA)).state_dict())
    # transformers 4.31 saved the rotary inv_freq buffers with the weights
    head_dim = LLAMA["hidden_size"] // LLAMA["num_attention_heads"]
    inv_freq = 1.0 / (10000 ** (torch.arange(0, head_dim, 2).float() / head_dim))
    for layer in range(LLAMA["num_hidden_layers"]):
        state[f"model.layers.{layer}.self_attn.rotary_emb.inv_freq"] = inv_freq
    state["model.mm_projector.weight"] = torch.randn(LLAMA["hidden_size"], 32) * 0.05
    state["model.mm_projector.bias"] = torch.zeros(LLAMA["hidden_size"])
    for key, value in TokenProjection(LLAMA["hidden_size"]).state_dict().items():
        state["model.text_hidden_fcs.0." + key.removeprefix("mlp.")] = value
    for key, value in build_sam2(tiny_sam2_config()).state_dict().items():
        state["model.visual_model." + key] = value
    # Random SAM2 heads judge every frame "no object" (masks -> -1024); a positive object-score
    # bias makes masks, memories and propagation non-trivial for the parity tests.
    state["model.visual_model.sam_mask_decoder.pred_obj_score_head.layers.2.bias"] += 0.6
    return {k: v.contiguous().clone() for k, v in state.items()}


def write_release(root: Path, fmt: str = "bin", drop_key: str | None = None) -> Path:
    """Write the fabricated release under ``root`` and return its folder."""
    root.mkdir(parents=True, exist_ok=True)
    _write_tokenizer(root)
    _write_clip_folders(root)
    config = {**LLAMA, "architectures": ["VrshqForCausalLM"], "model_type": "ChatUniVi",
              "mm_vision_tower": "openai/clip-vit-large-patch14", "vision_tower":
              "openai/clip-vit-large-patch14", "mm_hidden_size": 32,
              "mm_vision_select_layer": -2, "mm_vision_select_feature": "patch",
              "mm_use_im_start_end": False, "mm_use_im_patch_token": False,
              "image_aspect_ratio": "square", "config": CLUSTER, "train_mask_decoder": True,
              "out_dim": 256, "use_cache": False, "torch_dtype": "float32",
              "transformers_version": "4.31.0", "pretraining_tp": 1, "rope_scaling": None}
    (root / "config.json").write_text(json.dumps(config, indent=2))
    (root / "vrs_hq_ros.json").write_text(json.dumps({"sam2": tiny_sam2_config().to_dict()}))
    state = release_state_dict()
    if drop_key is not None:
        del state[drop_key]
    keys = sorted(state)
    shards = {f"pytorch_model-0000{i + 1}-of-00002.{fmt}": keys[i::2] for i in range(2)}
    if fmt == "safetensors":
        shards = {k.replace("pytorch_model", "model"): v for k, v in shards.items()}
    for name, shard_keys in shards.items():
        part = {k: state[k] for k in shard_keys}
        if fmt == "bin":
            torch.save(part, root / name)
        else:
            save_file(part, str(root / name), metadata={"format": "pt"})
    index = "pytorch_model.bin.index.json" if fmt == "bin" else "model.safetensors.index.json"
    (root / index).write_text(json.dumps({"metadata": {}, "weight_map": {
        k: name for name, shard_keys in shards.items() for k in shard_keys}}))
    return root
