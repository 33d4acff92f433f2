#!/usr/bin/env bash
# bench/run.sh: `make bench`. Installs the Debian packages the benchmarks
# need (only those missing; one apt-get update), builds stafetd and
# bench/ldapbench, then runs each benchmark against real servers on
# 127.0.0.1 and prints its table (also saved under build/bench/).
# See bench/README.md. Environment:
#   BENCH_PEOPLE    directory size (default 50000)
#   BENCH_DURATION  seconds of each load run (default 10)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

PACKAGES="
gcc make pkg-config
libevent-dev libjansson-dev libldap-dev libpq-dev libcurl4-openssl-dev
slapd ldap-utils
postgresql postgresql-client
python3 python3-requests
procps wrk
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "bench: installing:$missing"
	SUDO=""
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null 2>&1 || {
			echo "bench: not root and no sudo; install as root:$missing" >&2
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
fi

make --no-print-directory all
mkdir -p build/bench
# shellcheck disable=SC2046
cc -std=c11 -O2 -g -Wall -Wextra -Werror -pthread -o build/bench/ldapbench bench/ldapbench.c \
	$(pkg-config --cflags --libs ldap)

extra=()

out="build/bench/directory-$(date +%Y%m%d-%H%M%S).txt"
/usr/bin/python3 bench/directory_bench.py "${extra[@]}" \
	--people "${BENCH_PEOPLE:-50000}" --duration "${BENCH_DURATION:-10}" | tee "$out"
echo "bench: table saved in $out"
