#!/usr/bin/env bash
# Install this TierDeck folder for the current user: the app in ~/.local/opt/tierdeck, the
# `tierdeck` command in ~/.local/bin, a menu entry and icons in ~/.local/share.
# Run it from the unpacked folder: ./install.sh   (./install.sh --uninstall removes it again)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-$HOME/.local}
dest="$prefix/opt/tierdeck"

if [[ "${1:-}" == "--uninstall" ]]; then
  rm -rf "$dest" "$prefix/bin/tierdeck" "$prefix/share/applications/tierdeck.desktop"
  find "$prefix/share/icons/hicolor" -name tierdeck.png -o -name tierdeck.svg 2>/dev/null | xargs -r rm -f
  echo "TierDeck removed from $prefix (your settings and profiles are kept)."
  exit 0
fi

if [[ "$here" != "$dest" ]]; then
  rm -rf "$dest"
  mkdir -p "$prefix/opt"
  cp -a "$here" "$dest"
fi
mkdir -p "$prefix/bin" "$prefix/share/applications"
ln -sf "$dest/tierdeck" "$prefix/bin/tierdeck"
cp -r "$dest/share/icons" "$prefix/share/"
sed "s|^Exec=.*|Exec=$dest/tierdeck|" "$dest/share/applications/tierdeck.desktop" \
  > "$prefix/share/applications/tierdeck.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$prefix/share/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$prefix/share/icons/hicolor" || true
echo "TierDeck installed: $prefix/bin/tierdeck, and TierDeck in the applications menu."
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "Add $prefix/bin to PATH to run 'tierdeck' from a terminal." ;; esac
