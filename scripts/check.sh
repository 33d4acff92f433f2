#!/usr/bin/env bash
# check.sh TIER: the tests of one tier; runs all its stages even when one
# fails, then prints the total as the last line: "N passed, N failed".
#
#   check  (make check, CI): unit tests plain and under ASan+UBSan, the
#          format check, a replay of every fuzz regression and seed input,
#          the integration tests once against the ASan+UBSan build of
#          stafetd (two workers; tests marked slow left out), valgrind over
#          a named, bounded subset, and the browser tests.
#   world  (make check-world): all of that, but the slow tests too, timed
#          fuzzing (FUZZ_CHECK_TIME seconds a harness), the integration tests
#          against the plain build as well, and valgrind over every
#          integration test that runs the daemon.
set -u
cd "$(dirname "$0")/.."

TIER=${1:-check}
case $TIER in
check | world) ;;
*)
	echo "usage: check.sh check|world" >&2
	exit 2
	;;
esac

PY=/usr/bin/python3
passed=0
failed=0
bad_stages=()

count_cmocka() { # output file, exit code
	local p f
	p=$(grep -Eo '\[  PASSED  \] [0-9]+' "$1" | awk '{s+=$NF} END {print s+0}')
	f=$(grep -Eo '\[  FAILED  \] [0-9]+' "$1" | awk '{s+=$NF} END {print s+0}')
	if [ "$2" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	passed=$((passed + p))
	failed=$((failed + f))
}

count_pytest() { # output file, exit code
	local line p f e
	line=$(grep -E '^(=+ )?[0-9]+ (passed|failed|error)' "$1" | tail -n 1)
	p=$(echo "$line" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+' || echo 0)
	f=$(echo "$line" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+' || echo 0)
	e=$(echo "$line" | grep -Eo '[0-9]+ errors?' | grep -Eo '[0-9]+' || echo 0)
	f=$((${f:-0} + ${e:-0}))
	if [ "$2" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	passed=$((passed + ${p:-0}))
	failed=$((failed + f))
}

stage() { # name, counter, command...
	local name=$1 counter=$2 out rc
	shift 2
	echo "=== $name"
	out=$(mktemp)
	"$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	$counter "$out" "$rc"
	[ "$rc" = 0 ] || bad_stages+=("$name")
	rm -f "$out"
}

unit_tests() { # dir
	local rc=0 t
	for t in "$1"/test_*; do
		case $t in *.d) continue ;; esac
		"$t" || rc=1
	done
	return $rc
}

format_check() {
	if ! command -v clang-format >/dev/null 2>&1; then
		echo "clang-format not installed; skipped"
		echo "[  PASSED  ] 0 test(s)."
		return 0
	fi
	if make -s format-check; then
		echo "[  PASSED  ] 1 test(s)."
	else
		echo "[  FAILED  ] 1 test(s), listed below: format-check"
		return 1
	fi
}

stage "unit tests" count_cmocka unit_tests build/tests
asan_unit_tests() {
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		unit_tests build/asan/tests
}

stage "unit tests (ASan+UBSan)" count_cmocka asan_unit_tests
stage "format" count_cmocka format_check
# The layers (DESIGN.md "Architecture"): no object of a lower layer names a
# symbol a higher one defines (scripts/layers.py prints each such pair).
stage "layers" count_cmocka "$PY" scripts/layers.py build/obj
# libFuzzer harnesses (tests/fuzz/): make check replays every regression and
# seed input (no timed fuzzing); make check-world fuzzes each harness
# FUZZ_CHECK_TIME seconds after the replay. One test per harness.
fuzz_check() {
	if ! command -v clang >/dev/null 2>&1; then
		echo "clang not installed (make deps installs it)"
		echo "[  FAILED  ] 1 test(s), listed below: fuzz-check"
		return 1
	fi
	if [ "$TIER" = world ]; then
		make -s fuzz-check
	else
		make -s fuzz-replay
	fi
}
stage "fuzzing (libFuzzer)" count_cmocka fuzz_check

# pytest-xdist: each worker starts its own slapd, PostgreSQL and SMTP sink
# (session fixtures), and every test its own database and daemon.
WORKERS=${CHECK_WORKERS:-2}
PYTEST=("$PY" -m pytest -q -p no:cacheprovider -n "$WORKERS" --durations=20)
SLOW=(-m "not slow")
[ "$TIER" = world ] && SLOW=()

stage "integration tests (ASan+UBSan)" count_pytest \
	env STAFETD=build/asan/stafetd "${PYTEST[@]}" "${SLOW[@]}" tests/integration
if [ "$TIER" = world ]; then
	stage "integration tests (plain build)" count_pytest "${PYTEST[@]}" tests/integration
fi

VALGRIND="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99"
# valgrind runs the plain build with the test clock (build/test/stafetd), so
# the tests that move the daemon's clock run under it too.
if [ "$TIER" = world ]; then
	# Every integration test that runs stafetd, once more under valgrind
	# (memcheck, leaks included), but test_install (it builds and checks its
	# own binary) and test_demo (the demo's set-up script), which are about
	# layout, not the daemon's memory.
	stage "integration tests (valgrind, all)" count_pytest \
		env STAFETD=build/test/stafetd STAFETD_WRAPPER="$VALGRIND" "${PYTEST[@]}" \
		tests/integration/test_http.py \
		tests/integration/test_lifecycle.py tests/integration/test_readyz.py \
		tests/integration/test_directory.py tests/integration/test_directory_ad.py \
		tests/integration/test_directory_tls.py tests/integration/test_auth.py \
		tests/integration/test_session_cache.py tests/integration/test_routes.py \
		tests/integration/test_counterparts.py tests/integration/test_handovers.py \
		tests/integration/test_reports.py tests/integration/test_alerts.py \
		tests/integration/test_authz_matrix.py tests/integration/test_instances.py \
		tests/integration/test_faults.py tests/integration/test_hostile.py \
		tests/integration/test_connections.py tests/integration/test_tasks.py \
		tests/integration/test_flag_replies.py tests/integration/test_pdf.py \
		tests/integration/test_calendar.py tests/integration/test_vcard.py \
		tests/integration/test_notices.py tests/integration/test_draft_key.py \
		tests/integration/test_checks.py tests/integration/test_names.py \
		tests/integration/test_counterpart_answer.py tests/integration/test_samba_ad.py
else
	# A named, bounded subset under valgrind (about five minutes): start and
	# stop, reload, the fault tests, login, and one whole handover life.
	stage "integration tests (valgrind, subset)" count_pytest \
		env STAFETD=build/test/stafetd STAFETD_WRAPPER="$VALGRIND" "${PYTEST[@]}" \
		$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' tests/valgrind-subset.txt)
fi

# The web UI in Debian's Chromium, driven by playwright-core (from the npm
# registry, pinned by tests/browser/package-lock.json); screenshots of every
# page land in build/screenshots/.
stage "browser tests" count_pytest bash tests/browser/run.sh

echo
if [ ${#bad_stages[@]} -gt 0 ]; then
	echo "failed stages: ${bad_stages[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ ${#bad_stages[@]} = 0 ]
