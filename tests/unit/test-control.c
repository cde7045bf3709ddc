// SPDX-License-Identifier: GPL-2.0
/*
 * A VM's control server (kvm/control.c, included) and vCPU parking
 * (kvm/pause.c) end to end over a real socket in a temporary $HOME:
 * plain threads stand in for the vCPUs (they park as kvm/kvm-cpu.c's
 * loop does), a fake device counts its pause/resume and has counters.
 * info, pause (twice), work on a parked vCPU's thread, the counter saved
 * and restored, resume (twice), stat, an unknown command, malformed and
 * oversized messages, a live namesake, stop, and the socket gone at exit.
 * The balloon commands run against a fake balloon (below): balloon
 * inflate/deflate (clamped at both ends), stat --memory, no balloon.
 */
#include <errno.h>
#include <linux/virtio_balloon.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

/* The registers come from fake_regs_read() (below), not KVM. */
#include "lkvm/regs.h"
static int fake_regs_read(struct lkvm_regs *r, int vcpu_fd, bool el1_aarch32,
			  char *err, size_t errlen);
#define regs_read_vcpu fake_regs_read
#include "../../kvm/control.c"
#undef regs_read_vcpu
#include "stubs.h"

/* 4: with 2048-bit SVE their dump (~21 KiB each) is over CTL_MAX_REPLY */
#define NR_CPUS	4
#define FAKE_FD	100

static char home[64], err[512];

struct fake_dev {
	struct device_header hdr;
	int pauses, resumes;
};

static void fake_pause(struct device_header *dev)
{
	((struct fake_dev *)dev->opaque)->pauses++;
}

static void fake_resume(struct device_header *dev)
{
	((struct fake_dev *)dev->opaque)->resumes++;
}

static void fake_stats(struct device_header *dev, device_stat_fn emit,
		       void *ctx)
{
	emit(ctx, dev, "requests", 7);
	emit(ctx, dev, "kicks", 3);
}

static const struct device_ops fake_ops = {
	.pause = fake_pause, .resume = fake_resume, .stats = fake_stats,
};

/*
 * A fake balloon for the control plane's API (virtio/balloon.c is not in
 * the unit build): its target, what balloon_get_info() says, the calls.
 */
static struct fake_balloon {
	bool present;
	struct balloon_info info;
	int sets, last_wait_ms;
} fb;

int balloon_set_target(struct kvm *kvm, u64 pages)
{
	if (!fb.present)
		return -ENODEV;
	if (pages > fb.info.ram_pages)
		return -EINVAL;
	fb.info.target = pages;
	fb.sets++;
	return 0;
}

int balloon_get_info(struct kvm *kvm, struct balloon_info *info, int wait_ms)
{
	if (!fb.present)
		return -ENODEV;
	fb.last_wait_ms = wait_ms;
	*info = fb.info;
	return 0;
}

struct vm {
	struct kvm kvm;
	struct kvm_cpu cpu_mem[NR_CPUS];
	struct kvm_cpu *cpus[NR_CPUS];
	pthread_t threads[NR_CPUS];
	pid_t tids[NR_CPUS];
	struct fake_dev dev;
	struct ctl_reply rep;
};

/* kvm/kvm-cpu.c's loop, without KVM_RUN */
static void *fake_vcpu(void *arg)
{
	struct kvm_cpu *cpu = arg;
	struct vm *vm = (struct vm *)cpu->kvm;

	vm->tids[cpu->id] = gettid();
	while (!kvm_is_stopping(cpu->kvm)) {
		if (kvm_pause_requested(cpu->kvm))
			kvm_cpu_park(cpu);
		else
			usleep(1000);
	}
	return NULL;
}

static void fake_kick(struct kvm *kvm)
{
	kvm_pause_wake(kvm);
}

