"""The node's ROS parameters: one table of specs, validation, and ``NodeSettings``.

Every parameter is declared from ``SPECS`` (name, default, range, description), must appear in
``config/segment.yaml`` (a test checks both directions), and is read into the typed
``NodeSettings``. ``engine_settings.py`` maps settings onto the engine and model configs.
Model and engine parameters apply at the next configure, input/output ones at the next
activate; ``read_only`` ones only at start-up (topics are changed by remapping).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)


class ParameterValueError(ValueError):
    """A parameter value (or a combination of values) is invalid."""


@dataclass(frozen=True)
class ParameterSpec:
    """One declared parameter."""

    name: str
    default: bool | int | float | str
    description: str
    range: tuple[float, float] | None = None  # inclusive; for int and float parameters
    step: int = 0  # for int ranges: valid values are min + k * step
    choices: tuple[str, ...] | None = None  # for string parameters
    read_only: bool = False

    @property
    def attribute(self) -> str:
        """The ``NodeSettings`` field name ("model.path" → "model_path")."""
        return self.name.replace(".", "_")


_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?|mps)$")

SPECS: tuple[ParameterSpec, ...] = (
    ParameterSpec("autostart", False, "Run configure + activate at start-up (no lifecycle "
                  "manager needed).", read_only=True),
    # Model (applied at configure)
    ParameterSpec("model.path", "models/vrs_hq_tiny",
                  "Directory written by VRSHQ.save_pretrained (relative paths: the working "
                  "directory). Configure fails with a clear message if it does not exist."),
    ParameterSpec("model.device", "auto", "Torch device: auto (cuda if present), cpu, cuda, "
                  "cuda:N, mps."),
    ParameterSpec("model.dtype", "auto", "Compute dtype (auto: bfloat16 on cuda, float32 on "
                  "cpu).", choices=("auto", "float32", "float16", "bfloat16")),
    ParameterSpec("model.image_size", 0, "SAM2 input side in px (multiple of 32); 0 keeps the "
                  "model's own.", range=(0, 2048), step=32),
    ParameterSpec("model.alpha", 0.1, "TDA fusion weight alpha: TAK' = TAK + alpha * sum_i "
                  "lambda_i * SEG_i.", range=(0.0, 1.0)),
    ParameterSpec("model.tks_candidates", 11, "Frame budget of temporal keyframe selection "
                  "(candidates sampled around the CLIP anchor).", range=(1, 64), step=1),
    ParameterSpec("model.clip_model", "", "Local CLIP checkpoint for the TKS anchor (the "
                  "saved model's CLIP architecture); empty keeps the saved weights."),
    ParameterSpec("model.compile", False, "torch.compile the MLLM decoder (Chat-UniVi / "
                  "release backbone; for GPUs: the first windows pay the compilation)."),
    # Engine (applied at configure)
    ParameterSpec("engine.window_length", 16, "Frames in a reasoning window.",
                  range=(1, 512), step=1),
    ParameterSpec("engine.stride", 8, "New frames between two reasoning runs of a goal.",
                  range=(1, 512), step=1),
    ParameterSpec("engine.frames_per_window", 8, "Frames the MLLM reads per window (T').",
                  range=(1, 64), step=1),
    ParameterSpec("engine.first_window_frames", 0, "Frames buffered before a goal's first "
                  "window (0: frames_per_window); fewer give a first mask sooner.",
                  range=(0, 64), step=1),
    ParameterSpec("engine.asynchronous", True, "Reason in a worker thread (false: inline, "
                  "deterministic, slow)."),
    ParameterSpec("goals.max_goals", 8, "Most goals alive at once; more are rejected.",
                  range=(1, 255), step=1),
    ParameterSpec("goals.text_goal_id", "text", "Goal id used for sentences on the text-goal "
                  "topic."),
    ParameterSpec("goals.initial_sentence", "", "A sentence set as the text goal on activate "
                  "(empty: start with no goal)."),
    ParameterSpec("goals.max_sentence_chars", 400, "Longest goal sentence; longer ones (and any "
                  "with NUL or control characters) are rejected with the reason.",
                  range=(1, 100_000), step=1),
    # Input (applied at activate)
    ParameterSpec("input.compressed", False, "Subscribe to sensor_msgs/CompressedImage on "
                  "<topics.image>/compressed instead of raw images."),
    ParameterSpec("input.use_depth", False, "Also subscribe to depth + camera_info and add a "
                  "3D point per goal."),
    ParameterSpec("input.depth_slop_s", 0.05, "Largest stamp difference between a colour "
                  "frame and its depth image (s).", range=(0.0, 1.0)),
    ParameterSpec("input.max_pixels", 16_777_216, "Largest image (width x height) accepted; "
                  "compressed images are checked from their header before decoding.",
                  range=(1, 1_000_000_000), step=1),
    ParameterSpec("input.max_stamp_jump_s", 10.0, "A stamp this far ahead of the previous "
                  "frame (or any step back) starts a new stream: tracks restart, goals stay.",
                  range=(0.001, 1e9)),
    ParameterSpec("queue.depth", 1, "Frames waiting for the model; a full queue drops one.",
                  range=(1, 100), step=1),
    ParameterSpec("queue.policy", "drop_oldest", "Which frame a full queue drops "
                  "(drop_oldest: latest frame wins).", choices=("drop_oldest", "drop_newest")),
    ParameterSpec("qos.reliability", "auto", "Image subscription reliability (auto: match "
                  "the publishers like ros2 topic echo; best_effort loses most large frames "
                  "in Fast DDS).", choices=("auto", "reliable", "best_effort")),
    ParameterSpec("qos.depth", 5, "History depth of the image subscriptions.",
                  range=(1, 1000), step=1),
    ParameterSpec("compute.threads", 0, "CPU threads shared by tracking and reasoning "
                  "(0 = the cores this process may use).", range=(0, 256), step=1),
    # Output (applied at activate)
    ParameterSpec("output.publish_masks", False, "Put a full mono8 mask in every GoalResult "
                  "(the label image always carries them)."),
    ParameterSpec("output.overlay_opacity", 0.5, "Tint strength of the overlay image.",
                  range=(0.0, 1.0)),
    ParameterSpec("output.status_period_s", 1.0, "Period of NodeStatus and /diagnostics (s).",
                  range=(0.05, 60.0)),
    ParameterSpec("output.log_throttle_s", 5.0, "At most one warning per cause (bad frame, "
                  "time jump, size change) this often, with the count since the last (s).",
                  range=(0.0, 3600.0)),
    ParameterSpec("output.warn_hold_s", 10.0, "/diagnostics stays WARN this long after the "
                  "last rejected input, then returns to OK (s).", range=(0.0, 3600.0)),
    # Topics (read-only: remap to change them while running)
    ParameterSpec("topics.image", "image", "Camera image topic.", read_only=True),
    ParameterSpec("topics.depth", "depth/image", "Depth image topic (16UC1 mm or 32FC1 m).",
                  read_only=True),
    ParameterSpec("topics.camera_info", "depth/camera_info", "camera_info of the depth image.",
                  read_only=True),
    ParameterSpec("topics.goal", "~/goal", "vrs_hq_ros/msg/Goal input.", read_only=True),
    ParameterSpec("topics.goal_text", "~/goal_text", "std_msgs/String: a sentence replaces "
                  "all goals, empty clears them.", read_only=True),
    ParameterSpec("topics.result", "~/result", "SegmentationResult output.", read_only=True),
    ParameterSpec("topics.labels", "~/labels", "mono8 label image output.", read_only=True),
    ParameterSpec("topics.overlay", "~/overlay", "rgb8 overlay output (only while "
                  "subscribed).", read_only=True),
    ParameterSpec("topics.status", "~/status", "NodeStatus output.", read_only=True),
)
SPEC_BY_NAME = {spec.name: spec for spec in SPECS}


@dataclass(frozen=True)
class NodeSettings:
    """Every parameter's value, typed; field = parameter name with "." → "_"."""

    autostart: bool
    model_path: str
    model_device: str
    model_dtype: str
    model_image_size: int
    model_alpha: float
    model_tks_candidates: int
    model_clip_model: str
    model_compile: bool
    engine_window_length: int
    engine_stride: int
    engine_frames_per_window: int
    engine_first_window_frames: int
    engine_asynchronous: bool
    goals_max_goals: int
    goals_text_goal_id: str
    goals_initial_sentence: str
    goals_max_sentence_chars: int
    input_compressed: bool
    input_use_depth: bool
    input_depth_slop_s: float
    input_max_pixels: int
    input_max_stamp_jump_s: float
    queue_depth: int
    queue_policy: str
    qos_reliability: str
    qos_depth: int
    compute_threads: int
    output_publish_masks: bool
    output_overlay_opacity: float
    output_status_period_s: float
    output_log_throttle_s: float
    output_warn_hold_s: float
    topics_image: str
    topics_depth: str
    topics_camera_info: str
    topics_goal: str
    topics_goal_text: str
    topics_result: str
    topics_labels: str
    topics_overlay: str
    topics_status: str

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> NodeSettings:
        """Validate ``values`` (parameter name → value; missing ones take defaults)."""
        unknown = sorted(set(values) - set(SPEC_BY_NAME))
        if unknown:
            raise ParameterValueError(f"unknown parameters: {unknown}")
        merged = {spec.name: values.get(spec.name, spec.default) for spec in SPECS}
        for name, value in merged.items():
            check_value(SPEC_BY_NAME[name], value)
        check_combination(merged)
        return cls(**{SPEC_BY_NAME[name].attribute: value for name, value in merged.items()})

    @classmethod
    def defaults(cls) -> NodeSettings:
        """Return settings with every parameter at its default."""
        return cls.from_values({})


