"""The one place where node parameters become model and engine objects.

``load_model`` (configure), ``build_engine`` (activate), ``engine_figures`` (status) and
``free_accelerator_memory`` (deactivate / cleanup) keep torch and the engine's types out of
the node's ROS code.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
from pathlib import Path

from vrs_hq_ros.engine.errors import GoalError
from vrs_hq_ros.engine.frames import Frame
from vrs_hq_ros.ros.frame_queue import QueuedFrame
from vrs_hq_ros.ros.parameters import NodeSettings
from vrs_hq_ros.ros.status_messages import EngineFigures

logger = logging.getLogger(__name__)

# What the engine raises for a command it refuses (the node counts and logs these).
GOAL_ERRORS: tuple[type[Exception], ...] = (GoalError,)


class ModelLoadError(RuntimeError):
    """The model directory is missing or cannot be loaded."""


def resolve_device(name: str) -> str:
    """``auto`` → ``cuda`` where available, else ``cpu``; other names pass through."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(f"model.device={name!r} but CUDA is not available here")
    return name


def resolve_dtype(name: str, device: str):
    """Return the torch dtype of ``model.dtype`` (auto: bfloat16 on CUDA, else float32)."""
    import torch

    if name == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, name)


def model_search_paths(model_path: str) -> list[Path]:
    """List where ``model.path`` may be.

    As given; if relative, also in the source tree and in the package's installed share
    directory (where colcon installs ``models/``).
    """
    path = Path(model_path).expanduser()
    if path.is_absolute():
        return [path]
    candidates = [path, Path(__file__).resolve().parents[2] / path]
    try:
        from ament_index_python.packages import get_package_share_directory

        candidates.append(Path(get_package_share_directory("vrs_hq_ros")) / path)
    except (ImportError, LookupError, ValueError):
        pass  # not installed with colcon
    return candidates


def load_model(settings: NodeSettings):
    """Load the VRS-HQ model named by ``model.*`` onto its device; ``ModelLoadError`` if absent."""
    found = [p for p in model_search_paths(settings.model_path) if p.is_dir()]
    path = found[0] if found else Path(settings.model_path).expanduser()
    if not found:
        raise ModelLoadError(
            f"model.path {settings.model_path!r} is not a directory (resolved to "
            f"{path.resolve()}); set model.path to a directory written by "
            f"VRSHQ.save_pretrained or to the official release (docs/OFFICIAL_MODEL.md)")
    from vrs_hq_ros.model.vrshq import VRSHQ

    device = resolve_device(settings.model_device)
    dtype = resolve_dtype(settings.model_dtype, device)
    try:
        model = VRSHQ.from_pretrained(path)
        apply_model_settings(model, settings)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLoadError(f"cannot load the model in {path}: {exc}") from exc
    from vrs_hq_ros.model.release_memory import DeviceMemoryError, check_device_memory

    try:  # logs the expected accelerator memory; refuses a device that cannot hold it
        check_device_memory(model, device, dtype)
    except DeviceMemoryError as exc:
        raise ModelLoadError(str(exc)) from exc
    model = model.to(device=device, dtype=dtype).eval()
    if settings.model_compile:
        compile_decoder(model)
    logger.info("loaded %s on %s (%s), SAM2 input %d px", path, device, dtype, model.image_size)
    return model


def compile_decoder(model) -> bool:
    """``model.compile``: wrap the Chat-UniVi decoder in ``torch.compile``; False if skipped."""
    from vrs_hq_ros.model.chatunivi_backbone import ChatUniViBackbone

    if not isinstance(model.backbone, ChatUniViBackbone):
        logger.warning("model.compile: only the Chat-UniVi (release) decoder is compiled; "
                       "%s runs eagerly", type(model.backbone).__name__)
        return False
    model.backbone.compile()
    logger.info("model.compile: the LLaMA decoder compiles on its first windows")
    return True


def apply_model_settings(model, settings: NodeSettings) -> None:
    """Set the ``model.*`` parameters on a loaded VRS-HQ (before it moves to its device).

    alpha and the TKS frame budget are read by ``reason`` at call time. A different SAM2
    input size rebuilds SAM2 from the same weights (no parameter shape depends on it). A
    CLIP checkpoint replaces the anchor's weights (same architecture as the saved model's).
    """
    from vrs_hq_ros.model.clip_anchor import ClipAnchor
    from vrs_hq_ros.model.sam2_builder import build_sam2

    model.config.alpha = settings.model_alpha
    model.config.tks.frame_budget = settings.model_tks_candidates
    size = settings.model_image_size
    if size and size != model.image_size:
        model.config.sam2 = dataclasses.replace(model.config.sam2, image_size=size)
        sam2 = build_sam2(model.config.sam2)
        sam2.load_state_dict(model.sam2.state_dict())
        model.sam2 = sam2.eval()
    if settings.model_clip_model and Path(settings.model_clip_model).expanduser().is_dir():
        # a Hugging Face CLIPModel folder (e.g. openai/clip-vit-large-patch14-336)
        folder = str(Path(settings.model_clip_model).expanduser())
        model.config.clip = dataclasses.replace(model.config.clip, hf_dir=folder)
        model.clip = ClipAnchor(model.config.clip).eval()
    elif settings.model_clip_model:
        checkpoint = Path(settings.model_clip_model).expanduser()
        if not checkpoint.is_file():
            raise ModelLoadError(f"model.clip_model {settings.model_clip_model!r} is not a "
                                 f"file; give a local CLIP checkpoint of architecture "
                                 f"{model.config.clip.model_name!r}")
        model.config.clip = dataclasses.replace(model.config.clip, checkpoint=str(checkpoint),
                                                hf_dir=None)
        model.clip = ClipAnchor(model.config.clip).eval()


def engine_config(settings: NodeSettings):
    """``EngineConfig`` from the ``engine.*`` parameters (everything else keeps its default)."""
    from vrs_hq_ros.engine.config import EngineConfig

    return EngineConfig(window_length=settings.engine_window_length,
                        stride=settings.engine_stride,
                        frames_per_window=settings.engine_frames_per_window,
                        first_window_frames=settings.engine_first_window_frames or None,
                        asynchronous=settings.engine_asynchronous)


def build_engine(model, settings: NodeSettings):
    """Create a fresh ``StreamingEngine`` over the loaded ``model``."""
    from vrs_hq_ros.engine.streaming import StreamingEngine

    if model is None:
        raise ModelLoadError("no model is loaded (configure first)")
    return StreamingEngine(model, engine_config(settings))


def to_frame(frame: QueuedFrame) -> Frame:
    """Return the engine's ``Frame`` for a queued camera frame."""
    return Frame(stamp_ns=frame.stamp_ns, rgb=frame.rgb)


def engine_figures(engine) -> EngineFigures:
    """Reasoning runs, last reasoning time and live goals from ``engine.stats()``."""
    if engine is None:
        return EngineFigures()
    stats = engine.stats()
    return EngineFigures(reasoning_runs=stats.reasoning_runs,
                         reasoning_time_s=stats.last_reasoning_s, goals_active=stats.goals)


def free_accelerator_memory() -> None:
    """Return cached accelerator memory after engine or model state was dropped."""
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