static int setup(void **state)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	int i;

	snprintf(home, sizeof(home), "/tmp/lkvm-ctl-XXXXXX");
	assert_non_null(mkdtemp(home));
	setenv("HOME", home, 1);
	device_list_init(&vm->kvm.devices);
	kvm_stop_init(&vm->kvm.stop);
	kvm_pause_init(&vm->kvm.pause);
	vm->kvm.stop.kick = fake_kick;
	vm->kvm.cfg.name = "web";
	vm->kvm.cfg.name_set = true;
	vm->kvm.cfg.ram_size = 256ULL << 20;
	vm->kvm.nr_cpus = NR_CPUS;
	vm->kvm.cpus = vm->cpus;
	vm->dev.hdr = (struct device_header) {
		.name = "fake", .ops = &fake_ops, .opaque = &vm->dev,
	};
	device_register(&vm->kvm, &vm->dev.hdr);
	for (i = 0; i < NR_CPUS; i++) {
		vm->cpus[i] = &vm->cpu_mem[i];
		vm->cpus[i]->kvm = &vm->kvm;
		vm->cpus[i]->id = i;
		vm->cpus[i]->fd = FAKE_FD + i;
		assert_int_equal(pthread_create(&vm->threads[i], NULL, fake_vcpu,
						vm->cpus[i]), 0);
	}
	assert_int_equal(ctl_bind(&vm->kvm), 0);
	assert_int_equal(ctl_start(&vm->kvm), 0);
	stub_counter_sets = 0;
	fb = (struct fake_balloon) { .info.ram_pages = (256ULL << 20) / 4096 };
	*state = vm;
	return 0;
}

