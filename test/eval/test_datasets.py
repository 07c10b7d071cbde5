"""Layout detection, its error message, and one module per layout without import cycles."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from conftest import write_revos_folder  # noqa: E402
from eval_layouts import (  # noqa: E402
    write_mevis,
    write_ref_davis_converted,
    write_ref_davis_raw,
    write_ref_youtube_vos,
    write_revos,
)

import vrs_hq_ros.eval as eval_pkg  # noqa: E402
from vrs_hq_ros.eval.datasets import detect_kind  # noqa: E402
from vrs_hq_ros.eval.errors import DatasetFormatError  # noqa: E402


@pytest.mark.parametrize(("writer", "name", "kind"), [
    (write_revos, "ReVOS", "revos"),
    (write_mevis, "MeViS", "mevis"),
    (write_ref_davis_raw, "ref-davis", "davis"),
    (write_ref_davis_converted, "ref-davis", "davis"),
    (write_ref_youtube_vos, "ref-youtube-vos", "ref_youtube_vos"),
    (write_revos_folder, "converted", "mask_dict"),
])
def test_each_official_layout_is_recognised(tmp_path, writer, name, kind):
    assert detect_kind(writer(tmp_path / name)) == kind


def test_an_unknown_folder_lists_what_it_holds(tmp_path):
    (tmp_path / "frames").mkdir()
    (tmp_path / "labels.json").write_text("{}")

    with pytest.raises(DatasetFormatError, match=r"found \['frames/', 'labels.json'\].*--kind"):
        detect_kind(tmp_path)


def _eval_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vrs_hq_ros.eval."):
            names.add(node.module.split(".")[2])
    return names


def test_eval_modules_import_each_other_without_cycles():
    folder = Path(eval_pkg.__file__).parent
    graph = {p.stem: _eval_imports(p) for p in folder.glob("*.py")}

    def visit(node: str, stack: tuple[str, ...]) -> None:
        assert node not in stack, f"import cycle {' -> '.join((*stack, node))}"
        for child in graph.get(node, ()):
            visit(child, (*stack, node))

    for module in graph:
        visit(module, ())
    for layout in ("revos", "mevis", "ref_davis", "ref_youtube_vos", "mask_dict"):
        assert "datasets" not in graph[layout]