def check_value(spec: ParameterSpec, value: Any) -> None:
    """Raise ``ParameterValueError`` if ``value`` is not valid for ``spec``."""
    kind = type(spec.default)
    if kind is float and type(value) is int:
        value = float(value)
    if type(value) is not kind:
        raise ParameterValueError(f"{spec.name} must be {kind.__name__}, got {value!r}")
    if spec.range is not None:
        low, high = spec.range
        if not low <= value <= high:
            raise ParameterValueError(f"{spec.name}={value} is outside [{low}, {high}]")
        if spec.step and (value - low) % spec.step:
            raise ParameterValueError(f"{spec.name}={value} must be {low} + a multiple of "
                                      f"{spec.step}")
    if spec.choices is not None and value not in spec.choices:
        raise ParameterValueError(f"{spec.name}={value!r} is not one of {list(spec.choices)}")
    if spec.name == "model.device" and not _DEVICE.match(value):
        raise ParameterValueError(f"model.device={value!r}: expected auto, cpu, cuda, "
                                  f"cuda:N or mps")
    if spec.name.startswith("topics.") and not value.strip():
        raise ParameterValueError(f"{spec.name} must not be empty")


def check_combination(values: dict[str, Any]) -> None:
    """Check rules that span parameters (every name present in ``values``)."""
    window = values["engine.window_length"]
    if values["engine.stride"] > window:
        raise ParameterValueError(f"engine.stride={values['engine.stride']} exceeds "
                                  f"engine.window_length={window}")
    if values["engine.frames_per_window"] > window:
        raise ParameterValueError(f"engine.frames_per_window="
                                  f"{values['engine.frames_per_window']} exceeds "
                                  f"engine.window_length={window}")
    if values["engine.first_window_frames"] > values["engine.frames_per_window"]:
        raise ParameterValueError(f"engine.first_window_frames="
                                  f"{values['engine.first_window_frames']} exceeds "
                                  f"engine.frames_per_window={values['engine.frames_per_window']}")
    if not values["goals.text_goal_id"].strip():
        raise ParameterValueError("goals.text_goal_id must not be empty")