static int teardown(void **state)
{
	struct vm *vm = *state;
	char path[256], cmd[128];
	int i;

	snprintf(path, sizeof(path), "%s", vm->kvm.ctl->path);
	kvm_request_stop(&vm->kvm, LKVM_EXIT_OK);
	for (i = 0; i < NR_CPUS; i++)
		pthread_join(vm->threads[i], NULL);
	ctl_stop(&vm->kvm);
	ctl_unbind(&vm->kvm);
	/* every way out of kvm_run_vm() removes the socket */
	assert_int_equal(access(path, F_OK), -1);
	device_unregister(&vm->kvm, &vm->dev.hdr);
	kvm_pause_destroy(&vm->kvm.pause);
	kvm_stop_destroy(&vm->kvm.stop);
	free(vm);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static const char *call(struct vm *vm, const char *cmd)
{
	assert_int_equal(ctl_call("web", cmd, NULL, 0, &vm->rep, err,
				  sizeof(err)), 0);
	return vm->rep.text;
}

static void test_info(void **state)
{
	struct vm *vm = *state;
	struct ctl_info info;

	assert_int_equal(ctl_info_parse(call(vm, "info"), &info), 0);
	assert_int_equal(info.pid, getpid());
	assert_string_equal(info.name, "web");
	assert_false(info.paused);
	assert_int_equal(info.cpus, NR_CPUS);
	assert_int_equal(info.mem, 256ULL << 20);
}

static int where(struct kvm_cpu *cpu, void *arg)
{
	*(pid_t *)arg = gettid();
	return 42;
}

static void test_pause_resume(void **state)
{
	struct vm *vm = *state;
	struct ctl_info info;
	pid_t tid = 0;

	/* nothing to run work on while the vCPUs run */
	assert_int_equal(kvm_cpu_run_parked(vm->cpus[1], where, &tid), -EBUSY);
	assert_string_equal(call(vm, "pause"), "guest 'web' paused\n");
	assert_int_equal(vm->rep.status, 0);
	assert_int_equal(vm->kvm.pause.nr_parked, NR_CPUS);
	assert_int_equal(vm->dev.pauses, 1);
	assert_true(kvm_vm_paused(&vm->kvm));	/* host input waits */
	assert_true(vm->kvm.pause.counter_saved);
	assert_int_equal(ctl_info_parse(call(vm, "info"), &info), 0);
	assert_true(info.paused);
	assert_string_equal(call(vm, "pause"),
			    "guest 'web' is already paused: nothing to do\n");
	assert_int_equal(vm->dev.pauses, 1);
	/* work runs on the parked vCPU's own thread */
	assert_int_equal(kvm_cpu_run_parked(vm->cpus[1], where, &tid), 42);
	assert_int_equal(tid, vm->tids[1]);
	assert_string_equal(call(vm, "resume"), "guest 'web' resumed\n");
	assert_int_equal(vm->dev.resumes, 1);
	assert_false(kvm_vm_paused(&vm->kvm));
	/* the counter saved at the pause is written back */
	assert_int_equal(stub_counter_sets, 1);
	assert_int_equal(stub_counter_set_value, stub_counter);
	assert_string_equal(call(vm, "resume"),
			    "guest 'web' is running: nothing to resume\n");
	assert_int_equal(vm->dev.resumes, 1);
	assert_int_equal(stub_counter_sets, 1);
}

/* Park work may stop the VM itself: no deadlock, its result comes back. */
static int stop_from_work(struct kvm_cpu *cpu, void *arg)
{
	kvm_request_stop(cpu->kvm, LKVM_EXIT_CRASH);
	return 7;
}

static void test_work_stops_vm(void **state)
{
	struct vm *vm = *state;

	assert_int_equal(kvm_cpus_pause(&vm->kvm), 0);
	assert_true(kvm_cpus_paused(&vm->kvm));
	assert_int_equal(kvm_cpu_run_parked(vm->cpus[0], stop_from_work, NULL), 7);
	assert_true(kvm_is_stopping(&vm->kvm));
	/* the vCPUs leave their park for the stop (teardown joins them) */
	pthread_mutex_lock(&vm->kvm.pause.lock);
	while (vm->kvm.pause.nr_parked)
		pthread_cond_wait(&vm->kvm.pause.cond, &vm->kvm.pause.lock);
	pthread_mutex_unlock(&vm->kvm.pause.lock);
	assert_int_equal(kvm_cpu_run_parked(vm->cpus[1], stop_from_work, NULL),
			 -EBUSY);
}

static void test_stat_unknown(void **state)
{
	struct vm *vm = *state;

	assert_string_equal(call(vm, "stat"), "device fake: requests=7 kicks=3\n");
	call(vm, "sysrq");
	assert_int_equal(vm->rep.status, 1);
	assert_non_null(strstr(vm->rep.text, "unknown command 'sysrq'"));
}

static const char *call_args(struct vm *vm, const char *cmd, const char *a0,
			     const char *a1)
{
	const char *argv[] = { a0, a1 };

	assert_int_equal(ctl_call("web", cmd, argv, a1 ? 2 : 1, &vm->rep,
				  err, sizeof(err)), 0);
	return vm->rep.text;
}

static void test_balloon(void **state)
{
	struct vm *vm = *state;

	fb.present = true;
	assert_string_equal(call_args(vm, "balloon", "--inflate", "128"),
			    "guest 'web': balloon target 128 MiB (was 0 MiB)\n");
	assert_int_equal(fb.info.target, 128 * 256);
	/* inflate adds to the target, deflate takes from it */
	call_args(vm, "balloon", "--inflate", "64");
	assert_int_equal(fb.info.target, 192 * 256);
	assert_string_equal(call_args(vm, "balloon", "--deflate", "1G"),
			    "guest 'web': the balloon target can be 0 to 256 MiB (its RAM): --deflate 1024 MiB clamped to 0 MiB\n"
			    "guest 'web': balloon target 0 MiB (was 192 MiB)\n");
	assert_int_equal(vm->rep.status, 0);
	assert_int_equal(fb.info.target, 0);
	call_args(vm, "balloon", "--inflate", "200");
	assert_non_null(strstr(call_args(vm, "balloon", "--inflate", "100"),
			       "--inflate 100 MiB clamped to 256 MiB\n"));
	assert_int_equal(fb.info.target, 256 * 256);
	assert_int_equal(fb.sets, 5);
	/* the server checks the arguments as the client does */
	call_args(vm, "balloon", "--inflate", "3K");
	assert_int_equal(vm->rep.status, 1);
	assert_string_equal(vm->rep.text, "--inflate '3K': not a size in MiB (or with a K/M/G/T suffix, whole 4 KiB pages)");
	call_args(vm, "balloon", "--shrink", "1");
	assert_int_equal(vm->rep.status, 1);
	call(vm, "balloon");
	assert_int_equal(vm->rep.status, 1);
	assert_int_equal(fb.sets, 5);
}

static void test_stat_memory(void **state)
{
	struct vm *vm = *state;

	fb.present = true;
	fb.info.target = 32768;
	fb.info.actual = 32000;
	fb.info.c.bytes_released = 4096;
	fb.info.gs.valid = 1U << VIRTIO_BALLOON_S_MEMFREE |
			   1U << VIRTIO_BALLOON_S_MEMTOT;
	fb.info.gs.value[VIRTIO_BALLOON_S_MEMFREE] = 1000;
	fb.info.gs.value[VIRTIO_BALLOON_S_MEMTOT] = 2000;
	fb.info.gs.updates = 3;
	fb.info.stats_fresh = true;
	assert_string_equal(call_args(vm, "stat", "--memory", NULL),
			    "ram=268435456\ntarget=134217728\nactual=131072000\n"
			    "released=4096\nstats=fresh\nfree-memory=1000\n"
			    "total-memory=2000\n");
	/* fresh statistics were asked for, for less than the client waits */
	assert_true(fb.last_wait_ms > 0 && fb.last_wait_ms < CTL_IO_TIMEOUT_MS);
	fb.info.stats_fresh = false;
	assert_non_null(strstr(call_args(vm, "stat", "--memory", NULL),
			       "stats=old\n"));
	call_args(vm, "stat", "--bogus", NULL);
	assert_int_equal(vm->rep.status, 1);
	assert_string_equal(vm->rep.text,
			    "stat: unknown argument '--bogus' (--memory, or none)");
}

static void test_no_balloon(void **state)
{
	struct vm *vm = *state;
	static const char want[] =
		"guest 'web' has no balloon device (start it with --balloon)";

	call_args(vm, "balloon", "--inflate", "1");
	assert_int_equal(vm->rep.status, 1);
	assert_string_equal(vm->rep.text, want);
	call_args(vm, "stat", "--memory", NULL);
	assert_int_equal(vm->rep.status, 1);
	assert_string_equal(vm->rep.text, want);
	assert_int_equal(fb.sets, 0);
}

/* Raw bytes to the server; the reply it sends back. */
static void raw_call(struct vm *vm, const u8 *msg, size_t len)
{
	static u8 buf[CTL_HDR_SIZE + CTL_MAX_REPLY];
	int fd = ctl_connect("web", err, sizeof(err));
	ssize_t n;

	assert_true(fd >= 0);
	assert_int_equal(send(fd, msg, len, 0), len);
	n = ctl_recv(fd, CTL_KIND_REPLY, buf, sizeof(buf), 2000, err,
		     sizeof(err));
	assert_true(n >= 4);
	assert_int_equal(ctl_reply_parse(buf, n, &vm->rep, err, sizeof(err)), 0);
	close(fd);
}

static void test_malformed(void **state)
{
	struct vm *vm = *state;
	u8 msg[CTL_HDR_SIZE + 8];

	/* a wrong version */
	ctl_hdr_put(msg, CTL_KIND_REQUEST, 5);
	msg[4] = 9;
	memcpy(msg + CTL_HDR_SIZE, "info", 5);
	raw_call(vm, msg, CTL_HDR_SIZE + 5);
	assert_int_equal(vm->rep.status, 1);
	assert_string_equal(vm->rep.text,
			    "bad request: protocol version 9, this lkvm speaks 2");
	/* oversized: refused from its header alone */
	ctl_hdr_put(msg, CTL_KIND_REQUEST, 1 << 30);
	raw_call(vm, msg, CTL_HDR_SIZE);
	assert_non_null(strstr(vm->rep.text, "over the limit of 4096"));
	/* not NUL-terminated */
	ctl_hdr_put(msg, CTL_KIND_REQUEST, 4);
	memcpy(msg + CTL_HDR_SIZE, "stop", 4);
	raw_call(vm, msg, CTL_HDR_SIZE + 4);
	assert_non_null(strstr(vm->rep.text, "not NUL-terminated"));
	assert_false(kvm_is_stopping(&vm->kvm));
	/* and the server still serves */
	test_info(state);
}

static void test_namesake_and_stop(void **state)
{
	struct vm *vm = *state;
	struct kvm other = { 0 };

	other.cfg.name = "web";
	other.cfg.name_set = true;
	assert_int_equal(ctl_bind(&other), -EADDRINUSE);
	assert_null(other.ctl);
	/* a paused VM stops like a running one */
	call(vm, "pause");
	assert_string_equal(call(vm, "stop"), "guest 'web' stopped\n");
	assert_true(kvm_is_stopping(&vm->kvm));
	assert_int_equal(kvm_stop_status(&vm->kvm), LKVM_EXIT_OK);
	/* a pause once stopping fails, it does not hang */
	vm->kvm.pause.requested = false;
	assert_int_equal(kvm_cpus_pause(&vm->kvm), -ESHUTDOWN);
}

/* Without --name: guest-PID. */
static void test_default_name(void **state)
{
	struct kvm other = { 0 };
	char want[32];

	other.cfg.name = "guest";
	assert_int_equal(ctl_bind(&other), 0);
	snprintf(want, sizeof(want), "guest-%d", getpid());
	assert_string_equal(ctl_instance_name(&other), want);
	ctl_unbind(&other);
}

/*
 * Another user, in a child that drops to uid 65534 (needs root; skipped
 * otherwise): refused by the folder's mode (connect: EACCES); with the
 * folder and socket opened to all, by the server's peer check.
 */
static int other_user_call(void)
{
	struct ctl_reply *rep = malloc(sizeof(*rep));
	int ret, st;
	pid_t pid = fork();

	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(100);
		ret = ctl_call("web", "stop", NULL, 0, rep, err, sizeof(err));
		if (ret == -EACCES)
			_exit(1);
		_exit(ret < 0 ? 101 : rep->status == 1 &&
		      !strcmp(rep->text, "permission denied") ? 2 : 102);
	}
	free(rep);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 103;
}

