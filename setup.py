"""Copies the repository's profiles/ and resources/ into the wheel as tierdeck/_data/.

Everything else is in pyproject.toml. In a source checkout (also `pip install -e .`) the app
reads the top-level folders directly (tierdeck.core.resources), so nothing is copied there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SHIPPED = ("profiles", "resources")


class build_py_with_data(build_py):  # noqa: N801 - setuptools command naming
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for name in SHIPPED:
            src = HERE / name
            if not src.is_dir():
                raise SystemExit(f"setup.py: {src} is missing (an sdist must include it)")
            dst = Path(self.build_lib) / "tierdeck" / "_data" / name
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": build_py_with_data})
