"""Server submissions: the archive layout of the official zip scripts and the PNG format."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))

from eval_layouts import FRAMES, H, W, write_mevis, write_ref_youtube_vos  # noqa: E402

from vrs_hq_ros.cli.main import main  # noqa: E402
from vrs_hq_ros.eval.datasets import load_dataset  # noqa: E402
from vrs_hq_ros.eval.replay import open_source, replay  # noqa: E402
from vrs_hq_ros.eval.submission import SubmissionError, write_submission  # noqa: E402


class CentreBox:
    """Segments the middle of the frame, a box whose size depends on the sentence's length."""

    def predict(self, frames, sentence):
        h, w = frames[0].shape[:2]
        side = 2 + len(sentence) % 5
        mask = np.zeros((h, w), bool)
        mask[h // 2 - side:h // 2 + side, w // 2 - side:w // 2 + side] = True
        return [mask] * len(frames)


def _png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_mevis_valid_archive_has_video_folders_at_the_root(tmp_path):
    source = open_source(write_mevis(tmp_path / "MeViS"), split="valid")
    result = replay(source, CentreBox(), tmp_path / "out", progress=False)

    archive = write_submission(tmp_path / "out/predictions", tmp_path / "mevis.zip", "mevis",
                               source.evalset.videos)

    assert result.scores == [] and len(result.unscored) == 2
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        assert names == [f"valid_vid/{e}/{f}.png" for e in ("0", "1") for f in FRAMES]
        image = _png(zf.read(names[0]))
    assert (image.mode, image.size) == ("L", (W, H))
    assert set(np.unique(np.array(image)).tolist()) == {0, 255}


def test_ref_youtube_vos_archive_is_under_annotations(tmp_path):
    root = write_ref_youtube_vos(tmp_path / "ref-youtube-vos")
    source = open_source(root, split="valid")
    replay(source, CentreBox(), tmp_path / "out", progress=False)

    archive = write_submission(tmp_path / "out/predictions", tmp_path / "ytvos.zip",
                               "ref_youtube_vos", source.evalset.videos)

    with zipfile.ZipFile(archive) as zf:
        assert zf.namelist() == [f"Annotations/validvid/{e}/{f}.png" for e in ("0", "1")
                                 for f in FRAMES]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())


def test_missing_or_malformed_predictions_are_refused(tmp_path):
    evalset = load_dataset(write_mevis(tmp_path / "MeViS"), split="valid")
    with pytest.raises(SubmissionError, match="missing"):
        write_submission(tmp_path / "nothing", tmp_path / "a.zip", "mevis", evalset.videos)
    with pytest.raises(SubmissionError, match="no benchmark server"):
        write_submission(tmp_path / "nothing", tmp_path / "a.zip", "revos", evalset.videos)
    bad = tmp_path / "pred/valid_vid/0/00000.png"
    bad.parent.mkdir(parents=True)
    Image.fromarray(np.full((H, W), 7, np.uint8)).save(bad)
    with pytest.raises(SubmissionError, match="0 and 255"):
        write_submission(tmp_path / "pred", tmp_path / "a.zip", "mevis", evalset.videos[:1])


def test_vrs_hq_eval_submission_with_the_tiny_model(tmp_path):
    from vrs_hq_ros.model.config import VRSHQConfig
    from vrs_hq_ros.model.vrshq import VRSHQ

    VRSHQ(VRSHQConfig.tiny(image_size=64)).save_pretrained(tmp_path / "model")
    root = write_mevis(tmp_path / "MeViS")
    out = tmp_path / "out"

    assert main(["eval", str(root), "--split", "valid", "--model", str(tmp_path / "model"),
                 "-o", str(out), "--submission", "--no-progress", "--no-timelines"]) == 0

    with zipfile.ZipFile(out / "submission.zip") as zf:
        assert len(zf.namelist()) == 2 * len(FRAMES)
        assert _png(zf.read("valid_vid/1/00002.png")).mode == "L"
