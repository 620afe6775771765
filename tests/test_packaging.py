"""The package as a user gets it: a wheel and an sdist built from this tree, and the wheel
installed into a fresh virtual environment, where ``threadkit tour`` and ``threadkit doctor``
run.

The build runs without isolation (``hatchling``, from the ``[test]`` extra, is already
installed), so the test needs no network.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

import threadkit

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(300)


def _run(*argv: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in argv],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=cwd,
    )
    assert proc.returncode == 0, f"{argv} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(
        sys.executable, "-m", "build", "--no-isolation", "--wheel", "--sdist", "--outdir", out,
        ROOT, cwd=out,
    )  # fmt: skip
    return out


def test_the_wheel_holds_the_package_and_its_metadata(dist: Path) -> None:
    version = threadkit.__version__
    wheel = dist / f"threadkit-{version}-py3-none-any.whl"
    assert wheel.exists(), sorted(p.name for p in dist.iterdir())
    names = zipfile.ZipFile(wheel).namelist()
    assert "threadkit/__init__.py" in names
    assert "threadkit/py.typed" in names
    assert "threadkit/testing/explore.py" in names
    assert not [n for n in names if n.startswith(("tests/", "bench/", "examples/"))]
    metadata = zipfile.ZipFile(wheel).read(f"threadkit-{version}.dist-info/METADATA").decode()
    assert f"Version: {version}\n" in metadata  # the version comes from __init__.py
    assert "Requires-Python: >=3.11" in metadata
    assert "Provides-Extra: dask" in metadata
    assert "\nRequires-Dist: " not in metadata.split("Provides-Extra")[0]  # stdlib only
    entry_points = zipfile.ZipFile(wheel).read(f"threadkit-{version}.dist-info/entry_points.txt")
    assert b"threadkit = threadkit._cli:main" in entry_points


def test_the_sdist_holds_the_sources_and_the_changelog(dist: Path) -> None:
    version = threadkit.__version__
    sdist = dist / f"threadkit-{version}.tar.gz"
    assert sdist.exists(), sorted(p.name for p in dist.iterdir())
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE"} <= names
    assert "src/threadkit/__init__.py" in names
    assert f"## {version} " in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_the_wheel_installs_and_its_command_runs(dist: Path, tmp_path: Path) -> None:
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    bin_dir = env / ("Scripts" if sys.platform == "win32" else "bin")
    python = bin_dir / "python"
    wheel = dist / f"threadkit-{threadkit.__version__}-py3-none-any.whl"
    _run(python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", wheel, cwd=tmp_path)
    # From tmp_path, so the tree's src/ is not what gets imported.
    where = _run(python, "-c", "import threadkit; print(threadkit.__file__)", cwd=tmp_path)
    assert str(env) in where.stdout
    tour = _run(bin_dir / "threadkit", "tour", cwd=tmp_path)
    assert tour.stdout.startswith(f"threadkit {threadkit.__version__} tour on Python ")
    assert "That's the tour." in tour.stdout
    assert tour.stderr == ""
    doctor = _run(bin_dir / "threadkit", "doctor", "--json", cwd=tmp_path)
    facts = json.loads(doctor.stdout)
    assert facts["threadkit"] == threadkit.__version__
    assert str(env) in facts["location"]
    assert facts["extras"]["dask"].startswith("not installed")  # (a fresh venv: no extras)
