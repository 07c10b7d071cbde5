"""``vrs-hq synthetic``: write a split of the synthetic reasoning benchmark (ReVOS layout, bags).

The folder is read by ``vrs-hq eval`` (referring = type 0, reasoning = type 1) and, with
``--bags``, its ``bags/`` by ``vrs-hq replay`` / ``vrs-hq eval``.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    """Register ``synthetic``."""
    p = subparsers.add_parser("synthetic", help="write a synthetic benchmark split",
                              description=__doc__)
    p.add_argument("out", type=Path, help="output folder")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--scenes", type=int, default=40)
    p.add_argument("--frames", type=int, default=24, help="frames per scene")
    p.add_argument("--bags", action="store_true", help="also one rosbag2 (mcap) per scene")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the split and print where."""
    from vrs_hq_ros.train.synthetic_benchmark import write_split

    out = write_split(args.out, args.split, args.scenes, bags=args.bags, num_frames=args.frames)
    print(f"wrote {args.split} split ({args.scenes} scenes) to {out}")
    return 0
