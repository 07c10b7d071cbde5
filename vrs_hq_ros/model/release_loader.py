"""Load the official VRS-HQ release (a merged HF ``VrshqForCausalLM`` folder) key for key.

The release (``merge_lora_weights.py`` + ``save_pretrained``, transformers 4.31) holds
``config.json`` (LLaMA + ``mm_*`` + the Chat-UniVi ``config`` block), the slow LLaMA tokenizer,
and weight shards (``*.safetensors`` or ``*.bin``, with or without an index). Key prefixes:

  model.visual_model.*          -> sam2.*            (SAM 2.0 Hiera-L)
  model.text_hidden_fcs.0.{0,2} -> projection.mlp.{0,2}
  model.mm_projector.*          -> backbone.mm_projector.*
  model.vision_tower.vision_tower.* -> backbone.vision_tower.* (the merge script drops these:
                                   then they come from the local CLIP ViT-L/14 folder)
  lm_head.*, model.*            -> backbone.llm.lm_head.*, backbone.llm.model.*

Every missing and unexpected key is reported; any of either refuses the load. An optional
``vrs_hq_ros.json`` next to ``config.json`` overrides the SAM2 architecture, the CLIP folders,
``alpha`` and TKS (the tests' tiny release uses it); without it SAM 2.0 Hiera-L is assumed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import torch
from safetensors.torch import load_file
from transformers import AutoImageProcessor, AutoTokenizer, CLIPVisionConfig, LlamaConfig
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

from vrs_hq_ros.model.chatunivi_backbone import ChatUniViBackbone, ChatUniViSpec
from vrs_hq_ros.model.config import ClipAnchorConfig, SAM2Config, TKSConfig, VRSHQConfig
from vrs_hq_ros.model.hole_filling import OFFICIAL_FILL_HOLE_AREA

logger = logging.getLogger(__name__)

SIDECAR = "vrs_hq_ros.json"
VISION_TOWER_DIR = "clip-vit-large-patch14"  # default place of the tower inside the release
CLIP_ANCHOR_DIR = "clip-vit-large-patch14-336"
RELEASE_ARCH = "VrshqForCausalLM"
_TOWER = "backbone.vision_tower."
_PREFIXES = (  # release prefix -> our prefix, first match wins
    ("model.visual_model.", "sam2."),
    ("model.text_hidden_fcs.0.", "projection.mlp."),
    ("model.mm_projector.", "backbone.mm_projector."),
    ("model.vision_tower.vision_tower.", "backbone.vision_tower."),
    ("lm_head.", "backbone.llm.lm_head."),
    ("model.", "backbone.llm.model."),
)
# Buffers 4.31 saved that current transformers recomputes (non-persistent now).
_RECOMPUTED_SUFFIXES = ("rotary_emb.inv_freq", "embeddings.position_ids")


class ReleaseLoadError(ValueError):
    """The release folder is incomplete, inconsistent, or does not match the architecture."""


@dataclass
class KeyReport:
    """Outcome of the key-for-key load (release key names)."""

    loaded: int = 0
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    vision_tower_from: Optional[str] = None


def is_release_dir(directory: str | Path) -> bool:
    """Tell whether ``config.json`` names ``VrshqForCausalLM`` or a Chat-UniVi tower."""
    path = Path(directory) / "config.json"
    if not path.is_file():
        return False
    cfg = json.loads(path.read_text())
    return RELEASE_ARCH in cfg.get("architectures", []) or "mm_vision_tower" in cfg


def map_key(key: str) -> Optional[str]:
    """Release key -> our ``VRSHQ`` state-dict key (None: not a known prefix)."""
    for src, dst in _PREFIXES:
        if key.startswith(src):
            rest = key[len(src):]
            if dst == _TOWER:  # transformers 5 dropped CLIPVisionModel's vision_model level
                rest = rest.removeprefix("vision_model.")
            return dst + rest
    return None


def _shard_files(directory: Path) -> list[Path]:
    for index in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        if (directory / index).is_file():
            weight_map = json.loads((directory / index).read_text())["weight_map"]
            return [directory / name for name in sorted(set(weight_map.values()))]
    for single in ("model.safetensors", "pytorch_model.bin"):
        if (directory / single).is_file():
            return [directory / single]
    raise ReleaseLoadError(f"{directory} holds no model.safetensors / pytorch_model.bin "
                           f"(or their index)")


def _read_shard(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise ReleaseLoadError(f"weight shard {path} is missing")
    if path.suffix == ".safetensors":
        return load_file(str(path))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling refuses anything but tensors and containers
        raise ReleaseLoadError(f"cannot read {path} with weights_only=True: {exc}") from exc


def _find_dir(directory: Path, given: Optional[str], default_name: str, what: str) -> Path:
    candidates = [Path(given).expanduser()] if given else []
    if given and not Path(given).is_absolute():
        candidates.append(directory / given)
    candidates.append(directory / default_name)
    for path in candidates:
        if (path / "config.json").is_file():
            return path
    raise ReleaseLoadError(
        f"{what} not found (looked in {[str(c) for c in candidates]}); download it as a local "
        f"Hugging Face folder (see docs/OFFICIAL_MODEL.md)")


def read_spec(directory: Path, vision_dir: Path) -> ChatUniViSpec:
    """``config.json`` of the release + the tower's config -> the backbone architecture."""
    cfg = json.loads((directory / "config.json").read_text())
    cluster = cfg.get("config") or {}
    if not cluster.get("use_cluster", False):
        raise ReleaseLoadError("config.json: Chat-UniVi 'config.use_cluster' must be true")
    rates = tuple(float(cluster[f"spatial_cluster_rate{i}"]) for i in range(3))
    llama_fields = {k: v for k, v in cfg.items() if k in LlamaConfig().to_dict()
                    and k not in ("architectures", "model_type", "transformers_version",
                                  "torch_dtype", "_name_or_path")
                    and not (k == "rope_scaling" and v is None)}
    llama = LlamaConfig(**llama_fields)
    vision_cfg = json.loads((vision_dir / "config.json").read_text())
    vision = CLIPVisionConfig(**vision_cfg.get("vision_config", vision_cfg))
    if vision.hidden_size != cfg.get("mm_hidden_size", vision.hidden_size):
        raise ReleaseLoadError(f"mm_hidden_size {cfg['mm_hidden_size']} != the tower's "
                               f"{vision.hidden_size} ({vision_dir})")
    return ChatUniViSpec(llama=llama, vision=vision,
                         select_layer=int(cfg.get("mm_vision_select_layer", -2)),
                         cluster_rates=rates)


