#!/bin/bash
# `make demo`: boot the emulated arm64 host (neoverse-n1, GICv3, VHE) and
# inside it a 2-vCPU guest with lkvm, showing the whole guest console: a
# banner (uname, cpuinfo, /proc/interrupts), then the guest powers off.
exec "$(dirname "$0")/host.sh" demo "$@"