static void test_other_user(void **state)
{
	struct vm *vm = *state;
	char dir[128];

	if (geteuid()) {
		skip();
		return;
	}
	assert_int_equal(chmod(home, 0755), 0);
	assert_int_equal(other_user_call(), 1);
	snprintf(dir, sizeof(dir), "%s/.lkvm", home);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(chmod(vm->kvm.ctl->path, 0666), 0);
	assert_int_equal(other_user_call(), 2);
	assert_false(kvm_is_stopping(&vm->kvm));
}

/*
 * No usable home: without --name the guest runs without a socket (a
 * warning); with --name that is an error.
 */
static void test_no_home(void **state)
{
	struct kvm other = { 0 };

	setenv("HOME", "/dev/null", 1);
	other.cfg.name = "guest";
	assert_int_equal(ctl_bind(&other), 0);
	assert_null(other.ctl);
	assert_int_equal(ctl_start(&other), 0);
	ctl_stop(&other);
	ctl_unbind(&other);
	other.cfg.name = "db";
	other.cfg.name_set = true;
	assert_int_equal(ctl_bind(&other), -ENOTDIR);
	assert_null(other.ctl);
	setenv("HOME", home, 1);
}

/* ---- lkvm debug ---- */

static int fail_fd = -1;	/* fake_regs_read() fails for this vCPU */
static pid_t read_tids[NR_CPUS];

