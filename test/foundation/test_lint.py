"""The linters a ROS 2 package is held to: flake8/pep257 rules (ruff) and a valid package.xml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_python_sources_pass_ruff():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(REPO)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)

    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_package_xml_is_a_valid_format3_manifest():
    catkin_pkg = pytest.importorskip("catkin_pkg.package")

    package = catkin_pkg.parse_package(str(REPO / "package.xml"))
    package.validate()

    assert package.name == "vrs_hq_ros"
    assert package.package_format == 3
    assert package.get_build_type() == "ament_cmake"


@pytest.mark.skipif(shutil.which("xmllint") is None, reason="xmllint not installed (libxml2-utils)")
def test_package_xml_passes_xmllint():
    proc = subprocess.run(["xmllint", "--noout", str(REPO / "package.xml")],
                          capture_output=True, text=True, timeout=60)

    assert proc.returncode == 0, proc.stderr
