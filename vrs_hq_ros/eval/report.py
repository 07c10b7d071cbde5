"""Evaluation report: JSON summary, per-video / per-expression tables (CSV, markdown) and plots.

Files written under the output folder:

- ``report.json``: source, kind, predictor, summary (ReVOS table with R, MeViS-style mean, DAVIS
  statistics and the Ref-DAVIS17 annotator-palette protocol as they apply), throughput and
  per-expression scores.
- ``expressions.csv`` / ``videos.csv`` and ``report.md``: J, F, J&F, A (and ReVOS R) in percent.
- ``plots/jf_per_expression.png``: J&F (and R) of every expression;
  ``plots/timeline/<video>__<exp>.png``: per-frame J (and R), and score and track state over time
  when the predictor reports them.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vrs_hq_ros.eval.aggregation import (
    ExpressionScore,
    aggregate_davis,
    aggregate_mean,
    aggregate_revos,
)
from vrs_hq_ros.eval.bags import bag_dir_name
from vrs_hq_ros.eval.davis_protocol import summarise_annotators
from vrs_hq_ros.eval.replay import ClipTrace, ReplayResult

_STATE_NAMES = {0: "searching", 1: "tracked", 2: "lost"}


@dataclass
class EvalReport:
    """What ``report.json`` holds."""

    source: str
    kind: str
    predictor: str
    summary: dict
    frames: int
    predict_seconds: float
    frames_per_second: float
    expressions: list[dict]
    unscored: list[str]


def _pct(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(100 * value, 2)


def _expression_row(s: ExpressionScore) -> dict:
    return {"video": s.video, "exp_id": s.exp_id, "type_id": s.type_id, "sentence": s.sentence,
            "J": _pct(s.j), "F": _pct(s.f), "JF": _pct(s.jf), "A": _pct(s.a), "R": _pct(s.r),
            "frames": int(len(s.j_per_frame))}


def summarise(scores: list[ExpressionScore], kind: str,
              palette_objects: dict | None = None) -> dict:
    """Summary tables that apply to ``kind``.

    ``mean``: mean over expressions (MeViS; Ref-DAVIS17 per-expression protocol of VISA / VRS-HQ
    ``eval_davis17.py``). ``revos``: the ReVOS table with R. ``davis``: davis2017 statistics, one
    object per expression. ``davis_palette``: Ref-DAVIS17 annotator-palette protocol (ReferFormer,
    davis2017 ``unsupervised``), per annotator and their mean, as fractions.
    """
    summary: dict = {"mean": dataclasses.asdict(aggregate_mean(scores))}
    if kind == "revos":
        summary["revos"] = dataclasses.asdict(aggregate_revos(scores))
    if kind == "davis" and scores:
        summary["davis"] = dataclasses.asdict(aggregate_davis(scores))
    if palette_objects:
        summary["davis_palette"] = {k: dataclasses.asdict(v) for k, v in
                                    summarise_annotators(palette_objects).items()}
    return summary


def build_report(result: ReplayResult, source: str, kind: str, predictor: str) -> EvalReport:
    """Collect a replay's numbers into an ``EvalReport``."""
    summary = summarise(result.scores, kind, result.palette_objects)
    return EvalReport(source=source, kind=kind, predictor=predictor,
                      summary=summary, frames=result.frames,
                      predict_seconds=round(result.predict_seconds, 3),
                      frames_per_second=round(result.frames_per_second, 3),
                      expressions=[_expression_row(s) for s in result.scores],
                      unscored=list(result.unscored))


def video_rows(scores: list[ExpressionScore]) -> list[dict]:
    """Per-video means of the per-expression scores (percent)."""
    by_video: dict[str, list[ExpressionScore]] = defaultdict(list)
    for s in scores:
        by_video[s.video].append(s)
    rows = []
    for video, items in by_video.items():
        j = float(np.mean([s.j for s in items]))
        f = float(np.mean([s.f for s in items]))
        rows.append({"video": video, "expressions": len(items), "J": _pct(j), "F": _pct(f),
                     "JF": _pct((j + f) / 2)})
    return rows


