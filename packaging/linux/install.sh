#!/usr/bin/env bash
# Install the one-folder bundle for the current user, with its menu entry, icons and
# AppStream metadata, under ~/.local (no root needed):
#
#   packaging/linux/install.sh [BUNDLE_DIR]       # default: dist/dictation-app
#   packaging/linux/install.sh --uninstall
#
# Options: --prefix DIR (default ~/.local). The bundle goes to PREFIX/opt/dictation-app,
# a link to its executable to PREFIX/bin/dictation-app, and the .desktop file, icons
# and metainfo to PREFIX/share under the app id. A release tarball holds the bundle
# and this folder; the icons are taken from the bundle itself.
set -euo pipefail

APP_ID="io.github.dictation_app.DictationApp"
NAME="dictation-app"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PREFIX="${HOME}/.local"
BUNDLE=""
UNINSTALL=0

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) PREFIX="$2"; shift 2 ;;
        --prefix=*) PREFIX="${1#--prefix=}"; shift ;;
        --uninstall) UNINSTALL=1; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
        *) BUNDLE="$1"; shift ;;
    esac
done

OPT_DIR="$PREFIX/opt/$NAME"
BIN_LINK="$PREFIX/bin/$NAME"
APPS_DIR="$PREFIX/share/applications"
ICONS_DIR="$PREFIX/share/icons/hicolor"
METAINFO_DIR="$PREFIX/share/metainfo"
SIZES="16 24 32 48 64 128 256 512"

refresh_caches() {
    # Menus and icon themes pick the changes up without these on most desktops; they
    # only speed it up, so a missing tool is not an error.
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$APPS_DIR" || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$ICONS_DIR/index.theme" ]; then
        gtk-update-icon-cache -q -f -t "$ICONS_DIR" || true
    fi
}

if [ "$UNINSTALL" = 1 ]; then
    rm -rf "$OPT_DIR"
    rm -f "$BIN_LINK" "$APPS_DIR/$APP_ID.desktop" "$METAINFO_DIR/$APP_ID.metainfo.xml"
    for size in $SIZES; do
        rm -f "$ICONS_DIR/${size}x${size}/apps/$APP_ID.png"
    done
    rm -f "$ICONS_DIR/scalable/apps/$APP_ID.svg"
    refresh_caches
    echo "Removed Dictation from $PREFIX (settings and saved tokens are kept)."
    exit 0
fi

if [ -z "$BUNDLE" ]; then
    BUNDLE="$HERE/../../dist/$NAME"
fi
if [ ! -x "$BUNDLE/$NAME" ]; then
    echo "install.sh: no bundle at $BUNDLE (build it with: pyinstaller build.spec)" >&2
    exit 1
fi
BUNDLE="$(cd "$BUNDLE" && pwd)"
ICON_SRC="$BUNDLE/_internal/resources/icons"

# Copy into a fresh folder and swap it in, so a failed copy leaves the old install working.
mkdir -p "$PREFIX/opt"
rm -rf "$OPT_DIR.new"
cp -a "$BUNDLE" "$OPT_DIR.new"
rm -rf "$OPT_DIR"
mv "$OPT_DIR.new" "$OPT_DIR"

mkdir -p "$(dirname "$BIN_LINK")"
ln -sfn "$OPT_DIR/$NAME" "$BIN_LINK"

# The menu entry runs the installed executable by its full path: ~/.local/bin is not
# on every desktop session's PATH.
mkdir -p "$APPS_DIR"
sed -e "s|^Exec=$NAME |Exec=$OPT_DIR/$NAME |" \
    -e "s|^TryExec=$NAME\$|TryExec=$OPT_DIR/$NAME|" \
    "$HERE/$NAME.desktop" > "$APPS_DIR/$APP_ID.desktop"

for size in $SIZES; do
    install -D -m 0644 "$ICON_SRC/$NAME-$size.png" "$ICONS_DIR/${size}x${size}/apps/$APP_ID.png"
done
install -D -m 0644 "$ICON_SRC/$NAME.svg" "$ICONS_DIR/scalable/apps/$APP_ID.svg"
install -D -m 0644 "$HERE/$APP_ID.metainfo.xml" "$METAINFO_DIR/$APP_ID.metainfo.xml"

refresh_caches
echo "Installed Dictation to $OPT_DIR; run it from the applications menu or as $BIN_LINK."
case ":$PATH:" in
    *":$(dirname "$BIN_LINK"):"*) ;;
    *) echo "Note: $(dirname "$BIN_LINK") is not on PATH; add it to run $NAME from a terminal." ;;
esac
