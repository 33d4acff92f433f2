#!/usr/bin/env bash
# run.sh: runs the libFuzzer harnesses built in build/fuzz/ (see README.md).
#   run.sh check SECONDS NAME...  replay tests/fuzz/regressions/NAME and the
#                                 seeds, then fuzz each SECONDS; prints a
#                                 cmocka-style total, one test per harness
#   run.sh replay 0 NAME...       only replay them (make check)
#   run.sh long SECONDS NAME      fuzz one harness SECONDS into the corpus
#                                 build/fuzz/corpus/NAME
# A crash or a broken invariant leaves its input in build/fuzz/crashes/;
# copy it to tests/fuzz/regressions/NAME/ once the bug is fixed.
set -u
cd "$(dirname "$0")/../.."

mode=$1 secs=$2
shift 2
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
mkdir -p build/fuzz/crashes build/fuzz/logs

# Seeds and regressions that exist (an empty folder is not kept by git).
inputs() { # name
	local d
	for d in tests/fuzz/regressions/$1 tests/fuzz/corpus/$1; do
		[ -d "$d" ] && [ -n "$(ls -A "$d")" ] && echo "$d"
	done
}

fuzz_one() { # name seconds log
	local name=$1 bin=build/fuzz/fuzz_$1 corpus=build/fuzz/corpus/$1
	mkdir -p "$corpus"
	# shellcheck disable=SC2046
	"$bin" -max_total_time="$2" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="build/fuzz/crashes/$name-" "$corpus" $(inputs "$name") \
		>"$3" 2>&1
}

case $mode in
long)
	name=$1
	log=build/fuzz/logs/$name.log
	echo "fuzz_$name: ${secs}s, log $log"
	if fuzz_one "$name" "$secs" "$log"; then
		grep -E '^stat::number_of_executed_units|^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 2
	else
		tail -n 40 "$log"
		echo "fuzz_$name: FAILED (input in build/fuzz/crashes/)"
		exit 1
	fi
	;;
check | replay)
	passed=0 failed=0 bad=()
	for name in "$@"; do
		bin=build/fuzz/fuzz_$name
		log=build/fuzz/logs/$name.check.log
		echo "[ RUN      ] fuzz_$name"
		ok=1
		# shellcheck disable=SC2046
		if ! "$bin" -runs=0 -timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix="build/fuzz/crashes/$name-" $(inputs "$name") >"$log" 2>&1; then
			ok=0
			tail -n 30 "$log"
			echo "fuzz_$name: a seed or regression input fails"
		elif [ "$mode" = check ] && ! fuzz_one "$name" "$secs" "$log"; then
			ok=0
			tail -n 40 "$log"
			echo "fuzz_$name: the fuzzer found a failing input (build/fuzz/crashes/)"
		fi
		if [ $ok = 1 ]; then
			execs=$(grep -Eo '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$')
			if [ "$mode" = check ]; then
				echo "[       OK ] fuzz_$name (${secs}s, ${execs:-?} runs)"
			else
				echo "[       OK ] fuzz_$name ($(inputs "$name" | xargs -r -I{} sh -c 'ls "{}"' | wc -l) inputs replayed)"
			fi
			passed=$((passed + 1))
		else
			echo "[  ERROR   ] fuzz_$name"
			failed=$((failed + 1))
			bad+=("fuzz_$name")
		fi
	done
	echo "[  PASSED  ] $passed test(s)."
	if [ $failed -gt 0 ]; then
		echo "[  FAILED  ] $failed test(s), listed below:"
		for b in "${bad[@]}"; do echo "[  FAILED  ] $b"; done
		exit 1
	fi
	;;
*)
	echo "usage: run.sh check|long SECONDS NAME..." >&2
	exit 2
	;;
esac
