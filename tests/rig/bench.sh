#!/bin/bash
# `make bench`: boot benchmarks inside the rig (figures, not pass/fail).
# Usage: tests/rig/bench.sh [CONFIG]
exec "$(dirname "$0")/host.sh" bench "$@"
