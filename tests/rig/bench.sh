#!/bin/bash
# `make bench`: benchmarks inside the rig (figures, not pass/fail).
# Usage: tests/rig/bench.sh [CONFIG [PART...]]
#   PARTs: boot sandbox 9p memory rng net blk (default: all)
exec "$(dirname "$0")/host.sh" bench "$@"
