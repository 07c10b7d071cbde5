"""Two CPU processes under ``accelerate launch`` (torchrun, gloo) train the tiny model.

The loss goes down, both ranks hold identical weights after every step, and one step of
2 ranks x batch 1 equals one step of 1 rank x batch 2.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from finetune_fixtures import tiny_config, write_all_sets  # noqa: E402

WORKER = Path(__file__).parent / "finetune_worker.py"


def _env() -> dict:
    env = dict(os.environ, ACCELERATE_USE_CPU="true", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parents[2]),
                                                      env.get("PYTHONPATH")]))
    return env


def _write(config: dict, folder: Path) -> Path:
    """``folder/run.yaml`` and an empty ``folder/out`` for the worker's records."""
    (folder / "out").mkdir(parents=True)
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _records(out: Path, rank: int) -> list[dict]:
    return json.loads((out / f"rank{rank}.json").read_text())["records"]


@pytest.mark.skipif(shutil.which("accelerate") is None, reason="accelerate is not installed")
def test_two_processes_stay_in_step_and_equal_one_process_with_twice_the_batch(tmp_path):
    write_all_sets(tmp_path)
    two = _write(tiny_config(tmp_path, output_dir=str(tmp_path / "two/run")), tmp_path / "two")
    one = _write(tiny_config(tmp_path, output_dir=str(tmp_path / "one/run"), batch_size=2,
                             max_steps=1), tmp_path / "one")
    launch = ["accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines",
              "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port",
              str(29500 + os.getpid() % 1000)]
    for cmd in (launch + [str(WORKER), str(two), str(two.parent / "out")],
                [sys.executable, str(WORKER), str(one), str(one.parent / "out")]):
        done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]

    ranks = [_records(two.parent / "out", r) for r in (0, 1)]
    assert [r["step"] for r in ranks[0]] == [1, 2, 3, 4]
    for a, b in zip(*ranks, strict=True):
        assert a["loss"] == b["loss"]  # reduced across ranks
        assert a["digest"] == b["digest"]  # DDP: bit-identical weights on both ranks
    losses = [r["loss"] for r in ranks[0]]
    assert losses[-1] < losses[0]

    two_ranks = np.load(two.parent / "out/rank0_step1.npz")
    one_rank = np.load(one.parent / "out/rank0_step1.npz")
    assert sorted(two_ranks.files) == sorted(one_rank.files)
    for name in one_rank.files:
        np.testing.assert_allclose(two_ranks[name], one_rank[name], rtol=1e-4, atol=1e-6)
