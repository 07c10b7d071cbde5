"""``vrs-hq``: one entry point, one module per subcommand (demo, eval, convert, ..., export)."""

from __future__ import annotations

import argparse
import logging
import sys

from vrs_hq_ros.cli import (
    ablate_cmd,
    convert_cmd,
    demo_cmd,
    eval_cmd,
    export_cmd,
    finetune_cmd,
    replay_cmd,
    synthetic_cmd,
    train_cmd,
)
from vrs_hq_ros.eval.errors import EvalError

SUBCOMMANDS = (demo_cmd, eval_cmd, convert_cmd, replay_cmd, train_cmd, finetune_cmd, export_cmd,
               synthetic_cmd, ablate_cmd)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="vrs-hq", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except EvalError as exc:
        print(f"vrs-hq {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
