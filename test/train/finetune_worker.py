"""One fine-tuning process for the tests: ``accelerate launch ... finetune_worker.py CONFIG OUT``.

Runs ``run_finetune`` on the given YAML config and writes, per rank, the step losses and a
digest of the trainable weights after every step (``OUT/rank<r>.json``), plus the trainable
weights after step 1 (``OUT/rank<r>_step1.npz``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from finetune_fixtures import trainable_digest, trainable_state  # noqa: E402

from vrs_hq_ros.train.finetune import run_finetune  # noqa: E402
from vrs_hq_ros.train.finetune_config import load_config  # noqa: E402


def main() -> None:
    config_path, out = sys.argv[1], Path(sys.argv[2])
    stop_after = int(sys.argv[3]) if len(sys.argv) > 3 else None
    records = []
    rank_holder = {}

    def on_step(step, metrics, module):
        import torch.distributed as dist

        rank = dist.get_rank() if dist.is_initialized() else 0
        rank_holder["rank"] = rank
        records.append({"step": step, "loss": metrics["loss"],
                        "digest": trainable_digest(module).tolist()})
        if step == 1:
            np.savez(out / f"rank{rank}_step1.npz", **trainable_state(module))

    result = run_finetune(load_config(config_path), stop_after=stop_after, on_step=on_step)
    rank = rank_holder.get("rank", 0)
    (out / f"rank{rank}.json").write_text(json.dumps(
        {"records": records, "steps_per_second": result.steps_per_second,
         "start_step": result.start_step, "last_step": result.last_step}))


if __name__ == "__main__":
    main()
