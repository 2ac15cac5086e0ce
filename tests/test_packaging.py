"""The built wheel and sdist: the wheel installs into a fresh virtual environment and works from there,
with its package data (the hard-case list, the campaign's summaries, the report template, the explainer).

The environment sees the installed dependencies (``--system-site-packages``: torch is 700 MB, and the
test must run offline) but not the checkout: gelulab itself comes from the wheel, and the commands run
from a folder outside the checkout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ("gelulab/accuracy/hard_cases.json", "gelulab/accuracy/campaign.json", "gelulab/analysis/explainer.md",
        "gelulab/claims/literature.json",
        "gelulab/report/templates/report.html.j2")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: build with the installed setuptools, so the test needs no network
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--wheel", "--sdist", "--outdir", str(out),
                           str(ROOT)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return out


def test_the_wheel_and_the_sdist_carry_the_package_data(dist):
    (wheel,) = dist.glob("gelulab-*.whl")
    (sdist,) = dist.glob("gelulab-*.tar.gz")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(DATA) <= names, sorted(set(DATA) - names)
    with tarfile.open(sdist) as tar:
        members = {m.split("/", 1)[1] for m in tar.getnames() if "/" in m}
    assert {f"src/{d}" for d in DATA} <= members


def test_the_wheel_works_in_a_fresh_environment(dist, tmp_path):
    (wheel,) = dist.glob("gelulab-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)], check=True,
                   timeout=300)
    work = tmp_path / "elsewhere"
    work.mkdir()

    def run(*args: str) -> str:
        proc = subprocess.run([str(python), *args], cwd=work, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout

    where = run("-c", "import gelulab; print(gelulab.__file__)").strip()
    assert where.startswith(str(venv)), f"gelulab imported from {where}, not from the wheel"
    gelulab = str(venv / "bin" / "gelulab")
    assert run("-m", "gelulab.cli", "eval", "gelu", "-0.75", "--dtype", "float32").startswith("gelu f(-0.75)")
    assert subprocess.run([gelulab, "list"], cwd=work, capture_output=True, timeout=120).returncode == 0
    scan = json.loads(run("-m", "gelulab.cli", "accuracy", "--dtype", "bfloat16", "--function", "gelu",
                          "--impl", "gelulab", "--no-save", "--json"))
    assert scan["complete"] and scan["summary"][0]["finite_not_correctly_rounded"] == 0
    hard = run("-c", "from gelulab.accuracy.hard_cases import load_hard_cases; print(len(load_hard_cases()))")
    assert int(hard) > 100
    run("-m", "gelulab.cli", "report", "--quick", "--out", "r", "--no-progress")
    page = (work / "r" / "index.html").read_text(encoding="utf-8")
    assert "Exhaustive campaign" in page and "Accuracy" in page
