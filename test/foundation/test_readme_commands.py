"""README's two commands exist, and CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _readme_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert block, "README.md must open with a bash block holding the two commands"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_opens_with_demo_and_test_commands():
    demo, tests = _readme_commands()[:2]

    assert "scripts/demo.sh" in demo
    assert "scripts/test.sh" in tests
    for command in (demo, tests):
        for script in re.findall(r"scripts/[\w.]+", command):
            assert (REPO / script).is_file(), f"{script} named in README does not exist"


def test_ci_runs_the_readme_test_command():
    tests = _readme_commands()[1]

    assert tests in (REPO / ".ci/run").read_text().splitlines()
