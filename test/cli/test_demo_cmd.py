import argparse
import json

import cv2

from vrs_hq_ros.cli import demo_cmd
from vrs_hq_ros.model.config import VRSHQConfig
from vrs_hq_ros.model.vrshq import VRSHQ


def _args(**kw):
    parser = argparse.ArgumentParser()
    demo_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["demo"])
    for key, value in kw.items():
        setattr(args, key, value)
    return args


def test_demo_writes_a_result_per_frame_a_playable_video_and_a_summary(tmp_path, capsys):
    model_dir = tmp_path / "model"
    VRSHQ(VRSHQConfig.tiny(image_size=64)).save_pretrained(model_dir)

    status = demo_cmd.run(_args(out=tmp_path / "out", model=model_dir, frames=8, size=64))

    assert status == 0
    rows = [json.loads(line) for line in (tmp_path / "out/results.jsonl").read_text().splitlines()]
    assert [r["frame"] for r in rows] == list(range(8))
    assert {r["state"] for r in rows} <= {"SEARCHING", "TRACKED", "LOST"}
    assert rows[0]["state"] == "SEARCHING"  # nothing can be grounded before a window exists
    summary = json.loads((tmp_path / "out/summary.json").read_text())
    assert summary["frames"] == 8 and 0.0 <= summary["J&F"] <= 1.0
    video = cv2.VideoCapture(str(tmp_path / "out/overlay.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 8
    assert "J&F" in capsys.readouterr().out
