"""Offline replay evaluation: every clip of a dataset folder or of bags through a predictor.

Predictions are written in the benchmark PNG layout ``<out>/<video>/<exp_id>/<frame>.png`` (0/255
mono), scored against the ground truth with the official metrics, and optional overlay videos are
written for chosen videos. For Ref-DAVIS17 the annotator palettes are written too
(``<out>/palettes/anno_<a>/<video>/<frame>.png``, what davis2017-evaluation reads). The live (ROS)
replay is in ``ros/replay/``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from tqdm import tqdm

from vrs_hq_ros.eval.aggregation import ExpressionScore, score_expression
from vrs_hq_ros.eval.bags import BagTopics, bag_dir_name, find_bags, read_bag
from vrs_hq_ros.eval.datasets import EvalSet, LabelledVideo, load_dataset
from vrs_hq_ros.eval.davis_protocol import PaletteComposer, score_unsupervised
from vrs_hq_ros.eval.errors import DatasetFormatError, PredictorError
from vrs_hq_ros.eval.metrics import BOUND_TH
from vrs_hq_ros.eval.overlay import write_overlay_video
from vrs_hq_ros.eval.predictors import ClipPrediction, Predictor, run_predictor

log = logging.getLogger(__name__)

# Label k gets a distinct colour (the DAVIS colours matter only to eyes; readers use the index).
_PALETTE_COLOURS = [0, 0, 0] + [int(c) for k in range(1, 256)
                                for c in ((k * 97) % 256, (k * 57) % 256, (k * 151) % 256)]


@dataclass
class EvalSource:
    """Where the videos come from: a dataset folder or one or more bags."""

    name: str
    kind: str  # aggregation: "revos", "mevis", "davis", "ref_youtube_vos" or "bag"
    videos: Iterable[LabelledVideo]
    expression_count: int | None = None  # for the progress bar, when known up front
    evalset: EvalSet | None = None  # the dataset folder read (None for bags)


def open_source(path: str | Path, kind: str | None = None, videos: list[str] | None = None,
                topics: BagTopics = BagTopics(), split: str | None = None) -> EvalSource:
    """Open a bag, a folder of bags, or a benchmark folder as downloaded (see ``datasets``)."""
    path = Path(path)
    if not path.exists():
        raise DatasetFormatError(f"{path} does not exist")
    bags = find_bags(path)
    if bags:
        def read_all() -> Iterator[LabelledVideo]:
            for bag in bags:
                video = read_bag(bag, topics)
                if not videos or video.name in videos:
                    yield video

        return EvalSource(path.name, kind or "bag", read_all())
    evalset = load_dataset(path, kind, split)
    if videos:
        evalset.videos = [v for v in evalset.videos if v.name in videos]
    count = sum(len(v.expressions) for v in evalset.videos)
    return EvalSource(evalset.name, evalset.kind, evalset.labelled_videos(), count, evalset)


@dataclass
class ClipTrace:
    """Per-frame numbers of one expression, for the time plots (no masks kept)."""

    video: str
    exp_id: str
    j_per_frame: np.ndarray | None
    scores: np.ndarray | None
    states: np.ndarray | None
    r_per_frame: np.ndarray | None = None  # ReVOS robustness


@dataclass
class ReplayResult:
    """Scores and traces of a replay run."""

    scores: list[ExpressionScore] = field(default_factory=list)
    traces: list[ClipTrace] = field(default_factory=list)
    frames: int = 0
    predict_seconds: float = 0.0
    unscored: list[str] = field(default_factory=list)  # "<video>/<exp_id>" without ground truth
    # Ref-DAVIS17 annotator-palette protocol: annotator -> per matched object (J, F) per frame.
    palette_objects: dict[int, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)

    @property
    def frames_per_second(self) -> float:
        """Prediction throughput over the whole run."""
        return self.frames / self.predict_seconds if self.predict_seconds > 0 else 0.0


def write_prediction_pngs(out_dir: Path, video: str, exp_id: str, frame_names: list[str],
                          masks: list[np.ndarray]) -> None:
    """Write ``<out_dir>/<video>/<exp_id>/<frame>.png`` as 0/255 mono8."""
    folder = out_dir / video / exp_id
    folder.mkdir(parents=True, exist_ok=True)
    for name, mask in zip(frame_names, masks, strict=True):
        cv2.imwrite(str(folder / f"{name}.png"), mask.astype(np.uint8) * 255)


def write_palette_pngs(out_dir: Path, video: str, frame_names: list[str],
                       palette: np.ndarray) -> None:
    """Write ``<out_dir>/<video>/<frame>.png`` as indexed (mode P) PNGs, label = palette index."""
    folder = out_dir / video
    folder.mkdir(parents=True, exist_ok=True)
    for name, labels in zip(frame_names, palette, strict=True):
        image = Image.fromarray(labels, mode="P")
        image.putpalette(_PALETTE_COLOURS)
        image.save(folder / f"{name}.png")


def _checked(prediction: ClipPrediction, video: LabelledVideo, exp_id: str) -> ClipPrediction:
    if len(prediction.masks) != len(video.frames):
        raise PredictorError(f"{video.name}/{exp_id}: {len(prediction.masks)} masks for "
                             f"{len(video.frames)} frames")
    masks = []
    for mask, frame in zip(prediction.masks, video.frames, strict=True):
        mask = np.asarray(mask)
        if mask.shape != frame.shape[:2]:
            raise PredictorError(f"{video.name}/{exp_id}: mask {mask.shape} on frame "
                                 f"{frame.shape[:2]}")
        masks.append(mask.astype(bool))
    prediction.masks = masks
    return prediction


def replay(source: EvalSource, predictor: Predictor, out_dir: str | Path | None = None,
           overlay_videos: Iterable[str] = (), overlay_fps: float = 10.0,
           bound_th: float = BOUND_TH, progress: bool = True) -> ReplayResult:
    """Run every expression of every video through ``predictor``; write PNGs and overlays."""
    out = Path(out_dir) if out_dir is not None else None
    overlay_videos = set(overlay_videos)
    result = ReplayResult()
    bar = tqdm(total=source.expression_count, unit="expr", disable=not progress,
               desc=f"eval {source.name}")
    try:
        for video in source.videos:
            stamps = video.stamps_ns or [i * 100_000_000 for i in range(len(video.frames))]
            composer = None
            if video.gt_labels is not None:
                composer = PaletteComposer(video.expressions, video.gt_labels.shape)
            for exp in video.expressions:
                start = time.perf_counter()
                prediction = run_predictor(predictor, video.frames, exp.sentence, stamps,
                                           video.name, exp.exp_id)
                result.predict_seconds += time.perf_counter() - start
                result.frames += len(video.frames)
                prediction = _checked(prediction, video, exp.exp_id)
                pred = np.stack(prediction.masks)
                if out is not None:
                    write_prediction_pngs(out / "predictions", video.name, exp.exp_id,
                                          video.frame_names, prediction.masks)
                    if video.name in overlay_videos:
                        name = f"{bag_dir_name(video.name)}__{bag_dir_name(exp.exp_id)}.mp4"
                        write_overlay_video(out / "overlays" / name,
                                            video.frames, prediction.masks, overlay_fps,
                                            caption=exp.sentence)
                if composer is not None:
                    composer.add(exp, pred)
                j_per_frame = r_per_frame = None
                gt = video.gt_masks.get(exp.exp_id)
                if gt is None:
                    result.unscored.append(f"{video.name}/{exp.exp_id}")
                else:
                    score = score_expression(video.name, exp.exp_id, exp.sentence, exp.type_id,
                                             pred, gt, bound_th, void=video.void_masks,
                                             gt_count=video.gt_counts.get(exp.exp_id),
                                             foreground=video.foreground)
                    result.scores.append(score)
                    j_per_frame, r_per_frame = score.j_per_frame, score.r_per_frame
                result.traces.append(ClipTrace(video.name, exp.exp_id, j_per_frame,
                                               prediction.scores, prediction.states,
                                               r_per_frame))
                bar.update(1)
                bar.set_postfix(fps=f"{result.frames_per_second:.1f}")
            if composer is not None:
                for annotator, palette in composer.palettes.items():
                    result.palette_objects.setdefault(annotator, []).extend(
                        score_unsupervised(video.gt_labels, palette, bound_th))
                    if out is not None:  # the PNGs davis2017-evaluation would read
                        write_palette_pngs(out / "palettes" / f"anno_{annotator}", video.name,
                                           video.frame_names, palette)
    finally:
        bar.close()
    if result.unscored:
        log.warning("%d expressions have no ground truth and were not scored",
                    len(result.unscored))
    return result
