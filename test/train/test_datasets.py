"""Training data from the official layouts: sampling, image sets, and errors naming the file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from finetune_fixtures import (  # noqa: E402
    SIZE,
    write_reasonseg_set,
    write_refcoco_set,
    write_revos_set,
)

from vrs_hq_ros.eval.errors import EvalError  # noqa: E402
from vrs_hq_ros.train.datasets import (  # noqa: E402
    FrameRange,
    TrainingDataError,
    load_video_source,
    segment_indices,
)
from vrs_hq_ros.train.datasets_image import ReasonSegSource, ReferSource  # noqa: E402
from vrs_hq_ros.train.datasets_mix import MixedSamples, RankMicroBatches  # noqa: E402
from vrs_hq_ros.train.finetune_config import DataConfig, DataSetSpec  # noqa: E402


def test_segment_indices_take_one_frame_from_each_equal_segment():
    rng = np.random.default_rng(0)
    for count in (8, 10, 12):
        idx = segment_indices(40, count, rng)
        edges = np.floor(np.linspace(0, 40, count + 1)).astype(int)
        assert len(idx) == count
        assert all(edges[k] <= i < edges[k + 1] for k, i in enumerate(idx))
    assert segment_indices(5, 8, rng) == [0, 1, 2, 3, 4]


def test_revos_layout_gives_t_prime_frames_with_their_masks(tmp_path):
    write_revos_set(tmp_path / "revos", num_videos=1, num_frames=12)
    source = load_video_source("revos", "revos", tmp_path / "revos", FrameRange(8, 12))
    sample = source.sample(0, np.random.default_rng(1))
    assert 8 <= len(sample.frames) <= 12 and not sample.is_image
    assert sample.masks.shape == (len(sample.frames), SIZE, SIZE)
    assert sample.masks.any()
    full = source.dataset.gt_masks(*source.items[0])
    assert any(np.array_equal(sample.masks[0], m) for m in full)


def test_refer_and_reasonseg_layouts_give_one_frame_image_samples(tmp_path):
    refer = ReferSource("refcoco", "refcoco", write_refcoco_set(tmp_path / "refer"))
    reason = ReasonSegSource("reasonseg", write_reasonseg_set(tmp_path / "reason"))
    for source in (refer, reason):
        sample = source.sample(0, np.random.default_rng(0))
        assert sample.is_image and len(sample.frames) == 1
        assert sample.masks.shape == (1, SIZE, SIZE) and 0 < sample.masks.mean() < 0.5


def test_mix_is_a_pure_function_of_the_index_and_follows_the_rates(tmp_path):
    write_revos_set(tmp_path / "revos")
    write_refcoco_set(tmp_path / "refer")
    config = DataConfig(frames_min=2, frames_max=3, sets=[
        DataSetSpec(kind="revos", root=str(tmp_path / "revos"), rate=1),
        DataSetSpec(kind="refcoco", root=str(tmp_path / "refer"), rate=0)])
    mix = MixedSamples.from_config(config, seed=3)
    assert not any(mix[i].is_image for i in range(6))
    a, b = mix[4], mix[4]
    assert a.origin == b.origin and np.array_equal(a.masks, b.masks)


def test_two_ranks_of_batch_one_see_the_samples_of_one_rank_of_batch_two():
    one = RankMicroBatches(None, 20, 4, batch_size=2, num_ranks=1, rank=0)
    ranks = [RankMicroBatches(None, 20, 4, batch_size=1, num_ranks=2, rank=r) for r in (0, 1)]
    for k in range(4):
        assert one.sample_indices(k) == ranks[0].sample_indices(k) + ranks[1].sample_indices(k)


def _rewrite(path: Path, edit) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def test_missing_mask_dict_entry_names_mask_dict_json(tmp_path):
    root = write_revos_set(tmp_path / "revos")
    _rewrite(root / "mask_dict.json", lambda d: d.pop("1"))
    with pytest.raises(TrainingDataError, match=r"mask_dict\.json.*anno_id 1"):
        load_video_source("revos", "revos", root, FrameRange())


def test_frame_count_mismatch_names_mask_dict_json(tmp_path):
    root = write_revos_set(tmp_path / "revos")
    _rewrite(root / "mask_dict.json", lambda d: d["0"].pop())
    with pytest.raises(TrainingDataError, match=r"mask_dict\.json: anno_id 0 has 5 frames"):
        load_video_source("revos", "revos", root, FrameRange())


def test_unreadable_jpeg_names_the_file(tmp_path):
    root = write_revos_set(tmp_path / "revos", num_videos=1, num_frames=4)
    bad = root / "JPEGImages/video0/00002.jpg"
    bad.write_bytes(b"not a jpeg")
    source = load_video_source("revos", "revos", root, FrameRange(4, 4))
    with pytest.raises(EvalError, match=str(bad)):
        source.sample(0, np.random.default_rng(0))


def test_missing_reasonseg_field_names_the_json(tmp_path):
    root = write_reasonseg_set(tmp_path / "reason", num_images=1)
    _rewrite(root / "train/img0.json", lambda d: d.pop("shapes"))
    with pytest.raises(TrainingDataError, match=r"img0\.json: missing field 'shapes'"):
        ReasonSegSource("reasonseg", root)


def test_refs_pickle_with_a_class_is_refused(tmp_path):
    root = write_refcoco_set(tmp_path / "refer", num_images=1)
    import pickle

    (root / "refcoco/refs(unc).p").write_bytes(pickle.dumps([Path("x")]))
    with pytest.raises(TrainingDataError, match=r"refs\(unc\)\.p"):
        ReferSource("refcoco", "refcoco", root)


def test_ref_youtube_vos_layout_reads_palette_annotations(tmp_path):
    from PIL import Image

    from vrs_hq_ros.train.synthetic import make_clip

    clip = make_clip(5, num_frames=4, size=SIZE)
    frames = tmp_path / "train/JPEGImages/vid"
    labels = tmp_path / "train/Annotations/vid"
    frames.mkdir(parents=True)
    labels.mkdir(parents=True)
    for t in range(4):
        Image.fromarray(clip.frames[t]).save(frames / f"{t:05d}.jpg")
        Image.fromarray(clip.masks[t].astype(np.uint8) * 2, mode="L").save(labels / f"{t:05d}.png")
    meta = tmp_path / "meta_expressions/train/meta_expressions.json"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"videos": {"vid": {
        "frames": [f"{t:05d}" for t in range(4)],
        "expressions": {"0": {"exp": clip.sentence, "obj_id": "2"}}}}}))
    source = load_video_source("ytvos", "ref_youtube_vos", tmp_path, FrameRange(4, 4))
    sample = source.sample(0, np.random.default_rng(0))
    assert sample.sentence == clip.sentence
    np.testing.assert_array_equal(sample.masks, clip.masks)