def descriptor(spec: ParameterSpec) -> ParameterDescriptor:
    """Build the ROS ``ParameterDescriptor`` of ``spec`` (ranges, read-only, choices)."""
    text = spec.description
    if spec.choices:
        text += f" One of: {', '.join(spec.choices)}."
    desc = ParameterDescriptor(name=spec.name, description=text, read_only=spec.read_only)
    if spec.range is not None and isinstance(spec.default, int):
        low, high = spec.range
        desc.integer_range = [IntegerRange(from_value=int(low), to_value=int(high),
                                           step=spec.step)]
    elif spec.range is not None:
        low, high = spec.range
        desc.floating_point_range = [FloatingPointRange(from_value=float(low),
                                                        to_value=float(high), step=0.0)]
    return desc


def declare_all(node) -> NodeSettings:
    """Declare every parameter on ``node`` and return the validated settings.

    Raises ``ParameterValueError`` when start-up values (YAML, --ros-args -p) are invalid.
    """
    for spec in SPECS:
        node.declare_parameter(spec.name, spec.default, descriptor(spec))
    settings = read_settings(node)
    node.add_on_set_parameters_callback(lambda params: on_set_parameters(node, params))
    return settings


def read_settings(node) -> NodeSettings:
    """Read the node's current parameter values as validated ``NodeSettings``."""
    return NodeSettings.from_values({spec.name: node.get_parameter(spec.name).value
                                     for spec in SPECS})


def on_set_parameters(node, params) -> SetParametersResult:
    """Accept a parameter change only if the resulting set of values is valid."""
    values = {spec.name: node.get_parameter(spec.name).value for spec in SPECS}
    for param in params:
        if param.name not in SPEC_BY_NAME:
            return SetParametersResult(successful=False, reason=f"unknown parameter {param.name}")
        values[param.name] = param.value
    try:
        NodeSettings.from_values(values)
    except ParameterValueError as exc:
        return SetParametersResult(successful=False, reason=str(exc))
    return SetParametersResult(successful=True)


def settings_fields() -> set[str]:
    """Field names of ``NodeSettings`` (a test checks they match ``SPECS``)."""
    return {f.name for f in fields(NodeSettings)}