static int fake_regs_read(struct lkvm_regs *r, int vcpu_fd, bool el1_aarch32,
			  char *err, size_t errlen)
{
	int id = vcpu_fd - FAKE_FD;

	if (vcpu_fd == fail_fd) {
		snprintf(err, errlen, "KVM_GET_ONE_REG pc: Invalid argument");
		return -EINVAL;
	}
	memset(r, 0, sizeof(*r));
	read_tids[id] = gettid();
	r->pc = 0xffff800008001000ULL + 4 * id;
	r->pstate = 0x3c5;
	r->v[7].lo = r->v[7].hi = 0xa7a7a7a7a7a7a7a7ULL;
	r->sve_vq = REGS_SVE_VQ_MAX;
	memset(r->z, 0x5a, sizeof(r->z));
	return 0;
}

/* The client's side of the parts: all of them, in order. */
struct dump_out {
	char *text;
	size_t len;
	int parts;
};

static int collect(struct ctl_reply *rep, void *opaque)
{
	struct dump_out *o = opaque;

	o->text = realloc(o->text, o->len + rep->len + 1);
	assert_non_null(o->text);
	memcpy(o->text + o->len, rep->text, rep->len + 1);
	o->len += rep->len;
	o->parts++;
	return 0;
}

static int debug_call(struct vm *vm, struct dump_out *o, const char *opt,
		      const char *arg)
{
	const char *argv[] = { opt, arg };

	memset(o, 0, sizeof(*o));
	vm->rep.flush = collect;
	vm->rep.flush_opaque = o;
	assert_int_equal(ctl_call("web", "debug", argv, arg ? 2 : 1, &vm->rep,
				  err, sizeof(err)), 0);
	vm->rep.flush = NULL;
	return vm->rep.status;
}

