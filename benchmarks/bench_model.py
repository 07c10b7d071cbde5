"""Per-window time of VRS-HQ ``reason`` split into CLIP / MLLM / SAM2, printed as a table.

Usage: .venv/bin/python benchmarks/bench_model.py [--sizes 256 512] [--frames 8]
       [--repeats 3] [--sam2 tiny hiera_t] [--device cpu]
Random weights (no downloads); "tiny" = VRSHQConfig.tiny(), "hiera_t" swaps in SAM 2.1 Hiera-T
shapes. SAM2 time = encoding the window's frames + decoding all TKS candidates.
"""

from __future__ import annotations

import argparse
import os
import statistics

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from vrs_hq_ros.model.config import SAM2Config, VRSHQConfig  # noqa: E402
from vrs_hq_ros.model.vrshq import VRSHQ  # noqa: E402

STAGES = ("clip", "mllm", "sam2_encode", "sam2_decode", "total")


def build(preset: str, size: int, device: str) -> VRSHQ:
    cfg = VRSHQConfig.tiny(size)
    if preset == "hiera_t":
        cfg.sam2 = SAM2Config.hiera_tiny(size)
    torch.manual_seed(0)
    return VRSHQ(cfg).to(device)


def bench(model: VRSHQ, frames: list[np.ndarray], repeats: int) -> dict[str, float]:
    model.reason(frames, "the person on the left")  # warm-up
    runs = [model.reason(frames, "the person on the left").timings_s for _ in range(repeats)]
    return {k: statistics.median(r[k] for r in runs) for k in STAGES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sam2", nargs="+", default=["tiny", "hiera_t"],
                        choices=["tiny", "hiera_t"])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(args.frames)]
    print(f"VRS-HQ reason(), T' = {args.frames} frames of 640x480, device {args.device}, "
          f"torch threads {torch.get_num_threads()}, median of {args.repeats} (seconds)")
    header = f"{'sam2':>8} {'px':>5} " + " ".join(f"{s:>12}" for s in STAGES)
    print(header)
    print("-" * len(header))
    for preset in args.sam2:
        for size in args.sizes:
            times = bench(build(preset, size, args.device), frames, args.repeats)
            print(f"{preset:>8} {size:>5} " + " ".join(f"{times[s]:>12.3f}" for s in STAGES))


if __name__ == "__main__":
    with torch.inference_mode():
        main()