def _write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        path.write_text("")
        return
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _markdown_table(rows: list[dict]) -> str:
    if not rows:
        return "(none)\n"
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        cells = [str(row[k]).replace("|", "\\|") for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _summary_rows(summary: dict) -> list[dict]:
    rows = []
    for name in ("referring", "reasoning", "overall"):
        if "revos" in summary:
            rows.append({"set": f"ReVOS {name}", **summary["revos"][name]})
    rows.append({"set": "mean over expressions", **summary["mean"]})
    for row in rows:
        for key in ("j", "f", "jf", "r"):
            row[key] = None if math.isnan(row[key]) else round(row[key], 2)
        if "revos" not in summary:
            row.pop("r")
    return rows


def _palette_rows(summary: dict) -> list[dict]:
    names = {"mean": "mean of the annotators"}
    return [{"protocol": names.get(key, key.replace("_", " ")),
             **{k: round(100 * v, 2) for k, v in stats.items()}}
            for key, stats in summary["davis_palette"].items()]


def write_markdown(path: Path, report: EvalReport, videos: list[dict]) -> None:
    """Human-readable report: summary, per-video and per-expression tables."""
    text = [f"# Evaluation of `{report.predictor}` on `{report.source}` ({report.kind})\n",
            f"{report.frames} frames predicted in {report.predict_seconds:.1f} s "
            f"({report.frames_per_second:.2f} frames/s).\n",
            "## Summary (percent)\n", _markdown_table(_summary_rows(report.summary))]
    if "davis" in report.summary:
        text += ["## davis2017-evaluation statistics, one object per expression\n",
                 _markdown_table([{k: round(v, 4) for k, v in report.summary["davis"].items()}])]
    if "davis_palette" in report.summary:
        text += ["## Ref-DAVIS17 annotator-palette protocol (percent)\n",
                 "Each annotator's expressions composed into one palette per frame and scored "
                 "with davis2017-evaluation `unsupervised` (ReferFormer). The per-expression "
                 "protocol (VISA / VRS-HQ `eval_davis17.py`) is the mean over expressions above.\n",
                 _markdown_table(_palette_rows(report.summary))]
    text += ["## Per video\n", _markdown_table(videos),
             "## Per expression\n", _markdown_table(report.expressions)]
    path.write_text("\n".join(text))


def plot_jf_per_expression(path: Path, scores: list[ExpressionScore]) -> None:
    """Bar chart of J&F (percent) per expression."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{s.video}/{s.exp_id}" for s in scores]
    values = [100 * s.jf for s in scores]
    robust = [100 * s.r for s in scores]
    with_r = not all(math.isnan(r) for r in robust)
    x = np.arange(len(values))
    width = 0.4 if with_r else 0.8
    fig, ax = plt.subplots(figsize=(max(4.0, 0.3 * len(scores) + 2), 3.5))
    ax.bar(x - (width / 2 if with_r else 0), values, width, color="tab:blue", label="J&F")
    if with_r:
        ax.bar(x + width / 2, np.nan_to_num(robust), width, color="tab:red", label="R")
        ax.legend(fontsize=7)
    ax.set_xticks(x, labels, rotation=90, fontsize=6)
    ax.set_ylim(0, 100)
    ax.set_ylabel("J&F, R (%)" if with_r else "J&F (%)")
    ax.set_title("J&F and R per expression" if with_r else "J&F per expression")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_timeline(path: Path, trace: ClipTrace) -> None:
    """Per-frame J, and score and state (when known) against the frame index."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = 2 if trace.states is not None else 1
    fig, axes = plt.subplots(rows, 1, figsize=(6, 2.2 * rows), sharex=True, squeeze=False)
    ax = axes[0, 0]
    if trace.j_per_frame is not None:
        ax.plot(trace.j_per_frame, label="J", color="tab:blue")
    if trace.r_per_frame is not None:
        ax.plot(trace.r_per_frame, label="R", color="tab:red")
    if trace.scores is not None:
        ax.plot(trace.scores, label="score", color="tab:orange")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(loc="lower right", fontsize=7)
    ax.set_title(f"{trace.video} / {trace.exp_id}", fontsize=9)
    if trace.states is not None:
        axes[1, 0].step(range(len(trace.states)), trace.states, where="post", color="tab:green")
        axes[1, 0].set_yticks(list(_STATE_NAMES), list(_STATE_NAMES.values()))
        axes[1, 0].set_xlabel("frame")
    else:
        ax.set_xlabel("frame")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(out_dir: str | Path, result: ReplayResult, source: str, kind: str,
                 predictor: str, timelines: bool = True) -> EvalReport:
    """Write ``report.json``, CSV and markdown tables and plots under ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = build_report(result, source, kind, predictor)
    (out / "report.json").write_text(json.dumps(_json_safe(dataclasses.asdict(report)), indent=2))
    videos = video_rows(result.scores)
    _write_csv(out / "expressions.csv", report.expressions)
    _write_csv(out / "videos.csv", videos)
    write_markdown(out / "report.md", report, videos)
    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    if result.scores:
        plot_jf_per_expression(plots / "jf_per_expression.png", result.scores)
    if timelines:
        (plots / "timeline").mkdir(exist_ok=True)
        for trace in result.traces:
            name = f"{bag_dir_name(trace.video)}__{bag_dir_name(trace.exp_id)}.png"
            plot_timeline(plots / "timeline" / name, trace)
    return report


def _json_safe(value):
    """Replace NaN by None (strict JSON has no NaN) and numpy scalars by Python ones."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
