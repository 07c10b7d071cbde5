"""The VRS-HQ segmentation node: a ROS 2 lifecycle node around ``StreamingEngine``.

configure loads the model (a bad ``model.path`` fails the transition with the reason),
activate creates the engine, the processing thread, subscriptions and publishers, deactivate
tears them down and frees accelerator memory (the model stays loaded, goals are remembered
and re-applied on the next activate), cleanup releases the model. ``autostart: true`` runs
configure + activate at start-up. The node only converts messages, moves frames between
threads and publishes; the algorithm lives in ``vrs_hq_ros.engine``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import rclpy
import rclpy.exceptions
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.clock import JumpThreshold
from rclpy.duration import Duration
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import LifecycleState, TransitionCallbackReturn
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import String

from vrs_hq_ros.engine.compute_budget import set_torch_threads, thread_budget
from vrs_hq_ros.msg import Goal
from vrs_hq_ros.ros import engine_settings
from vrs_hq_ros.ros.depth_sync import DepthBuffer, stamp_ns, subscribe_depth_pairs
from vrs_hq_ros.ros.frame_processor import FrameProcessor, StreamWatch
from vrs_hq_ros.ros.frame_queue import FrameQueue, QueuedFrame, StampGapCounter
from vrs_hq_ros.ros.goal_handler import GoalHandler
from vrs_hq_ros.ros.image_conversion import (
    ImageConversionError,
    compressed_to_rgb,
    image_to_rgb,
    stream_size,
)
from vrs_hq_ros.ros.image_qos import image_qos, image_reliability
from vrs_hq_ros.ros.node_metrics import LogThrottle, NodeMetrics
from vrs_hq_ros.ros.output_publishers import ResultPublisher, StatusPublisher
from vrs_hq_ros.ros.parameters import ParameterValueError, declare_all, read_settings

SUCCESS = TransitionCallbackReturn.SUCCESS
FAILURE = TransitionCallbackReturn.FAILURE


@dataclass
class _ActiveIO:
    """Everything that exists only while the node is active."""

    engine: object  # StreamingEngine
    queue: FrameQueue
    processor: FrameProcessor
    subscriptions: list = field(default_factory=list)
    outputs: ResultPublisher | None = None
    depth_handles: list = field(default_factory=list)
    stream_hw: tuple[int, int] | None = None
    image_reliability: ReliabilityPolicy | None = None  # of subscriptions[0]
    stamp_gaps: StampGapCounter = field(default_factory=StampGapCounter)
    jump_handle: object | None = None  # ROS clock jump callback (use_sim_time resets)


class SegmentNode(LifecycleNode):
    """Camera images + goals in; SegmentationResult, label image, overlay, status out."""

    def __init__(self, node_name: str = "vrs_hq_segment", **kwargs):
        super().__init__(node_name, **kwargs)
        self.settings = declare_all(self)
        self.metrics = NodeMetrics()
        self.last_error = ""  # why the last transition failed
        self._model = None
        self._io: _ActiveIO | None = None
        self._engine_lock = threading.Lock()  # push and apply never overlap
        self._goals = GoalHandler(lambda: self.settings, self.metrics, self._engine_lock,
                                  self.get_logger(),
                                  lambda: getattr(self._io, "engine", None))
        self._log_throttle = LogThrottle(self.settings.output_log_throttle_s)
        self._device = ""  # the torch device the model runs on (diagnostics hardware_id)
        self._depth = DepthBuffer()
        self._warned: set[str] = set()
        self._status: StatusPublisher | None = None
        self._status_timer = None
        self._qos_timer = None  # re-matches the image publishers' reliability (qos auto)
        self._input_group = MutuallyExclusiveCallbackGroup()
        self._goal_group = MutuallyExclusiveCallbackGroup()
        self._depth_group = MutuallyExclusiveCallbackGroup()
        self._status_group = MutuallyExclusiveCallbackGroup()
        if self.settings.autostart:
            if self.trigger_configure() == SUCCESS:
                self.trigger_activate()

    # ----------------------------------------------------------------- lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Load the model; FAILURE (back to unconfigured) with a logged reason if it fails."""
        try:
            self.settings = read_settings(self)
            self._model = engine_settings.load_model(self.settings)
        except Exception as exc:  # any load failure must fail the transition, not the node
            self.last_error = f"configure failed: {exc}"
            self.get_logger().error(self.last_error)
            return FAILURE
        self._goals.configure()
        self._device = engine_settings.resolve_device(self.settings.model_device)
        self._status = StatusPublisher(self, self.settings.topics_status)
        self._status_timer = self.create_timer(self.settings.output_status_period_s,
                                               self.publish_status,
                                               callback_group=self._status_group)
        self.get_logger().info(f"configured: model {self.settings.model_path}")
        return SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Create the engine, the processing thread, subscriptions and publishers."""
        try:
            self.settings = read_settings(self)
            # One budget for both pools: the reasoning thread starts with the process-wide
            # count, so tracking + reasoning never ask for more threads than cores.
            set_torch_threads(thread_budget(self.settings.compute_threads)[0])
            engine = engine_settings.build_engine(self._model, self.settings)
        except Exception as exc:
            self.last_error = f"activate failed: {exc}"
            self.get_logger().error(self.last_error)
            return FAILURE
        s = self.settings
        self.metrics.reset()  # status counts "since the node was activated"
        self._log_throttle = LogThrottle(s.output_log_throttle_s)
        queue = FrameQueue(s.queue_depth, s.queue_policy)
        watch = StreamWatch(int(s.input_max_stamp_jump_s * 1e9))
        processor = FrameProcessor(queue, lambda f: self._push(engine, watch, f),
                                   self._publish_result, self._on_engine_error,
                                   self._engine_lock)
        self._io = io = _ActiveIO(engine, queue, processor)
        # use_sim_time: a bag --loop or simulator reset moves /clock back; restart the stream
        # even before the frame stamps show it.
        io.jump_handle = self.get_clock().create_jump_callback(
            JumpThreshold(min_forward=Duration(nanoseconds=int(s.input_max_stamp_jump_s * 1e9)),
                          min_backward=Duration(nanoseconds=-1), on_clock_change=True),
            post_callback=lambda _jump: watch.clock_jumped())
        self._goals.restore(s.goals_initial_sentence)
        io.outputs = ResultPublisher(self, s, self._depth, self._warn_once)
        io.image_reliability = image_reliability(self, self._image_topic(), s.qos_reliability)
        sensor_qos = image_qos(s.qos_depth, io.image_reliability)
        image_sub = self._subscribe_images(sensor_qos)
        if s.qos_reliability == "auto":  # follow publishers that appear or change later
            self._qos_timer = self.create_timer(0.5, self._match_image_qos,
                                                callback_group=self._input_group)
        goal_qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        io.subscriptions = [
            image_sub,
            self.create_subscription(Goal, s.topics_goal, self._goals.on_goal, goal_qos,
                                     callback_group=self._goal_group),
            self.create_subscription(String, s.topics_goal_text, self._goals.on_text, goal_qos,
                                     callback_group=self._goal_group)]
        if s.input_use_depth:
            io.depth_handles = subscribe_depth_pairs(
                self, s.topics_depth, s.topics_camera_info, sensor_qos, s.input_depth_slop_s,
                self._depth.add, callback_group=self._depth_group)
        processor.start()
        self.get_logger().info(f"active: images on {image_sub.topic_name}")
        return SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop input, the processing thread and outputs; close the engine; free memory."""
        self._stop_io()
        self.get_logger().info("inactive: input stopped, engine closed (goals remembered)")
        return SUCCESS

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release the model, the status outputs and the goal record."""
        self._release_all()
        self._goals.forget()
        return SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release everything, whatever the state."""
        self._release_all()
        return SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release everything and go back to unconfigured."""
        self._release_all()
        return SUCCESS

    def shutdown(self, transition: bool = True) -> None:
        """Take the lifecycle shutdown transition, or just release everything after Ctrl-C.

        ``transition=False`` (the process is stopping on a signal) skips the transition: rclpy's
        signal handler may be shutting the context down meanwhile, and the transition publishes.
        """
        if not transition or not self.context.ok():  # a transition on a dying context
            self._release_all()
        elif self._state_machine.current_state[1] != "finalized":
            self.trigger_shutdown()

    def _stop_io(self) -> None:
        io, self._io = self._io, None
        if io is None:
            return
        if self._qos_timer is not None:
            self.destroy_timer(self._qos_timer)
            self._qos_timer = None
        if io.jump_handle is not None:
            io.jump_handle.unregister()
        if self._status is not None:
            self._status.restart_lost_count()
        for sub in io.subscriptions:
            self.destroy_subscription(sub)
        for handle in io.depth_handles:
            sub = getattr(handle, "sub", handle)  # message_filters.Subscriber wraps .sub
            if hasattr(sub, "topic_name"):
                self.destroy_subscription(sub)
        if not io.processor.stop():
            self.get_logger().warning("the processing thread did not stop within 30 s")
        if io.outputs is not None:
            io.outputs.destroy(self)
        io.engine.close()
        self._depth.clear()
        engine_settings.free_accelerator_memory()

    def _release_all(self) -> None:
        self._stop_io()
        if self._status_timer is not None:
            self.destroy_timer(self._status_timer)
            self._status_timer = None
        if self._status is not None:
            self._status.destroy(self)
        self._status = None
        self._model = None
        engine_settings.free_accelerator_memory()

    # ----------------------------------------------------------------- inputs
    def _image_topic(self) -> str:
        topic = self.settings.topics_image
        topic = topic.rstrip("/") + "/compressed" if self.settings.input_compressed else topic
        return self.resolve_topic_name(topic)

    def _subscribe_images(self, qos: QoSProfile):
        if self.settings.input_compressed:
            return self.create_subscription(CompressedImage, self._image_topic(),
                                            self._on_compressed, qos,
                                            callback_group=self._input_group)
        return self.create_subscription(Image, self._image_topic(), self._on_image, qos,
                                        callback_group=self._input_group)

    def _match_image_qos(self) -> None:
        """Qos auto: re-subscribe when the publishers' reliability no longer matches."""
        io = self._io
        if io is None:
            return
        wanted = image_reliability(self, self._image_topic(), "auto")
        if wanted == io.image_reliability:
            return
        old = io.subscriptions[0]
        io.subscriptions[0] = self._subscribe_images(image_qos(self.settings.qos_depth, wanted))
        io.image_reliability = wanted
        self.destroy_subscription(old)
        self.get_logger().info(f"image subscription now {wanted.name.lower()} "
                               "(matches the publishers)")

    def _on_image(self, msg: Image) -> None:
        self._enqueue(msg.header, lambda: image_to_rgb(msg, self.settings.input_max_pixels))

    def _on_compressed(self, msg: CompressedImage) -> None:
        self._enqueue(msg.header,
                      lambda: compressed_to_rgb(msg, self.settings.input_max_pixels))

    def _enqueue(self, header, convert) -> None:
        io = self._io
        if io is None:
            return
        received_s = time.monotonic()
        self.metrics.received(received_s)
        io.stamp_gaps.add(stamp_ns(header))
        try:
            rgb = convert()
        except ImageConversionError as exc:
            self.metrics.reject(exc.cause, str(exc))
            self._throttled_warning(exc.cause, f"rejecting frame ({exc.cause}): {exc}")
            return
        previous_hw = io.stream_hw
        io.stream_hw, changed = stream_size(previous_hw, rgb)
        if changed:  # the engine restarts the tracks; the stream goes on at the new size
            self.metrics.stream_restart("size")
            self._throttled_warning("size", f"frame size changed from {previous_hw[1]}x"
                                    f"{previous_hw[0]} to {rgb.shape[1]}x{rgb.shape[0]}: "
                                    "tracks restart, goals kept")
        frame = QueuedFrame(stamp_ns(header), rgb, header, received_s)
        if io.queue.put(frame) is not None:
            self.metrics.dropped()

    def _push(self, engine, watch: StreamWatch, frame: QueuedFrame):
        """Start a new stream on a time jump, then push the frame (processing thread)."""
        jump = watch.check(frame.stamp_ns)  # DuplicateStampError: skipped, counted
        if jump is not None:
            engine.reset_stream()
            self.metrics.stream_restart(jump)
            self._throttled_warning(f"jump_{jump}", f"time jump ({jump}) at frame stamp "
                                    f"{frame.stamp_ns} ns: new stream, tracks restart, "
                                    "goals kept and re-grounded")
        return engine.push(engine_settings.to_frame(frame))

    def _throttled_warning(self, key: str, text: str) -> None:
        """Log ``text`` at most once per ``output.log_throttle_s`` for ``key``, with a count."""
        count = self._log_throttle.due(key)
        if count is not None:
            self.get_logger().warning(f"{text} [{count} since the last such line; counted in "
                                      "status]")

    # ----------------------------------------------------------------- outputs
    def _publish_result(self, frame: QueuedFrame, result) -> None:
        io = self._io
        if io is None or io.outputs is None:
            return
        latency_s = time.monotonic() - frame.received_s
        io.outputs.publish(frame, result, latency_s)
        self.metrics.processed(latency_s)

    def _on_engine_error(self, frame: QueuedFrame, exc: Exception) -> None:
        cause = getattr(exc, "cause", f"engine_{type(exc).__name__}")
        self.metrics.reject(cause, f"frame {frame.stamp_ns}: {exc}")
        self._throttled_warning(cause, f"frame {frame.stamp_ns} not processed: {exc!r}")

    def _warn_once(self, key: str, text: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.metrics.note_error(text)
            self.get_logger().warning(text)

    def publish_status(self) -> None:
        """Publish NodeStatus and /diagnostics (also called by the status timer)."""
        if self._status is None:
            return
        io = self._io
        with self._engine_lock:  # the engine is not thread-safe; push holds this lock too
            figures = engine_settings.engine_figures(io.engine if io else None)
        self._status.publish(self, self.metrics.snapshot(), figures, active=io is not None,
                             lost_before_node=io.stamp_gaps.lost if io else 0,
                             hardware_id=self._device or self.settings.model_device,
                             warn_hold_s=self.settings.output_warn_hold_s)


def _wait_for_signal_shutdown(timeout_s: float = 2.0) -> None:
    """Let rclpy's signal thread finish shutting the context down before tearing down.

    On Ctrl-C Python raises KeyboardInterrupt at once while rclpy's own signal thread shuts the
    default context down; destroying the node's timers meanwhile raced it and crashed the
    process (a segfault in ``destroy_timer`` in ~1 of 8 runs of the entry-point test).
    """
    deadline = time.monotonic() + timeout_s
    while rclpy.ok() and time.monotonic() < deadline:
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: ``vrs-hq-segment-node --ros-args --params-file config/segment.yaml``."""
    rclpy.init(args=argv)
    node = executor = None
    stopped_by_signal = False
    try:  # Ctrl-C may arrive at any point, also before spinning starts
        node = SegmentNode()
        # One thread: the 9.x MultiThreadedExecutor spins holding the GIL and starves the
        # frame and reasoning threads (ros2/rclpy#1452); callbacks here only enqueue.
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        executor.spin()
    except (ParameterValueError, rclpy.exceptions.InvalidParameterValueException) as exc:
        rclpy.logging.get_logger("vrs_hq_segment").fatal(f"invalid parameters: {exc}")
        return 2
    except (KeyboardInterrupt, ExternalShutdownException):
        stopped_by_signal = True
    except Exception:
        if rclpy.ok():
            raise
        # Ctrl-C between start-up steps: rclpy's handler shut the context down, so creating
        # the executor failed (RCLError); that is a requested stop, not a crash
        stopped_by_signal = True
    finally:
        if stopped_by_signal:
            _wait_for_signal_shutdown()
        if executor is not None:
            executor.shutdown()
        if node is not None:
            node.shutdown(transition=not stopped_by_signal)
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
