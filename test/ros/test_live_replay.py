"""Live replay on real rclpy: a bag played into the running node, its outputs scored."""

import numpy as np
import pytest

from vrs_hq_ros.eval.bags import read_bag, write_bag
from vrs_hq_ros.eval.datasets import Expression, LabelledVideo
from vrs_hq_ros.train.synthetic import make_clip

FRAMES = 8


def _bag(tmp_path):
    clip = make_clip(5, num_frames=FRAMES, size=64)
    video = LabelledVideo(name="clip", frame_names=[f"{i:05d}" for i in range(FRAMES)],
                          frames=list(clip.frames),
                          expressions=[Expression("target", clip.sentence)],
                          gt_masks={"target": clip.masks})
    return write_bag(video, tmp_path / "bag", storage="mcap", fps=10.0)


def test_a_bag_played_into_the_node_is_answered_and_scored(make_harness, whole_frame_model_dir,
                                                           tmp_path):
    from vrs_hq_ros.ros.replay.player import BagPlayer
    from vrs_hq_ros.ros.replay.recorder import ResultRecorder, score_recording

    bag = _bag(tmp_path)
    harness = make_harness(whole_frame_model_dir)
    recorder = ResultRecorder(harness.peer)
    player = BagPlayer(harness.peer, bag, rate=0.5)
    player.wait_for_subscribers(["/image", "/vrs_hq_segment/goal"])

    stats = player.play()
    harness.wait_for(lambda: recorder.answered() >= FRAMES - 2, 20.0, "results of the replay")
    video = read_bag(bag)
    report = score_recording(video, recorder, stats.sent_wall_s)

    assert stats.published["/image"] == FRAMES
    assert report.frames_published == FRAMES
    assert report.frames_answered + report.frames_dropped == FRAMES
    assert report.frames_answered >= FRAMES - 2
    assert 0 < report.latency_p50_s <= report.latency_p99_s < 10
    # The whole-frame model paints every tracked frame entirely: J per frame is then the ground
    # truth's share of the image, 0 while the goal is still searching.
    gt = video.gt_masks["target"]
    tracked = recorder.masks("target", video.stamps_ns, gt.shape[1:]).any(axis=(1, 2))
    assert tracked.any()
    expected_j = 100 * np.mean(np.where(tracked, gt.mean(axis=(1, 2)), 0.0))
    assert report.expressions[0]["J"] == pytest.approx(expected_j, abs=0.01)


def test_vrs_hq_replay_starts_a_node_plays_the_bag_and_writes_its_report(whole_frame_model_dir,
                                                                         tmp_path):
    import json
    import subprocess
    import sys

    bag = _bag(tmp_path)
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "vrs_hq_ros.cli.main", "replay", str(bag), "--model",
         str(whole_frame_model_dir), "--settle-s", "2", "--out", str(out)],
        capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["frames_published"] == FRAMES
    assert report["frames_answered"] + report["frames_dropped"] == FRAMES
    assert report["frames_answered"] > 0  # the goal arrived before the frames did
    assert "J&F" in done.stdout
