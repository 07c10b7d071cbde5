"""End-to-end latency and output rate of the segmentation node over real DDS (loopback).

A publisher node sends rgb8 frames stamped with the current time; a subscriber measures
"result received − image stamp" for every SegmentationResult. Prints one table row per input
rate. Default: the random tiny model (VRSHQConfig.tiny(), built into a temp directory) at
256 px on CPU, one goal.

    python benchmarks/bench_node.py                    # 10 Hz and flat-out, 40 frames each
    python benchmarks/bench_node.py --model-dir DIR --device cuda --size 512 --rates 30 0
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import threading
import time

import numpy as np

os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _tiny_model_dir(root: str) -> str:
    from vrs_hq_ros.model.config import VRSHQConfig
    from vrs_hq_ros.model.vrshq import VRSHQ

    VRSHQ(VRSHQConfig.tiny()).save_pretrained(root)
    return root


def _run(args, model_dir: str, rate_hz: float) -> dict:
    import rclpy
    from rclpy.executors import MultiThreadedExecutor
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image
    from vrs_hq_ros.msg import Goal, SegmentationResult

    from vrs_hq_ros.ros.segment_node import SegmentNode

    context = rclpy.context.Context()
    rclpy.init(context=context, domain_id=random.randint(1, 200))
    # Reliable transport with a deep history: every frame reaches the node, so only the
    # node's own queue drops frames and its counter shows them.
    params = {"model.path": model_dir, "model.device": args.device, "autostart": True,
              "model.image_size": args.image_size, "qos.reliability": "reliable",
              "qos.depth": 200}
    node = SegmentNode("bench_segment", context=context,
                       parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
    peer = Node("bench_peer", context=context)
    latencies, done = [], []

    def on_result(msg):
        now = peer.get_clock().now().nanoseconds
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        latencies.append((now - stamp) / 1e9)
        done.append(time.monotonic())

    peer.create_subscription(SegmentationResult, "/bench_segment/result", on_result, 100)
    images = peer.create_publisher(Image, "/image", 100)
    goals = peer.create_publisher(Goal, "/bench_segment/goal", 10)
    executor = MultiThreadedExecutor(num_threads=4, context=context)
    executor.add_node(node)
    executor.add_node(peer)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        while images.get_subscription_count() == 0 or goals.get_subscription_count() == 0:
            time.sleep(0.05)
        goals.publish(Goal(goal_id="target", sentence="the bright square",
                           action=Goal.ACTION_ADD))
        while node.metrics.snapshot().goals_accepted == 0:
            time.sleep(0.01)
        rng = np.random.default_rng(0)
        base = rng.integers(0, 80, (args.size, args.size, 3), dtype=np.uint8)
        for _ in range(args.warmup):  # first frames pay for lazy initialisation
            images.publish(_frame(peer, base, 0))
            time.sleep(1.0)
        latencies.clear()
        done.clear()
        period = 1.0 / rate_hz if rate_hz > 0 else 0.0
        start = time.monotonic()
        for i in range(args.frames):
            images.publish(_frame(peer, base, i))
            time.sleep(max(0.0, start + (i + 1) * period - time.monotonic()))
        deadline = time.monotonic() + 60
        while not _settled(node.metrics.snapshot(), args.warmup + args.frames):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        time.sleep(0.2)  # the last result crossing DDS
        snap = node.metrics.snapshot()
    finally:
        executor.shutdown(timeout_sec=5)
        node.shutdown()
        node.destroy_node()
        peer.destroy_node()
        context.try_shutdown()
    span = done[-1] - done[0] if len(done) > 1 else float("nan")
    p50, p99 = (np.percentile(latencies, [50, 99]) if latencies else (float("nan"),) * 2)
    return {"rate": rate_hz, "sent": args.frames, "results": len(latencies),
            "received": snap.frames_received - args.warmup,
            "dropped": snap.frames_dropped, "p50": p50, "p99": p99,
            "out_hz": (len(done) - 1) / span if len(done) > 1 else 0.0}


def _settled(snap, sent: int) -> bool:
    """Every sent frame has been answered, dropped or rejected."""
    handled = snap.frames_processed + snap.frames_dropped + snap.frames_rejected
    return snap.frames_received >= sent and handled >= snap.frames_received


def _frame(peer, base: np.ndarray, i: int):
    from sensor_msgs.msg import Image

    rgb = base.copy()
    x = (i * 7) % (rgb.shape[1] - 48)
    rgb[40:88, x:x + 48] = (250, 40, 40)
    msg = Image(height=rgb.shape[0], width=rgb.shape[1], encoding="rgb8",
                step=rgb.shape[1] * 3, data=rgb.tobytes())
    msg.header.stamp = peer.get_clock().now().to_msg()
    msg.header.frame_id = "camera"
    return msg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", help="saved VRS-HQ (default: a fresh tiny model)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", type=int, default=256, help="square frame side (px)")
    parser.add_argument("--image-size", type=int, default=256,
                        help="SAM2 input side (model.image_size; 0 = the model's own)")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rates", type=float, nargs="+", default=[10.0, 0.0],
                        help="input rates in Hz (0 = as fast as possible)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model_dir or _tiny_model_dir(tmp)
        rows = [_run(args, model_dir, rate) for rate in args.rates]
    print(f"\nnode end-to-end, {args.size}x{args.size} rgb8 frames, SAM2 input "
          f"{args.image_size or 'model default'} px, device {args.device}, model "
          f"{args.model_dir or 'tiny random'}, queue depth 1 (drop_oldest), "
          f"latency = result received - image stamp")
    print(f"{'input Hz':>9} {'sent':>5} {'received':>9} {'results':>8} {'dropped':>8} "
          f"{'p50 ms':>8} {'p99 ms':>8} {'output Hz':>10}")
    for r in rows:
        rate = "max" if r["rate"] == 0 else f"{r['rate']:.1f}"
        print(f"{rate:>9} {r['sent']:>5} {r['received']:>9} {r['results']:>8} {r['dropped']:>8} "
              f"{r['p50'] * 1e3:>8.1f} {r['p99'] * 1e3:>8.1f} {r['out_hz']:>10.2f}")


if __name__ == "__main__":
    main()
