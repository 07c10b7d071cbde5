"""Ref-DAVIS17 in the layouts ReferFormer documents, read as they are.

Raw download (``docs/data.md``)::

    root/DAVIS/JPEGImages/480p/<video>/<frame>.jpg
    root/DAVIS/Annotations_unsupervised/480p/<video>/<frame>.png   palette, 255 = void
    root/DAVIS/ImageSets/2017/{train,val}.txt
    root/davis_text_annotations/Davis17_annot{1,2}[_full_video].txt   <video> <obj_id> "<sentence>"

After ``tools/data/convert_davis_to_ytvos.py``::

    root/{train,valid}/JPEGImages/<video>/, root/{train,valid}/Annotations/<video>/
    root/meta_expressions/{train,valid}/meta_expressions.json    4 expressions per object, in the
        order annotator 1 first-frame, annotator 1 full-video, annotator 2 first-frame, 2 full

A DAVIS folder itself (``JPEGImages[/480p]``, ``Annotations*``) with ``meta_expressions.json`` or
``davis_text_annotations/`` inside is accepted too. The ground truth of an expression is
``label == obj_id``; label 255 is void (left out of J and F). Each expression carries its
annotator (0..3) for the annotator-palette protocol (``davis_protocol.py``).
"""

from __future__ import annotations

import re
from pathlib import Path

from vrs_hq_ros.eval.errors import DatasetFormatError
from vrs_hq_ros.eval.palette import PaletteGroundTruth
from vrs_hq_ros.eval.records import (
    EvalSet,
    Expression,
    Video,
    choose_split,
    list_frames,
    parse_expressions,
    read_meta_videos,
    videos_from_meta,
)

__all__ = ["PaletteGroundTruth", "is_ref_davis", "load_ref_davis"]

_TEXT_LINE = re.compile(r'^(\S+)\s+(\d+)\s+"?(.*?)"?\s*$')
# Misspelled video names in the released text annotations (as ReferFormer's converter fixes them).
_VIDEO_ALIASES = {"clasic-car": "classic-car", "dog-scale": "dogs-scale", "motor-bike": "motorbike"}
# Annotator index of each text file, in ReferFormer's order.
ANNOTATOR_FILES = ("Davis17_annot1", "Davis17_annot1_full_video", "Davis17_annot2",
                   "Davis17_annot2_full_video")
ANNOTATORS = len(ANNOTATOR_FILES)
_SPLIT_ALIASES = {"val": "valid", "valid": "val"}


def _first_dir(*candidates: Path) -> Path | None:
    return next((p for p in candidates if p.is_dir()), None)


def _davis_dir(root: Path) -> Path:
    return root / "DAVIS" if (root / "DAVIS").is_dir() else root


def is_ref_davis(root: Path) -> bool:
    """Any of the Ref-DAVIS17 layouts above."""
    davis = _davis_dir(root)
    has_davis = (davis / "JPEGImages").is_dir() and _first_dir(
        davis / "Annotations_unsupervised", davis / "Annotations") is not None
    has_text = ((root / "davis_text_annotations").is_dir()
                or (davis / "meta_expressions.json").is_file())
    # The converted layout is Ref-YouTube-VOS's; only the raw files or the name tell them apart.
    converted = (root / "meta_expressions").is_dir() and (
        (root / "davis_text_annotations").is_dir() or (root / "DAVIS").is_dir()
        or "davis" in root.name.lower())
    return (has_davis and has_text) or converted


def _read_text_file(path: Path) -> dict[str, list[tuple[int, str]]]:
    # The second annotator's files are Latin-1, the first's UTF-8.
    data = path.read_bytes()
    text = data.decode("utf-8", errors="replace")
    if "\ufffd" in text:
        text = data.decode("latin-1")
    out: dict[str, list[tuple[int, str]]] = {}
    for line in text.splitlines():
        match = _TEXT_LINE.match(line.strip())
        if match:
            video, obj_id, sentence = match.groups()
            out.setdefault(_VIDEO_ALIASES.get(video, video), []).append((int(obj_id), sentence))
    return out


