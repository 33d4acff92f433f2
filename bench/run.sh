#!/usr/bin/env bash
# bench/run.sh: `make bench`. Installs the Debian packages the benchmarks
# need (only those missing; one apt-get update), builds stafetd and
# bench/ldapbench, then runs each benchmark against real servers on
# 127.0.0.1; each prints its own table (saved under build/bench/) and
# writes its rows as JSON, and bench/table.py prints them last as one table
# (saved as build/bench/table-DATE.md). See bench/README.md. Environment:
#   BENCH_PEOPLE           directory size (default 50000)
#   BENCH_NOTES            notes stored for the handover list (default 100000)
#   BENCH_DURATION         seconds of each load run (default 8; 10 before
#                          the growth rows, to keep `make bench` under 15
#                          minutes on a busy 2-core machine)
#   BENCH_MAILS            mails for the alert delivery (default 3000)
#   BENCH_GROWTH           the other directory sizes of the growth rows
#                          (default 5000,200000; BENCH_PEOPLE's figures are
#                          taken from the directory run)
#   BENCH_GROWTH_DURATION  seconds of each growth load run (default 5)
set -euo pipefail

started=$(date +%s)
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

# The project's packages, and what only the benchmarks use.
sh scripts/setup-deps.sh wrk

make --no-print-directory all
mkdir -p build/bench
# shellcheck disable=SC2046
cc -std=c11 -O2 -g -Wall -Wextra -Werror -pthread -o build/bench/ldapbench bench/ldapbench.c \
	$(pkg-config --cflags --libs ldap)

setup=$(($(date +%s) - started))
echo "bench: packages and build took $setup s"
stamp=$(date +%Y%m%d-%H%M%S)
json_dir="build/bench/json-$stamp"
mkdir -p "$json_dir"

# The load average while the benchmarks run (the machine may be shared).
loadavg="$json_dir/loadavg.txt"
(while :; do cat /proc/loadavg; sleep 10; done) >>"$loadavg" &
sampler=$!
trap 'kill "$sampler" 2>/dev/null || true' EXIT

failed=()
# run NAME CMD...: one driver; its table is also saved as
# build/bench/NAME-DATE.txt. A failure is reported in the final table and
# in the exit status, and the other drivers still run.
run() {
	local name=$1 out
	shift
	out="build/bench/$name-$(date +%Y%m%d-%H%M%S).txt"
	if "$@" | tee "$out"; then
		echo "bench: table saved in $out"
	else
		echo "bench: **the $name benchmark failed** (see above)" >&2
		failed+=("$name")
	fi
}

# Directory: sync, memory, people search and counterpart resolution against
# LDAP on a generated directory of BENCH_PEOPLE people.
run directory /usr/bin/python3 bench/directory_bench.py \
	--people "${BENCH_PEOPLE:-50000}" --duration "${BENCH_DURATION:-8}" \
	--json "$json_dir/directory.json"

# Authenticated reads: /api/v1/me and people search with a session against
# /healthz of the same daemon in the same run (the login check's cost).
run auth /usr/bin/python3 bench/auth_bench.py \
	--people "${BENCH_PEOPLE:-50000}" --duration "${BENCH_DURATION:-8}" \
	--json "$json_dir/auth.json"

# Handover notes: submit (against pgbench's rate for the same writes) and
# the incoming list with 100,000 notes stored (against the same SELECT in
# pgbench), on the demo directory.
run handovers /usr/bin/python3 bench/handover_bench.py \
	--notes "${BENCH_NOTES:-100000}" --duration "${BENCH_DURATION:-8}" \
	--json "$json_dir/handovers.json"

# Alerts: mails per second from the outbox to a local SMTP server (against
# smtplib sending the same mails to the same server over one connection).
run alerts /usr/bin/python3 bench/alerts_bench.py --mails "${BENCH_MAILS:-3000}" \
	--json "$json_dir/alerts.json"

# Growth: the directory's figures at other sizes (BENCH_PEOPLE's come from
# the directory run's JSON).
run growth /usr/bin/python3 bench/growth_bench.py \
	--people "${BENCH_GROWTH:-5000,200000}" \
	--duration "${BENCH_GROWTH_DURATION:-5}" \
	--from "$json_dir/directory.json" --json "$json_dir/growth.json"

# Notices: the receiving unit's pipeline with BENCH_NOTICES notices stored
# (against the bare SELECT in pgbench), on the demo directory.
run pipeline /usr/bin/python3 bench/pipeline_bench.py \
	--notices "${BENCH_NOTICES:-5000}" --seconds "${BENCH_DURATION:-8}" \
	--json "$json_dir/pipeline.json"

# The quality report at 1,000 and at BENCH_NOTES notes (against the
# rollup SELECT in pgbench and the full scan it replaced), on the demo
# directory.
run report /usr/bin/python3 bench/report_bench.py --small 1000 \
	--notes "${BENCH_NOTES:-100000}" --duration "${BENCH_DURATION:-8}" \
	--json "$json_dir/report.json"

kill "$sampler" 2>/dev/null || true
echo
rc=0
/usr/bin/python3 bench/table.py --wall "$(($(date +%s) - started))" --setup "$setup" \
	--loadavg "$loadavg" --out "build/bench/table-$stamp.md" "$json_dir"/*.json || rc=$?
if [ "${#failed[@]}" -gt 0 ] && [ "$rc" -eq 0 ]; then
	rc=1
fi
exit "$rc"