static int count_lines(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		n += !strncmp(p, prefix, strlen(prefix));
	return n;
}

/* Every vCPU, read on its own thread, in one part each, past 64 KiB. */
static void test_debug_dump(void **state)
{
	struct vm *vm = *state;
	struct dump_out o;
	char line[80];
	int i;

	assert_int_equal(debug_call(vm, &o, "--dump", NULL), 0);
	assert_int_equal(o.parts, NR_CPUS);
	assert_true(o.len > CTL_MAX_REPLY);
	assert_string_equal(vm->rep.text, "");
	assert_int_equal(count_lines(o.text, "# lkvm register dump v1"), 1);
	for (i = 0; i < NR_CPUS; i++) {
		snprintf(line, sizeof(line), "cpu%d pc 0xffff80000800100%x\n", i,
			 4 * i);
		assert_non_null(strstr(o.text, line));
		snprintf(line, sizeof(line),
			 "cpu%d v7 0xa7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7\n", i);
		assert_non_null(strstr(o.text, line));
		assert_int_equal(read_tids[i], vm->tids[i]);
	}
	assert_int_equal(count_lines(o.text, "cpu3 z31 0x5a5a"), 1);
	/* the vCPUs run again; the devices were never held */
	assert_false(kvm_cpus_paused(&vm->kvm));
	assert_int_equal(vm->dev.pauses, 0);
	assert_false(kvm_vm_paused(&vm->kvm));
	free(o.text);
}

/* A guest the user paused stays paused; a failed read says which vCPU. */
static void test_debug_dump_paused(void **state)
{
	struct vm *vm = *state;
	struct dump_out o;

	call(vm, "pause");
	assert_int_equal(debug_call(vm, &o, "--dump", NULL), 0);
	assert_int_equal(o.parts, NR_CPUS);
	assert_true(kvm_cpus_paused(&vm->kvm));
	free(o.text);
	fail_fd = FAKE_FD + 2;
	assert_int_equal(debug_call(vm, &o, "--dump", NULL), 1);
	fail_fd = -1;
	assert_int_equal(o.parts, 2);
	assert_string_equal(vm->rep.text,
			    "vCPU 2: cannot read its registers: KVM_GET_ONE_REG pc: Invalid argument");
	assert_true(kvm_cpus_paused(&vm->kvm));
	free(o.text);
	call(vm, "resume");
	assert_false(kvm_cpus_paused(&vm->kvm));
}

/* --sysrq without a serial console, --nmi, bad arguments: one line each */
static void test_debug_refused(void **state)
{
	struct vm *vm = *state;
	struct dump_out o;

	assert_int_equal(debug_call(vm, &o, "--sysrq", "h"), 1);
	assert_non_null(strstr(vm->rep.text, "has no serial console (--console virtio: hvc has no break"));
	assert_int_equal(debug_call(vm, &o, "--sysrq", "hh"), 1);
	assert_string_equal(vm->rep.text, "--sysrq 'hh': one character (h: help)");
	assert_int_equal(debug_call(vm, &o, "--nmi", "0"), 1);
	assert_non_null(strstr(vm->rep.text, "--nmi: arm64 KVM cannot inject an NMI"));
	assert_int_equal(debug_call(vm, &o, "--dance", NULL), 1);
	assert_string_equal(vm->rep.text, "debug: give --dump, --sysrq KEY or --nmi VCPU");
	assert_int_equal(debug_call(vm, &o, "--dump", "x"), 1);
	assert_int_equal(o.parts, 0);
}

