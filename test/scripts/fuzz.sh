#!/usr/bin/env bash
# test/scripts/fuzz.sh: build the fuzz targets of pg_migrate's pure core
# (test/fuzz) and run each for a bounded time ("make fuzz").
#
#   FUZZ_SECONDS=60      seconds per target
#   FUZZ_TARGETS="..."   which targets (default: fuzz_ids fuzz_target fuzz_graph)
#   FUZZ_ENGINE=auto     libfuzzer | driver (see test/fuzz/Makefile)
#
# clang's libFuzzer is used when clang can build a -fsanitize=fuzzer
# program; as root, clang is installed with apt-get when it is missing.
# Otherwise the fallback driver (test/fuzz/driver.c) feeds randomly mutated
# seeds, without coverage feedback, and the script says so.
#
# The checked-in seeds (test/fuzz/corpus/<name>) are read, never written:
# the working corpus, which grows from run to run, is build/fuzz/corpus/,
# and this run's crashing inputs land in build/fuzz/artifacts/.  One summary line per
# target, then a total; the exit status is 1 when any target crashed,
# reported a sanitizer error or broke a property of the core.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-fuzz_ids fuzz_target fuzz_graph}
engine=${FUZZ_ENGINE:-auto}
fuzzdir=$PGM_ROOT/test/fuzz
out=$PGM_BUILD/fuzz

# clang from apt, when we may install it.
ensure_clang()
{
	command -v clang >/dev/null 2>&1 && return 0
	if pgm_is_root; then
		pgm_say "installing clang (for libFuzzer)"
		export DEBIAN_FRONTEND=noninteractive
		{ apt-get install -y --no-install-recommends clang </dev/null ||
			{ apt-get update </dev/null && apt-get install -y --no-install-recommends clang </dev/null; }; } ||
			pgm_warn "could not install clang"
	else
		pgm_warn "clang is missing (apt-get install clang): using the fallback driver"
	fi
}

main()
{
	local t name log rc runs secs crashes total_runs=0 total_crashes=0 failed=0
	local corpus artifacts engine_used summary=()

	case $seconds in
	'' | *[!0-9]*) pgm_warn "FUZZ_SECONDS must be a number of seconds"; return 2 ;;
	esac
	[ "$engine" = driver ] || ensure_clang
	mkdir -p "$out" || return 1
	pgm_say "building the fuzz targets"
	make -C "$fuzzdir" --no-print-directory ENGINE="$engine" all || { pgm_warn "build failed"; return 1; }
	engine_used=$(make -C "$fuzzdir" --no-print-directory -s ENGINE="$engine" engine)
	case $engine_used in
	libfuzzer) echo "engine: libFuzzer (clang, coverage-guided), AddressSanitizer + UndefinedBehaviorSanitizer" ;;
	*) echo "engine: libFuzzer is NOT available; fallback driver feeding random mutations of the seeds," \
		"no coverage feedback: $engine_used" ;;
	esac

	for t in $targets; do
		name=${t#fuzz_}
		corpus=$out/corpus/$name
		artifacts=$out/artifacts/$name
		log=$out/$t.log
		# artifacts are this run's only
		rm -rf "$artifacts"
		mkdir -p "$corpus" "$artifacts" || return 1
		pgm_say "$t: $seconds s (log: $log)"
		# Leaks are checked: every block the core allocates for an input is
		# freed after it (fuzz_common.c), so a leak is the harness's bug.
		ASAN_OPTIONS=abort_on_error=1:malloc_context_size=12 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1 \
			"$fuzzdir/build/$t" -max_total_time="$seconds" -timeout=25 \
			-rss_limit_mb=2048 -print_final_stats=1 \
			-dict="$fuzzdir/target.dict" -artifact_prefix="$artifacts/" \
			"$corpus" "$fuzzdir/corpus/$name" >"$log" 2>&1
		rc=$?
		runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
		secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
		crashes=$(find "$artifacts" -type f | wc -l)
		if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
			crashes=1
		fi
		if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:|property violated' "$log"; then
			[ "$crashes" -gt 0 ] || crashes=1
			echo "--- $t: first report (full log: $log)"
			grep -m1 -B2 -A40 -E 'ERROR: |runtime error:|property violated' "$log"
		fi
		summary+=("$(printf '%-12s %10s runs in %4s s, %d crashes, corpus %d inputs (exit %d)' \
			"$t:" "${runs:-?}" "${secs:-?}" "$crashes" "$(find "$corpus" -type f | wc -l)" "$rc")")
		total_runs=$((total_runs + ${runs:-0}))
		total_crashes=$((total_crashes + crashes))
		[ "$crashes" -eq 0 ] || failed=1
	done

	pgm_say "summary ($engine_used)"
	printf '%s\n' "${summary[@]}"
	[ "$total_crashes" -eq 0 ] || echo "crashing inputs: $out/artifacts/ (reproduce: test/fuzz/build/<target> <file>)"
	echo "$(wc -w <<<"$targets") targets, $total_runs runs, $total_crashes crashes"
	return $failed
}

main
