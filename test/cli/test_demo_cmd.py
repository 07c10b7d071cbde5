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


def test_demo_tracks_a_referring_and_a_reasoning_sentence_and_scores_each(tmp_path, capsys):
    model_dir = tmp_path / "model"
    VRSHQ(VRSHQConfig.tiny(image_size=64)).save_pretrained(model_dir)

    status = demo_cmd.run(_args(out=tmp_path / "out", model=model_dir, frames=8, size=64))

    assert status == 0
    rows = [json.loads(line) for line in (tmp_path / "out/results.jsonl").read_text().splitlines()]
    assert [r["frame"] for r in rows] == [f for f in range(8) for _ in range(2)]
    assert {r["goal"] for r in rows} == {"goal0", "goal1"}
    assert {r["state"] for r in rows} <= {"SEARCHING", "TRACKED", "LOST"}
    assert rows[0]["state"] == "SEARCHING"  # nothing can be grounded before a window exists
    summary = json.loads((tmp_path / "out/summary.json").read_text())
    assert summary["frames"] == 8 and len(summary["goals"]) == 2
    assert all(0.0 <= g["J&F"] <= 1.0 for g in summary["goals"])
    for k in range(2):
        video = cv2.VideoCapture(str(tmp_path / f"out/overlay_{k}.mp4"))
        assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 8
    out = capsys.readouterr().out
    assert out.count("J&F") == 2


def test_a_sentence_given_on_the_command_line_is_tracked_without_ground_truth(tmp_path, capsys):
    model_dir = tmp_path / "model"
    VRSHQ(VRSHQConfig.tiny(image_size=64)).save_pretrained(model_dir)

    demo_cmd.run(_args(out=tmp_path / "out", model=model_dir, frames=4, size=64,
                       sentence=["the mug on the left"]))

    summary = json.loads((tmp_path / "out/summary.json").read_text())
    assert [g["sentence"] for g in summary["goals"]] == ["the mug on the left"]
    assert "J&F" not in summary["goals"][0]