/* What @fn printed on stdout and stderr (into @out, @errs); its return. */
static int captured(int (*fn)(const char *const *args, unsigned int n),
		    const char *const *args, unsigned int n, char *out,
		    char *errs, size_t size)
{
	FILE *f[2] = { tmpfile(), tmpfile() };
	int saved[2] = { dup(1), dup(2) }, ret, i;
	char *bufs[2] = { out, errs };
	size_t len;

	assert_non_null(f[0]);
	assert_non_null(f[1]);
	fflush(stdout);
	fflush(stderr);
	dup2(fileno(f[0]), 1);
	dup2(fileno(f[1]), 2);
	ret = fn(args, n);
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < 2; i++) {
		dup2(saved[i], i + 1);
		close(saved[i]);
		rewind(f[i]);
		len = fread(bufs[i], 1, size - 1, f[i]);
		bufs[i][len] = '\0';
		fclose(f[i]);
	}
	return ret;
}

static int stat_all(const char *const *args, unsigned int n)
{
	return ctl_client_all("stat", "stat", args, n, CTL_CALL_HEADER);
}

static int dump_all(const char *const *args, unsigned int n)
{
	return ctl_client_all("debug", "debug", args, n, CTL_CALL_HEADER);
}

static int pause_all(const char *const *args, unsigned int n)
{
	return ctl_client_all("pause", "pause", args, n, 0);
}

/* A stale socket in ~/.lkvm: "gone" (its lkvm was killed). */
static void make_stale(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/.lkvm/gone.sock", home);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

/*
 * --all: each guest's output under its header (a dump's parts under one),
 * a stale socket skipped quietly, a failure named on stderr with exit 1;
 * commands whose replies name the guest get no header.
 */
static void test_client_all(void **state)
{
	static char out[1 << 18], errs[4096];
	const char *bad[] = { "--bogus" }, *dump[] = { "--dump" };

	make_stale();
	assert_int_equal(captured(stat_all, NULL, 0, out, errs, sizeof(out)), 0);
	assert_string_equal(out, "== web ==\ndevice fake: requests=7 kicks=3\n");
	assert_string_equal(errs, "");
	snprintf(errs, sizeof(errs), "%s/.lkvm/gone.sock", home);
	assert_int_equal(access(errs, F_OK), -1);
	assert_int_equal(captured(stat_all, bad, 1, out, errs, sizeof(out)), 1);
	assert_string_equal(out, "");
	assert_string_equal(errs, "lkvm stat: guest 'web': stat: unknown argument '--bogus' (--memory, or none)\n");
	assert_int_equal(captured(dump_all, dump, 1, out, errs, sizeof(out)), 0);
	assert_int_equal(count_lines(out, "== "), 1);
	assert_int_equal(strncmp(out, "== web ==\n# lkvm register dump v1\n", 34), 0);
	assert_int_equal(count_lines(out, "cpu3 pc "), 1);
	assert_int_equal(captured(pause_all, NULL, 0, out, errs, sizeof(out)), 0);
	assert_string_equal(out, "guest 'web' paused\n");
	assert_int_equal(captured(pause_all, NULL, 0, out, errs, sizeof(out)), 0);
	assert_string_equal(out, "guest 'web' is already paused: nothing to do\n");
	call(*(struct vm **)state, "resume");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_info),
		T(test_pause_resume),
		T(test_work_stops_vm),
		T(test_stat_unknown),
		T(test_balloon),
		T(test_stat_memory),
		T(test_no_balloon),
		T(test_debug_dump),
		T(test_debug_dump_paused),
		T(test_debug_refused),
		T(test_client_all),
		T(test_malformed),
		T(test_namesake_and_stop),
		T(test_default_name),
		T(test_no_home),
		T(test_other_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
