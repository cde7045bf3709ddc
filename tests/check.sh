#!/bin/bash
# `make check`: native unit tests, the layering and docs checks, then the
# boot tests in the emulated arm64 host (tests/rig/run-tests.sh, all
# configs unless RIG_CONFIGS is set; each config runs the cases in its
# scope, every case with RIG_FULL=1: `make check-full`).
# Ends with exactly one "N passed, N failed, N skipped" line for both
# together (skips are unit tests whose prerequisite is absent).
#
# Usage: tests/check.sh UNIT_TEST_BINARY...
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "# unit tests"
UNIT_SUMMARY_FILE=$tmp/unit tests/run-unit.sh "$@"
# No dependency loops between source files (docs/architecture.md): one
# test over the cross objects the Makefile passes in DEPLOOP_OBJS.
echo "# layering"
lp=0 lf=0
# shellcheck disable=SC2086
if [ -n "${DEPLOOP_OBJS:-}" ] && python3 scripts/deploops.py $DEPLOOP_OBJS; then
	lp=1
	echo "ok - no dependency loops between source files"
else
	lf=1
	echo "not ok - dependency loops between source files (make deploops)"
fi
# The man page and bash completion against the option tables, make
# install (tests/docs.sh; the Makefile passes the generator in DOC_GEN).
echo "# docs"
DOCS_SUMMARY_FILE=$tmp/docs tests/docs.sh
echo "# boot tests"
# shellcheck disable=SC2086
RIG_SUMMARY_FILE=$tmp/rig tests/rig/run-tests.sh ${RIG_CONFIGS:-}

read -r up uf us <"$tmp/unit" 2>/dev/null || { up=0; uf=1; us=0; }
read -r rp rf <"$tmp/rig" 2>/dev/null || { rp=0; rf=1; }
read -r dp df <"$tmp/docs" 2>/dev/null || { dp=0; df=1; }
echo "# unit: $up ok, $uf not ok, $us skipped; layering: $lp ok, $lf not ok; docs: $dp ok, $df not ok; boot: $rp ok, $rf not ok"
pass=$((up + lp + dp + rp))
fail=$((uf + lf + df + rf))
echo "$pass passed, $fail failed, $us skipped"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
