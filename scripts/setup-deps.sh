#!/bin/sh
# setup-deps.sh: installs the Debian packages Stafet needs, only those missing.
# `make check` and `make demo` call it, so a fresh Debian machine needs nothing
# else. clang and libclang-rt-dev (libFuzzer) build the fuzzing harnesses in
# tests/fuzz/. chromium is for the browser tests (tests/browser/); npm (with
# Node.js) installs them and the web UI's design system (scripts/ui-assets.sh:
# dkfds); it is installed only when no npm is on the PATH (a Node.js from
# elsewhere brings its own npm). As non-root it uses sudo when it has to install
# something. systemd (systemd-analyze, -sysusers, -tmpfiles) and man-db are
# for tests/integration/test_install.py. samba, samba-ad-dc, samba-ad-provision
# and ldb-tools run a real Active Directory (Samba's AD DC) in a temp dir for
# tests/integration/test_samba_ad.py (tests/harness/samba.py); the services
# the packages enable (smbd, nmbd, winbind, samba-ad-dc) are stopped and
# disabled right after the install. libxlsxwriter-dev writes the quality
# report's workbook; python3-openpyxl reads it back in
# tests/integration/test_reports.py. python3-icalendar and python3-vobject read
# the deadline calendar and the vCards back in test_calendar.py and
# test_vcard.py. libcairo2-dev and libpango1.0-dev
# render a note's PDF (api/pdf_render.c); qpdf and poppler-utils (pdffonts,
# pdftotext, pdftoppm) check it in tests/integration/test_pdf.py. Extra
# package names on the command line are installed too.
set -eu

PACKAGES="
gcc make pkg-config
libevent-dev libjansson-dev libldap-dev libpq-dev libcurl4-openssl-dev libssl-dev
libcmocka-dev
libxlsxwriter-dev python3-openpyxl
python3-icalendar python3-vobject
libcairo2-dev libpango1.0-dev qpdf poppler-utils
slapd ldap-utils
postgresql postgresql-client
python3 python3-pytest python3-pytest-xdist python3-requests python3-aiosmtpd python3-jsonschema
curl procps valgrind clang-format clang libclang-rt-dev
systemd man-db
chromium
samba samba-ad-dc samba-ad-provision ldb-tools
"
# Callers may need more (bench/run.sh: wrk).
PACKAGES="$PACKAGES $*"
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "setup-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "setup-deps: not root and no sudo; install as root:$missing" >&2
		exit 1
	}
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# slapd's postinst would configure a system directory; ours lives in temp dirs.
echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
# The samba packages start and enable the machine's own smbd, nmbd, winbind
# (and samba-ad-dc, when provisioned): the tests run their own DC in a temp
# dir, so none of these may run or start at boot.
case "$missing" in
*samba*)
	for u in smbd nmbd winbind samba-ad-dc; do
		if [ -d /run/systemd/system ]; then
			$SUDO systemctl disable --now "$u" >/dev/null 2>&1 || :
			continue
		fi
		if [ -x "/etc/init.d/$u" ]; then
			$SUDO "/etc/init.d/$u" stop >/dev/null 2>&1 || :
		fi
		if command -v systemctl >/dev/null 2>&1; then
			$SUDO systemctl disable "$u" >/dev/null 2>&1 || :
		fi
		if command -v update-rc.d >/dev/null 2>&1; then
			$SUDO update-rc.d "$u" disable >/dev/null 2>&1 || :
		fi
	done
	;;
esac
