"""Throughput of J and F (davis2017 boundary measure) on 480p masks; prints a table."""

import argparse
import time

import numpy as np

from vrs_hq_ros.eval.metrics import f_measure, jaccard


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    h, w = 480, 854
    yy, xx = np.mgrid[:h, :w]
    centres = rng.uniform((100, 150), (380, 700), (args.frames, 2))
    gt = ((yy - centres[:, :1, None]) ** 2 + (xx - centres[:, 1:, None]) ** 2) < 80 ** 2
    pred = np.roll(gt, 7, axis=2)
    print(f"{'measure':<8}{'frames':>8}{'seconds':>10}{'frames/s':>10}")
    for name, fn in (("J", jaccard), ("F", f_measure)):
        start = time.perf_counter()
        fn(pred, gt)
        elapsed = time.perf_counter() - start
        print(f"{name:<8}{args.frames:>8}{elapsed:>10.3f}{args.frames / elapsed:>10.1f}")


if __name__ == "__main__":
    main()
