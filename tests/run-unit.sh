#!/bin/bash
# Run native cmocka unit-test binaries with TAP output and count the results.
#
# Usage: tests/run-unit.sh TEST_BINARY...
# Prints each binary's TAP output (indented under its name) and ends with
# "N passed, N failed".  Exits non-zero if any test failed, a binary exited
# non-zero without reporting a failure (crash, sanitizer error), or no test
# ran.  With UNIT_SUMMARY_FILE set, writes "PASS FAIL" there instead of
# printing the summary line (used by tests/check.sh).
set -uo pipefail

export CMOCKA_MESSAGE_OUTPUT=TAP
# sanitizer reports go to stderr and fail the binary
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

pass=0
fail=0
for bin in "$@"; do
	name=$(basename "$bin")
	if [ ! -x "$bin" ]; then
		echo "not ok - $name: not built"
		fail=$((fail + 1))
		continue
	fi
	out=$("$bin" 2>&1)
	st=$?
	p=$(grep -cE '^ok ' <<<"$out")
	f=$(grep -cE '^not ok ' <<<"$out")
	sed -e "s/^\(not \)\{0,1\}ok [0-9]* - /&$name: /" <<<"$out"
	if [ "$st" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $name: exited with status $st"
		f=1
	fi
	if [ $((p + f)) = 0 ]; then
		echo "not ok - $name: ran no test"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
done

if [ -n "${UNIT_SUMMARY_FILE:-}" ]; then
	echo "$pass $fail" >"$UNIT_SUMMARY_FILE"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
