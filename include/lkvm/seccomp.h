/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_SECCOMP_H
#define LKVM_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

/* One allow-list per kind of thread (util/seccomp.c says what each does). */
enum seccomp_class {
	SECCOMP_MAIN,		/* the main thread once the VM is set up */
	SECCOMP_VCPU,
	SECCOMP_IOEVENTFD,	/* kicks KVM signalled: every device's notify */
	SECCOMP_TERM,		/* the terminal: stdin, signals -> stop */
	SECCOMP_BLK_URING,	/* virtio-blk raw images through io_uring */
	SECCOMP_BLK_WORKER,	/* virtio-blk worker threads (qcow2, no io_uring) */
	SECCOMP_9P,		/* the 9P2000.L server's worker */
	SECCOMP_NET_USER,	/* libslirp */
	SECCOMP_NET_TAP,	/* tap receive */
	SECCOMP_VHOST,		/* vhost-net and vhost-vsock: the interrupt relay */
	SECCOMP_CONTROL,	/* the control socket's server (kvm/control.c) */
	SECCOMP_GDB,		/* the --gdb server (kvm/gdb.c) */
	SECCOMP_NR_CLASSES,
};

/*
 * Once, on the main thread, before the VM's threads start: with @enable,
 * build every class's filter (a name no architecture knows is an error;
 * with @debug, the lists also allow what
 * --debug's reports read in /proc), and install the SIGSYS handler,
 * which prints one line, calls @on_fault (may be NULL; it must be
 * async-signal-safe) and exits with @exit_status. Without @enable,
 * seccomp_apply() does nothing. Returns 0, or -errno with @err set.
 */
int seccomp_prepare(bool enable, bool debug, int exit_status,
		    void (*on_fault)(void), char *err, size_t errlen);
/*
 * Put the calling thread, and the threads it creates from now on, under
 * @cls's allow-list; first thing in a thread's function. A thread that
 * cannot be filtered ends lkvm as a forbidden call would.
 */
void seccomp_apply(enum seccomp_class cls);
/* "vcpu", "blk-uring"...: the name the SIGSYS line gives a class. */
const char *seccomp_class_name(enum seccomp_class cls);

#endif
