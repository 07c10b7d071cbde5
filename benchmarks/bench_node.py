"""The segmentation node under a camera: separate node, publisher and observer processes.

The node runs as a user starts it (``config/segment.yaml``, its own process); a publisher
process sends rgb8 frames stamped with the send time at a fixed rate and QoS; this process
sets the goals (reasoning runs on its own schedule), listens to ``~/result`` and
``~/status`` and reports: frames sent (publisher), received / processed / dropped (node),
results, result rate, latency (result received - image stamp) p50 / p99 / max, the longest
gap between results, and the node's CPU use. Prints ``uptime`` with every row: the machine
is shared, compare rows only at a similar load.

    python benchmarks/bench_node.py --size 640x480 --rate 30 --reliability reliable
    python benchmarks/bench_node.py --size 128x128 --reliability best_effort --goals 4
    python benchmarks/bench_node.py --seconds 60 --size 1280x720 -p qos.reliability:=reliable
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time

import numpy as np

os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
NODE = "vrs_hq_segment"
SENTENCES = ("the bright square", "the red object", "the moving block", "the thing on the left")


def _publish(args) -> None:
    """Publisher process: ``args.seconds`` of frames at ``args.rate``; prints frames sent."""
    import rclpy
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    rclpy.init()
    node = rclpy.create_node("bench_camera")
    qos = QoSProfile(depth=args.depth, history=HistoryPolicy.KEEP_LAST,
                     reliability=(ReliabilityPolicy.RELIABLE if args.reliability == "reliable"
                                  else ReliabilityPolicy.BEST_EFFORT))
    pub = node.create_publisher(Image, "/image", qos)
    width, height = (int(v) for v in args.size.split("x"))
    base = np.random.default_rng(0).integers(0, 80, (height, width, 3), dtype=np.uint8)
    deadline = time.monotonic() + 30
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(args.start_delay)
    sent, period = 0, 1.0 / args.rate
    start = time.monotonic()
    while time.monotonic() - start < args.seconds:
        rgb = base.copy()
        x = (sent * 5) % max(1, width - width // 4)
        rgb[height // 3:height // 3 + height // 4, x:x + width // 4] = (250, 40, 40)
        msg = Image(height=height, width=width, encoding="rgb8", step=width * 3,
                    data=rgb.tobytes())
        msg.header.frame_id = "camera"
        msg.header.stamp = node.get_clock().now().to_msg()
        pub.publish(msg)
        sent += 1
        time.sleep(max(0.0, start + sent * period - time.monotonic()))
    print(f"SENT {sent}", flush=True)
    time.sleep(1.0)  # reliable samples still in flight
    node.destroy_node()
    rclpy.shutdown()


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _observe(args) -> dict:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from vrs_hq_ros.msg import Goal, NodeStatus, SegmentationResult

    env = dict(os.environ, ROS_DOMAIN_ID=str(random.randint(1, 200)))
    os.environ["ROS_DOMAIN_ID"] = env["ROS_DOMAIN_ID"]
    params = [x for p in args.param for x in ("-p", p)]
    node_proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from vrs_hq_ros.ros.segment_node import main; "
         "sys.exit(main(sys.argv))", "--ros-args", "--params-file", args.params_file,
         "-p", "autostart:=true", "-p", f"model.path:={args.model_dir}", *params], env=env)
    rclpy.init()
    peer = rclpy.create_node("bench_observer")
    results: list[tuple[float, float]] = []  # (received monotonic, latency s)
    status: list = []
    answered: list = []  # every result, warm-up included

    def on_result(msg):
        now = peer.get_clock().now().nanoseconds
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        results.append((time.monotonic(), (now - stamp) / 1e9))
        answered.append(1)

    reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    peer.create_subscription(SegmentationResult, f"/{NODE}/result", on_result, reliable)
    peer.create_subscription(NodeStatus, f"/{NODE}/status", status.append, reliable)
    goals = peer.create_publisher(Goal, f"/{NODE}/goal", reliable)
    executor = SingleThreadedExecutor()
    executor.add_node(peer)
    pub_proc = None
    try:
        deadline = time.monotonic() + 120
        while goals.get_subscription_count() == 0 or not status:
            executor.spin_once(timeout_sec=0.1)
            if time.monotonic() > deadline or node_proc.poll() is not None:
                raise RuntimeError("the node did not come up")
        for i in range(args.goals):
            goals.publish(Goal(goal_id=f"g{i}", sentence=SENTENCES[i % len(SENTENCES)],
                               action=Goal.ACTION_ADD))
        pub_proc = subprocess.Popen(
            [sys.executable, __file__, "--publisher", "--size", args.size, "--rate",
             str(args.rate), "--seconds", str(args.seconds), "--reliability",
             args.reliability, "--depth", str(args.depth)], env=env,
            stdout=subprocess.PIPE, text=True)
        while not results and pub_proc.poll() is None:  # warm-up: lazy init, first frames
            executor.spin_once(timeout_sec=0.1)
        results.clear()
        cpu0, t0 = _cpu_s(node_proc.pid), time.monotonic()
        while pub_proc.poll() is None:
            executor.spin_once(timeout_sec=0.1)
        cpu1, t1 = _cpu_s(node_proc.pid), time.monotonic()
        end = time.monotonic() + 3.0  # last results and one more status
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.1)
        sent = int(pub_proc.stdout.read().split("SENT")[-1].split()[0])
    finally:
        if pub_proc is not None and pub_proc.poll() is None:
            pub_proc.kill()
        node_proc.terminate()
        node_proc.wait(30)
        peer.destroy_node()
        rclpy.try_shutdown()
    last = status[-1]
    times = np.array([t for t, _ in results])
    lat = np.array([v for _, v in results]) if results else np.array([np.nan])
    return {"sent": sent, "received": last.frames_received, "results": len(answered),
            "processed": last.frames_processed, "dropped": last.frames_dropped,
            "rate": (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0,
            "p50": np.percentile(lat, 50),
            "p99": np.percentile(lat, 99), "max": lat.max(),
            "gap": np.diff(times).max() if len(times) > 1 else float("nan"),
            "cpu": 100 * (cpu1 - cpu0) / (t1 - t0), "reasoning": last.reasoning_runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publisher", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", default="models/vrs_hq_tiny")
    parser.add_argument("--params-file", default="config/segment.yaml")
    parser.add_argument("-p", "--param", action="append", default=[],
                        help="extra node parameter NAME:=VALUE (repeatable)")
    parser.add_argument("--size", default="640x480", help="WIDTHxHEIGHT")
    parser.add_argument("--rate", type=float, default=30.0, help="publisher rate (Hz)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--reliability", default="reliable", choices=("reliable", "best_effort"))
    parser.add_argument("--depth", type=int, default=5, help="publisher history depth")
    parser.add_argument("--goals", type=int, default=1)
    parser.add_argument("--start-delay", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publisher:
        _publish(args)
        return
    r = _observe(args)
    load = os.getloadavg()
    print(f"\nnode: {args.size} rgb8 {args.reliability} publisher at {args.rate:g} Hz for "
          f"{args.seconds:g} s, {args.goals} goal(s), {args.params_file} {args.param}, "
          f"model {args.model_dir}; load avg {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'sent':>6} {'recv':>6} {'recv %':>7} {'proc':>6} {'drop':>6} {'results':>8} "
          f"{'res/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'gap s':>6} {'cpu %':>6} "
          f"{'reason':>6}")
    print(f"{r['sent']:>6} {r['received']:>6} {100 * r['received'] / max(1, r['sent']):>7.1f} "
          f"{r['processed']:>6} {r['dropped']:>6} {r['results']:>8} {r['rate']:>6.1f} "
          f"{r['p50'] * 1e3:>7.0f} {r['p99'] * 1e3:>7.0f} {r['max'] * 1e3:>7.0f} "
          f"{r['gap']:>6.2f} {r['cpu']:>6.0f} {r['reasoning']:>6}")
    print("(sent / received / processed / dropped / results: whole run; rate, latency, gap, "
          "cpu: after the first result)")


if __name__ == "__main__":
    main()