def release_config(directory: Path, sidecar: dict, clip_dir: Path) -> VRSHQConfig:
    """VRS-HQ config of a release: SAM 2.0 Hiera-L unless the sidecar says otherwise."""
    sam2 = (SAM2Config.from_dict(sidecar["sam2"]) if "sam2" in sidecar
            else SAM2Config.hiera_large(version="2.0"))
    tks = TKSConfig(**sidecar.get("tks", {}))
    return VRSHQConfig(sam2=sam2, clip=ClipAnchorConfig(hf_dir=str(clip_dir)), tks=tks,
                       alpha=float(sidecar.get("alpha", 0.1)))


def load_release(directory: str | Path, vision_tower_dir: Optional[str] = None,
                 clip_dir: Optional[str] = None, attn_implementation: str = "sdpa"):
    """Build ``VRSHQ`` from a release folder (CPU, release dtype).

    Raises ``ReleaseLoadError`` when any key is missing or unexpected.
    """
    from vrs_hq_ros.model.vrshq import VRSHQ

    directory = Path(directory)
    if not is_release_dir(directory):
        raise ReleaseLoadError(f"{directory} is not a VRS-HQ release folder")
    sidecar_path = directory / SIDECAR
    sidecar = json.loads(sidecar_path.read_text()) if sidecar_path.is_file() else {}
    vision_dir = _find_dir(directory, vision_tower_dir or sidecar.get("vision_tower"),
                           VISION_TOWER_DIR, "CLIP ViT-L/14 vision tower")
    anchor_dir = _find_dir(directory, clip_dir or sidecar.get("clip_anchor"), CLIP_ANCHOR_DIR,
                           "CLIP ViT-L/14-336 anchor")
    spec = read_spec(directory, vision_dir)
    tokenizer = AutoTokenizer.from_pretrained(directory, use_fast=False, local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.unk_token  # official: pad = unk
    # the PIL back end reproduces transformers 4.31's resize/crop exactly (torchvision does not)
    processor = AutoImageProcessor.from_pretrained(vision_dir, backend="pil",
                                                   local_files_only=True)
    with torch.device("meta"):  # weights come from the shards; skip a 7B random init
        backbone = ChatUniViBackbone(spec, tokenizer, processor, attn_implementation)
    model = VRSHQ(release_config(directory, sidecar, anchor_dir), backbone=backbone)
    report = _load_weights(model, directory, vision_dir)
    _restore_buffers(model, spec)
    model.sam2.float()  # SAM2 keeps float32 weights (VRSHQ.to)
    model.fill_hole_area = int(sidecar.get("fill_hole_area", OFFICIAL_FILL_HOLE_AREA))
    model.pad_to_square = bool(sidecar.get("pad_to_square", True))  # official letterbox
    model.official_window_sampling = True  # engine windows: whole span, <= 11 around anchor
    logger.info("loaded release %s: %d tensors, vision tower from %s, %d recomputed buffers",
                directory, report.loaded, report.vision_tower_from, len(report.ignored))
    model.release_report = report
    return model.eval()


def _load_weights(model, directory: Path, vision_dir: Path) -> KeyReport:
    # the CLIP anchor comes from its own folder, never from the release
    expected = {k for k in model.state_dict() if not k.startswith("clip.")}
    report = KeyReport()
    seen: set[str] = set()
    for shard in _shard_files(directory):
        state = _read_shard(shard)
        mapped = {}
        for key, tensor in state.items():
            target = _fit_tower(map_key(key), expected)
            if key.endswith(_RECOMPUTED_SUFFIXES) and target not in expected:
                report.ignored.append(key)
            elif target is None or target not in expected:
                report.unexpected.append(key)
            else:
                mapped[target] = tensor
        _assign(model, mapped, shard)
        seen |= set(mapped)
        report.loaded += len(mapped)
        del state, mapped
    tower = {k for k in expected if k.startswith("backbone.vision_tower.")}
    if not tower & seen:  # the merge script drops the tower: take the local CLIP folder's
        report.vision_tower_from = str(vision_dir)
        mapped = {}
        for shard in _tower_files(vision_dir):
            for key, tensor in _read_shard(shard).items():
                # a full CLIPModel folder (openai's) also holds the text tower: not ours
                target = _fit_tower(_TOWER + key.removeprefix("vision_model."), expected)
                if target in tower:
                    mapped[target] = tensor
        _assign(model, mapped, vision_dir)
        seen |= set(mapped)
        report.loaded += len(mapped)
    else:
        report.vision_tower_from = str(directory)
    report.missing = sorted(_release_name(k) for k in expected - seen)
    if report.missing or report.unexpected:
        for name in report.missing:
            logger.error("release key missing: %s", name)
        for name in report.unexpected:
            logger.error("release key unexpected: %s", name)
        raise ReleaseLoadError(
            f"{directory} does not match the VRS-HQ architecture: {len(report.missing)} "
            f"missing keys {report.missing[:10]}, {len(report.unexpected)} unexpected keys "
            f"{report.unexpected[:10]} (all listed in the log); refusing a partial load")
    return report


def _fit_tower(target: Optional[str], expected: set[str]) -> Optional[str]:
    """Add the ``vision_model.`` level transformers < 5 keeps inside ``CLIPVisionModel``."""
    if target is None or target in expected or not target.startswith(_TOWER):
        return target
    nested = _TOWER + "vision_model." + target[len(_TOWER):]
    return nested if nested in expected else target


def _tower_files(vision_dir: Path) -> list[Path]:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (vision_dir / name).is_file():
            return [vision_dir / name]
    return _shard_files(vision_dir)


def _release_name(key: str) -> str:
    for src, dst in reversed(_PREFIXES):
        if key.startswith(dst):
            return src + ("vision_model." if dst == _TOWER else "") + key[len(dst):]
    return key


def _assign(model, mapped: dict[str, torch.Tensor], source) -> None:
    try:
        model.load_state_dict(mapped, strict=False, assign=True)
    except RuntimeError as exc:  # shape mismatches raise even when strict=False
        raise ReleaseLoadError(f"{source}: weights do not fit the architecture: {exc}") from exc


def _restore_buffers(model, spec: ChatUniViSpec) -> None:
    """Recompute the non-persistent buffers a meta-device build left empty."""
    llm = model.backbone.llm
    llm.model.rotary_emb = LlamaRotaryEmbedding(config=spec.llama)
    tower = model.backbone.vision_tower
    embeddings = getattr(tower, "vision_model", tower).embeddings
    embeddings.register_buffer("position_ids", torch.arange(embeddings.num_positions)[None],
                               persistent=False)
    left = [name for name, t in list(model.named_parameters()) + list(model.named_buffers())
            if t.is_meta]
    if left:
        raise ReleaseLoadError(f"tensors without weights after loading: {left[:10]}")
