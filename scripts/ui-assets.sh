#!/bin/sh
# ui-assets.sh: Det Fælles Designsystem (the npm package dkfds, pinned in
# ui/package-lock.json) for the web UI. Installs it into ui/node_modules
# with `npm ci` when missing or when the lockfile changed, then copies what
# the UI uses into web/dkfds/ (generated, not in git): the compiled CSS,
# exactly the fonts and images its url()s name (IBM Plex Sans, the icons),
# the icon sprite and the licence files (MIT; fonts OFL-1.1; icons
# Apache-2.0). stafetd serves web/ as it is, so nothing is fetched from a
# third party. `make deps` (so `make check` and `make demo`), `make install`
# and tests/browser/run.sh call it.
set -eu
cd "$(dirname "$0")/.."
UI=ui
PKG=$UI/node_modules/dkfds
STAMP=$UI/node_modules/.stafet-lock
OUT=web/dkfds

if [ ! -f "$PKG/package.json" ] || ! cmp -s "$UI/package-lock.json" "$STAMP"; then
	command -v npm >/dev/null 2>&1 || {
		echo "ui-assets: npm is missing (scripts/setup-deps.sh installs it)" >&2
		exit 1
	}
	(cd "$UI" && npm ci --no-audit --no-fund --loglevel=error)
	cp "$UI/package-lock.json" "$STAMP"
	rm -rf "$OUT"
fi
# The PDF of a note (api/pdf_render.c) embeds IBM Plex Sans from these TTFs.
PDF_FONTS="IBMPlexSans-Regular.ttf IBMPlexSans-SemiBold.ttf"
TTF=fonts/IBMPlexSans/complete/ttf
[ -f "$OUT/css/dkfds.min.css" ] && [ "$OUT/css/dkfds.min.css" -nt "$STAMP" ] &&
	[ -f "$OUT/$TTF/IBMPlexSans-SemiBold.ttf" ] && exit 0

DIST=$PKG/dist
TMP=$OUT.tmp.$$
rm -rf "$TMP"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/css" "$TMP/img"
cp "$DIST/css/dkfds.min.css" "$TMP/css/"
cp "$DIST/LICENSE.md" "$TMP/LICENSE.md"
cp "$DIST/img/all-svg-icons.svg" "$TMP/img/"
# Every file the CSS refers to, at the same relative path.
grep -o 'url([^)]*)' "$DIST/css/dkfds.min.css" | sed 's/^url(["'\'']*//; s/["'\'']*)$//' |
	grep '^\.\./' | sed 's|^\.\./||' | sort -u | while read -r f; do
	[ -f "$DIST/$f" ] || { echo "ui-assets: $f is named by dkfds.min.css but missing" >&2; exit 1; }
	mkdir -p "$TMP/$(dirname "$f")"
	cp "$DIST/$f" "$TMP/$f"
done
mkdir -p "$TMP/$TTF"
for f in $PDF_FONTS; do cp "$DIST/$TTF/$f" "$TMP/$TTF/"; done
# The font licence beside each font directory used.
for d in "$TMP"/fonts/IBMPlexSans/complete/*; do
	[ -d "$d" ] && cp "$DIST/fonts/IBMPlexSans/complete/$(basename "$d")/license.txt" "$d/"
done
version=$(node -p "require(\"./$PKG/package.json\").version")
printf 'dkfds %s from the npm registry (ui/package-lock.json); see LICENSE.md.\n' "$version" >"$TMP/VERSION.txt"
chmod -R u=rwX,go=rX "$TMP"
rm -rf "$OUT"
mv "$TMP" "$OUT"
trap - EXIT
