"""Benchmark-server submissions: the zip archives of the official zip scripts.

VRS-HQ / VISA ``tools/zip_mp_mevis.py`` and ``tools/zip_mp_refytvos.py`` zip the prediction folder
``<video>/<exp_id>/<frame>.png`` (8-bit grayscale, 0 / 255, as ReferFormer's
``inference_ytvos.py`` writes it) as:

- MeViS (``valid``, CodaLab 15094): ``<video>/<exp_id>/<frame>.png`` at the archive root;
- Ref-YouTube-VOS (``valid``, CodaLab 29139): ``Annotations/<video>/<exp_id>/<frame>.png``.

File entries only (no directory entries), stored uncompressed (PNG is compressed already), as the
scripts' final ``ZipFile(out, "w")``.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from vrs_hq_ros.eval.errors import EvalError
from vrs_hq_ros.eval.records import Video

log = logging.getLogger(__name__)

ARCHIVE_PREFIX = {"mevis": "", "ref_youtube_vos": "Annotations/"}


class SubmissionError(EvalError, ValueError):
    """A submission cannot be written: unknown server, or predictions missing or malformed."""


def submission_entries(kind: str, videos: Iterable[Video]) -> list[tuple[str, str, str, str]]:
    """``(archive name, video, exp_id, frame)`` of every PNG the server expects, in order."""
    if kind not in ARCHIVE_PREFIX:
        raise SubmissionError(f"no benchmark server submission for {kind!r} (one of "
                              f"{', '.join(ARCHIVE_PREFIX)})")
    prefix = ARCHIVE_PREFIX[kind]
    return [(f"{prefix}{v.name}/{e.exp_id}/{frame}.png", v.name, e.exp_id, frame)
            for v in videos for e in v.expressions for frame in v.frame_names]


def _checked_png(path: Path) -> bytes:
    if not path.is_file():
        raise SubmissionError(f"prediction {path} is missing")
    data = path.read_bytes()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim != 2 or image.dtype != np.uint8:
        raise SubmissionError(f"{path} is not an 8-bit single-channel PNG")
    if not np.isin(image, (0, 255)).all():
        raise SubmissionError(f"{path} has values other than 0 and 255")
    return data


def write_submission(predictions: str | Path, archive: str | Path, kind: str,
                     videos: Iterable[Video]) -> Path:
    """Zip ``predictions/<video>/<exp_id>/<frame>.png`` for the ``kind`` server into ``archive``."""
    predictions, archive = Path(predictions), Path(archive)
    entries = submission_entries(kind, videos)
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as out:
        for name, video, exp_id, frame in entries:
            out.writestr(name, _checked_png(predictions / video / exp_id / f"{frame}.png"))
    log.info("wrote %s: %d masks for the %s server", archive, len(entries), kind)
    return archive
