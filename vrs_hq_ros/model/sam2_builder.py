"""Build SAM2 (``SAM2Base``) from a ``SAM2Config`` and preprocess frames as its video predictor.

The modules are constructed directly (no hydra compose), with the same arguments the official
``sam2.1_hiera_*.yaml`` configs pass, so an official checkpoint loads without key changes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sam2.modeling.backbones.hieradet import Hiera
from sam2.modeling.backbones.image_encoder import FpnNeck, ImageEncoder
from sam2.modeling.memory_attention import MemoryAttention, MemoryAttentionLayer
from sam2.modeling.memory_encoder import CXBlock, Fuser, MaskDownSampler, MemoryEncoder
from sam2.modeling.position_encoding import PositionEmbeddingSine
from sam2.modeling.sam.transformer import RoPEAttention
from sam2.modeling.sam2_base import SAM2Base

from vrs_hq_ros.model.config import SAM2Config
from vrs_hq_ros.model.conv_trunk import ConvTrunk

logger = logging.getLogger(__name__)

SAM2_PROMPT_DIM = 256
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class SAM2CheckpointError(RuntimeError):
    """A SAM2 checkpoint is missing, unreadable or does not match the config."""


class FrameFormatError(ValueError):
    """An input frame is not an RGB uint8 array [H, W, 3]."""


def _trunk(cfg: SAM2Config) -> torch.nn.Module:
    if cfg.trunk == "conv":
        return ConvTrunk(cfg.embed_dim, tuple(cfg.stages))
    return Hiera(
        embed_dim=cfg.embed_dim,
        num_heads=cfg.num_heads,
        stages=tuple(cfg.stages),
        global_att_blocks=tuple(cfg.global_att_blocks),
        window_spec=tuple(cfg.window_spec),
        window_pos_embed_bkg_spatial_size=tuple(cfg.window_pos_embed_bkg_spatial_size),
    )


def _image_encoder(cfg: SAM2Config) -> ImageEncoder:
    trunk = _trunk(cfg)
    channels = [cfg.embed_dim * 2**i for i in range(4)][::-1]
    neck = FpnNeck(
        position_encoding=PositionEmbeddingSine(num_pos_feats=SAM2_PROMPT_DIM, normalize=True,
                                                scale=None, temperature=10000),
        d_model=SAM2_PROMPT_DIM,
        backbone_channel_list=channels,
        fpn_top_down_levels=[2, 3],
        fpn_interp_model="nearest",
    )
    return ImageEncoder(trunk=trunk, neck=neck, scalp=1)


def _memory_attention(cfg: SAM2Config) -> MemoryAttention:
    feat = (cfg.feature_size, cfg.feature_size)

    def rope(**extra) -> RoPEAttention:
        return RoPEAttention(rope_theta=10000.0, feat_sizes=feat, embedding_dim=SAM2_PROMPT_DIM,
                             num_heads=1, downsample_rate=1, dropout=0.1, **extra)

    layer = MemoryAttentionLayer(
        activation="relu",
        dim_feedforward=cfg.memory_attention_ffn_dim,
        dropout=0.1,
        pos_enc_at_attn=False,
        self_attention=rope(),
        d_model=SAM2_PROMPT_DIM,
        pos_enc_at_cross_attn_keys=True,
        pos_enc_at_cross_attn_queries=False,
        cross_attention=rope(rope_k_repeat=True, kv_in_dim=cfg.memory_dim),
    )
    return MemoryAttention(d_model=SAM2_PROMPT_DIM, pos_enc_at_input=True, layer=layer,
                           num_layers=cfg.memory_attention_layers)


def _memory_encoder(cfg: SAM2Config) -> MemoryEncoder:
    fuser_layer = CXBlock(dim=SAM2_PROMPT_DIM, kernel_size=7, padding=3,
                          layer_scale_init_value=1e-6, use_dwconv=True)
    return MemoryEncoder(
        out_dim=cfg.memory_dim,
        position_encoding=PositionEmbeddingSine(num_pos_feats=cfg.memory_dim, normalize=True,
                                                scale=None, temperature=10000),
        mask_downsampler=MaskDownSampler(kernel_size=3, stride=2, padding=1),
        fuser=Fuser(layer=fuser_layer, num_layers=cfg.memory_fuser_layers),
    )


def build_sam2(cfg: SAM2Config, device: str | torch.device = "cpu",
               model_class: type[SAM2Base] = SAM2Base) -> SAM2Base:
    """Construct ``SAM2Base`` from ``cfg`` (random init, or ``cfg.checkpoint``), in eval mode.

    ``model_class`` may be a subclass taking the same arguments (``SAM2VideoPredictor``).
    """
    is_21 = cfg.version == "2.1"
    decoder_extra = None
    if cfg.dynamic_multimask_via_stability:
        decoder_extra = dict(dynamic_multimask_via_stability=True,
                             dynamic_multimask_stability_delta=0.05,
                             dynamic_multimask_stability_thresh=0.98)
    model = model_class(
        image_encoder=_image_encoder(cfg),
        memory_attention=_memory_attention(cfg),
        memory_encoder=_memory_encoder(cfg),
        num_maskmem=cfg.num_maskmem,
        image_size=cfg.image_size,
        sigmoid_scale_for_mem_enc=20.0,
        sigmoid_bias_for_mem_enc=-10.0,
        binarize_mask_from_pts_for_mem_enc=cfg.video_postprocessing,
        use_mask_input_as_output_without_sam=True,
        directly_add_no_mem_embed=True,
        no_obj_embed_spatial=is_21,
        use_high_res_features_in_sam=True,
        multimask_output_in_sam=cfg.multimask_output_in_sam,
        iou_prediction_use_sigmoid=True,
        use_obj_ptrs_in_encoder=True,
        add_tpos_enc_to_obj_ptrs=is_21,
        proj_tpos_enc_in_obj_ptrs=is_21,
        use_signed_tpos_enc_to_obj_ptrs=is_21,
        only_obj_ptrs_in_the_past_for_eval=True,
        pred_obj_scores=True,
        pred_obj_scores_mlp=True,
        fixed_no_obj_ptr=True,
        multimask_output_for_tracking=cfg.multimask_output_for_tracking,
        use_multimask_token_for_obj_ptr=cfg.use_multimask_token_for_obj_ptr,
        multimask_min_pt_num=0,
        multimask_max_pt_num=1,
        use_mlp_for_obj_ptr_proj=True,
        sam_mask_decoder_extra_args=decoder_extra,
        compile_image_encoder=False,
    )
    # Switched after construction so that the weights (pointer projection, no-object pointer)
    # and SAM2's pointer bookkeeping stay as they are; only memory attention stops reading them.
    model.use_obj_ptrs_in_encoder = cfg.use_obj_ptrs_in_encoder
    if cfg.checkpoint is not None:
        load_sam2_weights(model, cfg.checkpoint)
    return model.to(device).eval()


def load_sam2_weights(model: SAM2Base, path: str | Path) -> None:
    """Load an official ``.pt`` (``{"model": state_dict}``) or a ``.safetensors`` state dict."""
    path = Path(path)
    if not path.is_file():
        raise SAM2CheckpointError(f"SAM2 checkpoint not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        try:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # unpickling refuses anything but tensors and containers
            raise SAM2CheckpointError(f"cannot read SAM2 checkpoint {path}: {exc}") from exc
        state = loaded.get("model", loaded) if isinstance(loaded, dict) else None
        if not isinstance(state, dict):
            raise SAM2CheckpointError(f"{path} holds no state dict")
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatches raise even when strict=False
        raise SAM2CheckpointError(f"{path} does not match the SAM2 config: {exc}") from exc
    if result.missing_keys or result.unexpected_keys:
        raise SAM2CheckpointError(
            f"{path} does not match the SAM2 config: missing {result.missing_keys[:5]}, "
            f"unexpected {result.unexpected_keys[:5]}")
    logger.info("loaded SAM2 weights from %s", path)


def preprocess_frame(rgb: np.ndarray, image_size: int) -> torch.Tensor:
    """RGB uint8 [H, W, 3] -> float32 [3, S, S]: bicubic resize to S x S, /255, ImageNet norm.

    Matches ``sam2.utils.misc`` frame loading (PIL resize, then mean/std) used by the video
    predictor.
    """
    check_frame(rgb)
    resized = np.array(Image.fromarray(rgb).resize((image_size, image_size)))
    image = torch.from_numpy(resized).permute(2, 0, 1).float() / 255.0
    mean = torch.tensor(IMAGENET_MEAN)[:, None, None]
    std = torch.tensor(IMAGENET_STD)[:, None, None]
    return (image - mean) / std


def letterbox_shape(height: int, width: int, image_size: int) -> tuple[int, int]:
    """Size after resizing the longest side to ``image_size`` (SAM's ``get_preprocess_shape``)."""
    scale = image_size / max(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


def preprocess_frame_padded(rgb: np.ndarray, image_size: int) -> torch.Tensor:
    """Prepare the official VRS-HQ (LISA) SAM2 input -> float32 [3, S, S].

    Longest side -> S (PIL bilinear), ImageNet mean/std on 0-255, zeros padded bottom/right.
    """
    check_frame(rgb)
    new_h, new_w = letterbox_shape(rgb.shape[0], rgb.shape[1], image_size)
    resized = np.array(Image.fromarray(rgb).resize((new_w, new_h), Image.BILINEAR))
    image = torch.from_numpy(resized).permute(2, 0, 1).float()
    mean = torch.tensor(IMAGENET_MEAN)[:, None, None] * 255.0
    std = torch.tensor(IMAGENET_STD)[:, None, None] * 255.0
    image = (image - mean) / std
    return torch.nn.functional.pad(image, (0, image_size - new_w, 0, image_size - new_h))


def unpad_mask_logits(logits: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Map logits [..., S, S] of a padded input back to [..., height, width].

    Crop the unpadded area, then resize bilinearly (the official code crops ``[:h', :w']``
    before interpolating).
    """
    size = logits.shape[-1]
    new_h, new_w = letterbox_shape(height, width, size)
    cropped = logits[..., :new_h, :new_w]
    lead = cropped.shape[:-2]
    out = torch.nn.functional.interpolate(cropped.reshape(-1, 1, new_h, new_w).float(),
                                          size=(height, width), mode="bilinear",
                                          align_corners=False)
    return out.reshape(*lead, height, width)


def check_frame(rgb: np.ndarray) -> None:
    """Raise ``FrameFormatError`` unless ``rgb`` is a non-empty uint8 array [H, W, 3]."""
    if not isinstance(rgb, np.ndarray):
        raise FrameFormatError(f"frame must be a numpy array, got {type(rgb).__name__}")
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or 0 in rgb.shape:
        raise FrameFormatError(
            f"frame must be uint8 [H, W, 3], got {rgb.dtype} {list(rgb.shape)}")