def _read_text_annotations(folder: Path) -> dict[str, list[Expression]]:
    """Expressions per video; ids as ReferFormer's converter numbers them when all 4 files exist."""
    files = {p.stem: p for p in sorted(folder.glob("*.txt"))}
    if not files:
        raise DatasetFormatError(f"{folder} holds no Davis17_annot*.txt")
    per_file = {stem: _read_text_file(path) for stem, path in files.items()}
    out: dict[str, list[Expression]] = {}
    if all(name in per_file for name in ANNOTATOR_FILES):
        videos = sorted(set().union(*(per_file[n] for n in ANNOTATOR_FILES)))
        for video in videos:
            # The converter sorts each file's lines by obj_id (as strings) and zips the four.
            lists = [sorted(per_file[n].get(video, []), key=lambda e: str(e[0]))
                     for n in ANNOTATOR_FILES]
            exps = []
            for k, group in enumerate(zip(*lists, strict=False)):
                for a, (obj_id, sentence) in enumerate(group):
                    exps.append(Expression(str(k * ANNOTATORS + a), sentence,
                                           obj_ids=(obj_id,), annotator=a))
            out[video] = exps
        return out
    for stem, videos in per_file.items():
        annotator = ANNOTATOR_FILES.index(stem) if stem in ANNOTATOR_FILES else None
        for video, lines in videos.items():
            out.setdefault(video, []).extend(
                Expression(f"{stem}_{obj_id}", sentence, obj_ids=(obj_id,), annotator=annotator)
                for obj_id, sentence in lines)
    return out


def _with_annotators(expressions: list[Expression]) -> list[Expression]:
    """Set annotator ``i % 4`` on expression ``i`` of a video (ReferFormer's converter order)."""
    if len(expressions) % ANNOTATORS:
        return expressions
    return [Expression(e.exp_id, e.sentence, e.type_id, e.obj_ids, e.anno_ids, i % ANNOTATORS)
            for i, e in enumerate(expressions)]


def _converted_splits(root: Path) -> list[str]:
    base = root / "meta_expressions"
    return sorted(p.name for p in base.iterdir() if (p / "meta_expressions.json").is_file()
                  and (root / p.name / "JPEGImages").is_dir())


def _load_converted(root: Path, split: str | None) -> EvalSet:
    found = _converted_splits(root)
    if split not in found and _SPLIT_ALIASES.get(split) in found:
        split = _SPLIT_ALIASES[split]
    split = choose_split(root, found, split, "Ref-DAVIS17 (converted)")
    meta = root / "meta_expressions" / split / "meta_expressions.json"
    videos = videos_from_meta(read_meta_videos(meta), root / split / "JPEGImages", meta)
    for video in videos:
        video.expressions = _with_annotators(video.expressions)
    annotations = root / split / "Annotations"
    if not annotations.is_dir():
        raise DatasetFormatError(f"{annotations} does not exist (Ref-DAVIS17 ground truth)")
    return EvalSet(name=root.name, kind="davis", videos=videos, split=split,
                   ground_truth=PaletteGroundTruth(annotations))


def _raw_expressions(root: Path, davis: Path) -> dict[str, list[Expression]]:
    for meta in (davis / "meta_expressions.json", root / "meta_expressions.json"):
        if meta.is_file():
            return {name: _with_annotators(parse_expressions(v["expressions"]))
                    for name, v in read_meta_videos(meta).items()}
    for folder in (root / "davis_text_annotations", davis / "davis_text_annotations"):
        if folder.is_dir():
            return _read_text_annotations(folder)
    found = sorted(p.name for p in root.iterdir())
    raise DatasetFormatError(f"{root} has neither meta_expressions.json nor "
                             f"davis_text_annotations/; found {found}")


def _load_raw(root: Path, split: str | None) -> EvalSet:
    davis = _davis_dir(root)
    images = _first_dir(davis / "JPEGImages/480p", davis / "JPEGImages")
    annotations = _first_dir(davis / "Annotations_unsupervised/480p", davis / "Annotations/480p",
                             davis / "Annotations_unsupervised", davis / "Annotations")
    if images is None or annotations is None:
        raise DatasetFormatError(f"{davis} lacks JPEGImages/ or Annotations_unsupervised/; found "
                                 f"{sorted(p.name for p in davis.iterdir())}")
    expressions = _raw_expressions(root, davis)
    names = sorted(expressions)
    sets = davis / "ImageSets/2017"
    found = sorted(p.stem for p in sets.glob("*.txt")) if sets.is_dir() else []
    if found or split:
        if split not in found and _SPLIT_ALIASES.get(split) in found:
            split = _SPLIT_ALIASES[split]
        split = choose_split(root, found, split, "Ref-DAVIS17 (DAVIS ImageSets/2017)")
        wanted = (sets / f"{split}.txt").read_text().split()
        names = [n for n in wanted if n in expressions]
    videos = []
    for name in names:
        paths = list_frames(images / name)
        videos.append(Video(name, [p.stem for p in paths], paths, expressions[name]))
    return EvalSet(name=root.name, kind="davis", videos=videos, split=split,
                   ground_truth=PaletteGroundTruth(annotations))


def load_ref_davis(root: str | Path, split: str | None = None) -> EvalSet:
    """Read Ref-DAVIS17; ``split`` is ``train`` or ``valid``/``val`` (needed when both exist)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetFormatError(f"{root} does not exist")
    if (root / "meta_expressions").is_dir() and _converted_splits(root):
        return _load_converted(root, split)
    return _load_raw(root, split)
