#!/usr/bin/env bash
# run.sh: the browser tests. Installs playwright-core and axe-core from the npm
# registry into tests/browser/node_modules when missing or changed (npm ci, as package-lock.json
# pins it), then runs test_ui.py, which starts slapd, PostgreSQL, an SMTP
# sink and stafetd in temporary directories and drives Debian's Chromium.
# Screenshots land in build/screenshots/. pytest's last line counts.
# The UI's design system (dkfds, web/dkfds/) comes from scripts/ui-assets.sh.
set -eu
cd "$(dirname "$0")"
sh ../../scripts/ui-assets.sh
# npm ci again whenever package-lock.json changed (a stamp of the last install).
if [ ! -f node_modules/playwright-core/package.json ] || ! cmp -s package-lock.json node_modules/.stafet-lock; then
	npm ci --no-audit --no-fund --loglevel=error
	cp package-lock.json node_modules/.stafet-lock
fi
cd ../..
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/browser "$@"
