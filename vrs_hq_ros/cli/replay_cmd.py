"""``vrs-hq replay``: play a bag into the segment node in real time and score what it answers.

The node is the one already running (``ros2 launch vrs_hq_ros segment.launch.py``), or, with
``--model``, one started in this process. Works the same with ``ros2 bag play`` where rosbag2
is installed: this command's player is for machines without it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path


def add_parser(subparsers) -> None:
    """Register ``replay``."""
    p = subparsers.add_parser("replay", help="play a bag into the node and score it live",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bag", type=Path, help="bag written by `vrs-hq convert`")
    p.add_argument("-o", "--out", type=Path, default=Path("outputs/replay"))
    p.add_argument("--rate", type=float, default=1.0, help="playback speed factor")
    p.add_argument("--node", default="/vrs_hq_segment", help="the segment node's name")
    p.add_argument("--model", type=Path, default=None, help="start a node with this model here")
    p.add_argument("--settle-s", type=float, default=5.0, help="wait for late results")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Play, record, score; write report.json and print the summary."""
    from vrs_hq_ros.ros.replay.session import replay_bag

    report = replay_bag(args.bag, args.node, rate=args.rate, model=args.model,
                        settle_s=args.settle_s)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(dataclasses.asdict(report), indent=2))
    print(f"{report.video}: J&F {report.jf:.2f}  answered {report.frames_answered}/"
          f"{report.frames_published} (dropped {report.frames_dropped})  latency p50 "
          f"{report.latency_p50_s * 1e3:.0f} ms p99 {report.latency_p99_s * 1e3:.0f} ms")
    return 0
