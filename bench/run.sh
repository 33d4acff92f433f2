#!/usr/bin/env bash
# bench/run.sh: `make bench`. Installs the Debian packages the benchmarks
# need (only those missing; one apt-get update), builds stafetd and
# bench/ldapbench, then runs each benchmark against real servers on
# 127.0.0.1 and prints its table (also saved under build/bench/).
# See bench/README.md. Environment:
#   BENCH_PEOPLE    directory size (default 50000)
#   BENCH_NOTES     notes stored for the handover list (default 100000)
#   BENCH_DURATION  seconds of each load run (default 10)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

# The project's packages, and what only the benchmarks use.
sh scripts/setup-deps.sh wrk

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

# Handover notes: submit (against pgbench's rate for the same writes) and
# the incoming list with 100,000 notes stored (against the same SELECT in
# pgbench), on the demo directory.
out="build/bench/handovers-$(date +%Y%m%d-%H%M%S).txt"
/usr/bin/python3 bench/handover_bench.py \
	--notes "${BENCH_NOTES:-100000}" --duration "${BENCH_DURATION:-10}" | tee "$out"
echo "bench: table saved in $out"

# Alerts: mails per second from the outbox to a local SMTP server (against
# smtplib sending the same mails to the same server over one connection).
out="build/bench/alerts-$(date +%Y%m%d-%H%M%S).txt"
/usr/bin/python3 bench/alerts_bench.py --mails "${BENCH_MAILS:-3000}" | tee "$out"
echo "bench: table saved in $out"
