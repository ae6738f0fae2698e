#!/usr/bin/env bash
# Build the standalone Linux app: one folder, no Python needed on the target machine.
#
#   packaging/build.sh [--archive] [DIST_DIR]      (default DIST_DIR: dist)
#
# Result: DIST_DIR/tierdeck/tierdeck (CLI and app), share/ with the .desktop file and icons,
# install.sh (per-user install into ~/.local). --archive also writes
# DIST_DIR/tierdeck-VERSION-linux-ARCH.tar.gz. macOS/Windows: run PyInstaller on the spec there.
set -euo pipefail
cd "$(dirname "$0")/.."

archive=0
if [[ "${1:-}" == "--archive" ]]; then archive=1; shift; fi
dist=${1:-dist}
work=${TIERDECK_BUILD_WORK:-build/pyinstaller}
python=${PYTHON:-.venv/bin/python}

start=$SECONDS
echo ">> building the standalone app with PyInstaller (about 2-4 min on 2 cores)"
"$python" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$dist" --workpath "$work" packaging/tierdeck.spec

app="$dist/tierdeck"
# Some Pythons (pyenv) ship libpython with debug info: ~18 MB nobody needs in an app.
if command -v strip >/dev/null; then
  find "$app/_internal" -maxdepth 1 -name 'libpython3*.so*' -exec strip --strip-debug {} +
fi
share="$app/share"
mkdir -p "$share/applications" "$share/icons/hicolor/scalable/apps"
cp packaging/linux/tierdeck.desktop "$share/applications/"
cp resources/tierdeck.svg "$share/icons/hicolor/scalable/apps/"
for png in resources/icons/tierdeck-*.png; do
  n=${png##*-}; n=${n%.png}
  mkdir -p "$share/icons/hicolor/${n}x${n}/apps"
  cp "$png" "$share/icons/hicolor/${n}x${n}/apps/tierdeck.png"
done
install -m 0755 packaging/linux/install.sh "$app/install.sh"

"$app/tierdeck" --version >/dev/null  # a bundle that cannot start is not a build
size=$(du -sh "$app" | cut -f1)
echo ">> built $app in $((SECONDS - start)) s ($size)"

if (( archive )); then
  version=$("$app/tierdeck" --version | awk '{print $2}')
  tarball="$dist/tierdeck-$version-linux-$(uname -m).tar.gz"
  tar -C "$dist" -czf "$tarball" tierdeck
  echo ">> archive: $tarball ($(du -sh "$tarball" | cut -f1))"
fi
