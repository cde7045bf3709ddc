// SPDX-License-Identifier: GPL-2.0
/*
 * A VM's control socket (lkvm/control.h): the server thread and its
 * command table.
 *
 * Two steps in the VM's bring-up (lkvm/init.h): at INIT_CORE the name is
 * claimed (the socket bound and listening, a live namesake refused
 * before anything else is built); at INIT_FIRMWARE, once the vCPUs and
 * devices exist and before the main thread takes its seccomp list, the
 * thread starts. Clients that connect in between wait in the backlog.
 * Their exits, in reverse, stop the thread and remove the socket on
 * every way out of kvm_run_vm(); a SIGKILLed lkvm leaves a stale socket
 * that the next user of the name removes (util/control-sock.c).
 *
 * The thread serves one connection at a time: one request, one reply
 * (a long one, `debug --dump`, after its parts: a part per vCPU), each
 * bounded in size and in time (CTL_IO_TIMEOUT_MS), so a client that
 * stalls or sends garbage delays the next client by seconds at most and
 * is logged, never more. Peers of another uid than ours are refused (the
 * socket's 0600 already keeps them out; root may enter).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lkvm/balloon.h"
#include "lkvm/control.h"
#include "lkvm/init.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/kvm.h"
#include "lkvm/regs.h"
#include "lkvm/seccomp.h"
#include "lkvm/serial.h"

struct ctl_server {
	struct kvm *kvm;
	char name[CTL_NAME_MAX + 1];
	char path[128];
	int listen_fd;
	int wake_fd;		/* eventfd: the thread must end */
	pthread_t thread;
	bool thread_running;
	u8 buf[CTL_HDR_SIZE + CTL_MAX_REPLY];
	struct ctl_request req;
	struct ctl_reply rep;
};

const char *ctl_instance_name(struct kvm *kvm)
{
	return kvm->ctl ? kvm->ctl->name : kvm->cfg.name;
}

/* ---- the commands ---- */

static int cmd_info(struct kvm *kvm, const struct ctl_request *req,
		    struct ctl_reply *rep)
{
	struct ctl_info info = {
		.pid = getpid(), .paused = kvm_cpus_paused(kvm),
		.cpus = kvm->nr_cpus, .mem = kvm->cfg.ram_size,
	};

	snprintf(info.name, sizeof(info.name), "%s", kvm->ctl->name);
	ctl_info_format(&info, rep);
	return 0;
}

static int cmd_stop(struct kvm *kvm, const struct ctl_request *req,
		    struct ctl_reply *rep)
{
	pr_debug("stopped by 'lkvm stop'");
	kvm_request_stop(kvm, LKVM_EXIT_OK);
	ctl_reply_printf(rep, "guest '%s' stopped\n", kvm->ctl->name);
	return 0;
}

static int cmd_pause(struct kvm *kvm, const struct ctl_request *req,
		     struct ctl_reply *rep)
{
	int ret = kvm_vm_pause(kvm);

	if (ret == -EALREADY)
		ctl_reply_printf(rep, "guest '%s' is already paused: nothing to do\n",
				 kvm->ctl->name);
	else if (ret < 0)
		return ctl_reply_fail(rep, 1, "guest '%s' is stopping or resetting: not paused",
				      kvm->ctl->name);
	else
		ctl_reply_printf(rep, "guest '%s' paused\n", kvm->ctl->name);
	return 0;
}

static int cmd_resume(struct kvm *kvm, const struct ctl_request *req,
		      struct ctl_reply *rep)
{
	if (kvm_vm_resume(kvm) == -EALREADY)
		ctl_reply_printf(rep, "guest '%s' is running: nothing to resume\n",
				 kvm->ctl->name);
	else
		ctl_reply_printf(rep, "guest '%s' resumed\n", kvm->ctl->name);
	return 0;
}

/* "DEVICE: counter=N counter=N", a line per device, as --debug prints. */
struct stat_ctx {
	struct ctl_reply *rep;
	const struct device_header *dev;
};

static void stat_emit(void *opaque, const struct device_header *dev,
		      const char *counter, u64 value)
{
	struct stat_ctx *c = opaque;

	if (dev != c->dev)
		ctl_reply_printf(c->rep, "%sdevice %s:", c->dev ? "\n" : "",
				 dev->name);
	c->dev = dev;
	ctl_reply_printf(c->rep, " %s=%llu", counter, (unsigned long long)value);
}

/* A balloon command without --balloon: the reply's failure. */
static int no_balloon(struct kvm *kvm, struct ctl_reply *rep)
{
	return ctl_reply_fail(rep, 1, "guest '%s' has no balloon device (start it with --balloon)",
			      kvm->ctl->name);
}

/*
 * stat --memory: the balloon's state and the guest's latest statistics,
 * asked for afresh (STAT_WAIT_MS at most: the client waits
 * CTL_IO_TIMEOUT_MS), "key=value" a line (README: lkvm stat).
 */
#define STAT_WAIT_MS	2000

static int cmd_stat_memory(struct kvm *kvm, struct ctl_reply *rep)
{
	struct balloon_info info;
	const char *name;
	unsigned int t;

	if (balloon_get_info(kvm, &info, STAT_WAIT_MS) < 0)
		return no_balloon(kvm, rep);
	ctl_reply_printf(rep, "ram=%llu\ntarget=%llu\nactual=%llu\nreleased=%llu\nstats=%s\n",
			 (unsigned long long)info.ram_pages * BALLOON_PAGE_SIZE,
			 (unsigned long long)info.target * BALLOON_PAGE_SIZE,
			 (unsigned long long)info.actual * BALLOON_PAGE_SIZE,
			 (unsigned long long)info.c.bytes_released,
			 info.stats_fresh ? "fresh" : info.gs.updates ? "old" : "none");
	for (t = 0; t < BALLOON_MAX_TAGS; t++) {
		name = balloon_stat_name(t);
		if ((info.gs.valid & (1U << t)) && name)
			ctl_reply_printf(rep, "%s=%llu\n", name,
					 (unsigned long long)info.gs.value[t]);
	}
	return 0;
}

static int cmd_stat(struct kvm *kvm, const struct ctl_request *req,
		    struct ctl_reply *rep)
{
	struct stat_ctx c = { .rep = rep };

	if (req->argc == 1 && !strcmp(req->argv[0], "--memory"))
		return cmd_stat_memory(kvm, rep);
	if (req->argc)
		return ctl_reply_fail(rep, 1, "stat: unknown argument '%s' (--memory, or none)",
				      req->argv[0]);
	devices_stats(kvm, stat_emit, &c);
	if (c.dev)
		ctl_reply_printf(rep, "\n");
	return 0;
}

/* The target @delta pages away from @cur, within [0, @max]: clamped? */
static bool balloon_clamp(u64 cur, s64 delta, u64 max, u64 *target)
{
	if (delta < 0 && (u64)-delta > cur) {
		*target = 0;
		return true;
	}
	if (delta > 0 && (u64)delta > max - MIN(cur, max)) {
		*target = max;
		return true;
	}
	*target = cur + delta;
	return false;
}

#define MIB(pages)	((unsigned long long)(pages) * BALLOON_PAGE_SIZE >> 20)

/*
 * balloon --inflate|--deflate SIZE: the target moves by SIZE from where
 * it is (not from what the guest holds yet), within guest RAM; the
 * guest's driver follows on its own time (stat --memory: actual).
 */
static int cmd_balloon(struct kvm *kvm, const struct ctl_request *req,
		       struct ctl_reply *rep)
{
	struct balloon_info info;
	char err[160];
	u64 target;
	s64 delta;

	if (ctl_balloon_parse(req->argc, req->argv, &delta, err, sizeof(err)))
		return ctl_reply_fail(rep, 1, "%s", err);
	if (balloon_get_info(kvm, &info, 0) < 0)
		return no_balloon(kvm, rep);
	if (balloon_clamp(info.target, delta, info.ram_pages, &target))
		ctl_reply_printf(rep, "guest '%s': the balloon target can be 0 to %llu MiB (its RAM): %s %llu MiB clamped to %llu MiB\n",
				 kvm->ctl->name, MIB(info.ram_pages),
				 req->argv[0], MIB(delta < 0 ? -delta : delta),
				 MIB(target));
	if (balloon_set_target(kvm, target) < 0)
		return ctl_reply_fail(rep, 1, "guest '%s': the balloon refused a target of %llu MiB",
				      kvm->ctl->name, MIB(target));
	ctl_reply_printf(rep, "guest '%s': balloon target %llu MiB (was %llu MiB)\n",
			 kvm->ctl->name, MIB(target), MIB(info.target));
	return 0;
}

/* ---- lkvm debug ---- */

struct dump_cpu {
	struct lkvm_regs regs;
	char err[128];
};

/* On the parked vCPU's thread (KVM_GET_ONE_REG is in its seccomp list). */
static int dump_read(struct kvm_cpu *cpu, void *arg)
{
	struct dump_cpu *d = arg;

	return regs_read_vcpu(&d->regs, cpu->fd, cpu->kvm->cfg.aarch32, d->err,
			      sizeof(d->err));
}

/*
 * One vCPU's dump into the reply, then sent as a part: each vCPU's fits
 * the limit (~25 KiB with 2048-bit SVE), all of them need not.
 */
static int dump_cpu(struct kvm *kvm, struct kvm_cpu *cpu, struct dump_cpu *d,
		    struct ctl_reply *rep)
{
	size_t len = 0;
	char *text = NULL;
	FILE *f;
	int ret;

	ret = kvm_cpu_run_parked(cpu, dump_read, d);
	if (ret < 0)
		return ctl_reply_fail(rep, 1, "vCPU %d: cannot read its registers: %s",
				      cpu->id, ret == -EBUSY || ret == -ESHUTDOWN ?
				      "the guest is stopping" : d->err);
	f = open_memstream(&text, &len);
	if (!f)
		return ctl_reply_fail(rep, 1, "out of memory");
	if (!cpu->id)
		regs_dump_header(f);
	regs_dump_all(f, cpu->id, &d->regs, pt_guest_mem_read, &kvm->mem);
	fclose(f);
	ctl_reply_printf(rep, "%s", text);
	free(text);
	if (rep->truncated)
		return ctl_reply_fail(rep, 1, "vCPU %d: its dump is over %d bytes",
				      cpu->id, CTL_MAX_REPLY);
	return ctl_reply_flush(rep) < 0 ?
		ctl_reply_fail(rep, 1, "the client left") : 0;
}

/*
 * The vCPUs are parked for the dump, unless they were already (`lkvm
 * pause`: they stay so); the devices run on.
 */
static int debug_dump(struct kvm *kvm, struct ctl_reply *rep)
{
	struct dump_cpu *d = malloc(sizeof(*d));
	int i, ret, paused;

	if (!d)
		return ctl_reply_fail(rep, 1, "out of memory");
	paused = kvm_cpus_pause(kvm);
	if (paused < 0 && paused != -EALREADY) {
		free(d);
		return ctl_reply_fail(rep, 1, "guest '%s' is stopping or resetting: no dump",
				      kvm->ctl->name);
	}
	for (i = 0, ret = 0; i < kvm->nr_cpus && !ret; i++)
		ret = dump_cpu(kvm, kvm->cpus[i], d, rep);
	if (!paused)
		kvm_cpus_resume(kvm);
	free(d);
	return ret;
}

/* A magic SysRq: a break then the key on the UART the console is on. */
static int debug_sysrq(struct kvm *kvm, const char *key, struct ctl_reply *rep)
{
	int ret;

	if (strlen(key) != 1)
		return ctl_reply_fail(rep, 1, "--sysrq '%s': one character (h: help)",
				      key);
	ret = serial_sysrq(kvm, key[0]);
	if (ret == -ENODEV)
		return ctl_reply_fail(rep, 1, "--sysrq: guest '%s' has no serial console (--console virtio: hvc has no break; use /proc/sysrq-trigger in the guest)",
				      kvm->ctl->name);
	if (ret < 0 && kvm_vm_paused(kvm))
		return ctl_reply_fail(rep, 1, "--sysrq: guest '%s' is paused: its UART takes no input until 'lkvm resume'",
				      kvm->ctl->name);
	if (ret < 0)
		return ctl_reply_fail(rep, 1, "--sysrq: the UART is busy (a break not yet read by the guest, or its input full): try again");
	ctl_reply_printf(rep, "sent SysRq '%c' to guest '%s' (a break on ttyS0)\n",
			 key[0], kvm->ctl->name);
	return 0;
}

/*
 * "debug --dump", "debug --sysrq KEY", "debug --nmi VCPU": one option per
 * request (the client sends one).
 */
static int cmd_debug(struct kvm *kvm, const struct ctl_request *req,
		     struct ctl_reply *rep)
{
	const char *opt = req->argc ? req->argv[0] : "";

	if (!strcmp(opt, "--dump") && req->argc == 1)
		return debug_dump(kvm, rep);
	if (!strcmp(opt, "--sysrq") && req->argc == 2)
		return debug_sysrq(kvm, req->argv[1], rep);
	if (!strcmp(opt, "--nmi") && req->argc == 2)
		return ctl_reply_fail(rep, 1, "--nmi: arm64 KVM cannot inject an NMI (a guest's pseudo-NMI is a GICv3 interrupt priority it sets itself); try --sysrq l or --dump");
	return ctl_reply_fail(rep, 1, "debug: give --dump, --sysrq KEY or --nmi VCPU");
}

/*
 * One line each; new commands join here. The handlers run on the
 * control thread: the vCPUs' registers are read through
 * kvm_cpu_run_parked() (lkvm/kvm-cpu.h), never from here.
 */
const struct ctl_command ctl_commands[] = {
	{ "info",	cmd_info },	/* pid, name, state, vCPUs, memory */
	{ "stop",	cmd_stop },	/* as a poweroff: lkvm run exits 0 */
	{ "pause",	cmd_pause },	/* vCPUs parked, devices holding */
	{ "resume",	cmd_resume },
	{ "stat",	cmd_stat },	/* every device's counters; --memory */
	{ "balloon",	cmd_balloon },	/* --inflate|--deflate SIZE */
	{ "debug",	cmd_debug },	/* --dump, --sysrq KEY, --nmi VCPU */
};
const size_t ctl_nr_commands = ARRAY_SIZE(ctl_commands);

/* ---- the server ---- */

static bool peer_allowed(struct ctl_server *s, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == geteuid() || cred.uid == 0;
}

struct part_ctx {
	struct ctl_server *s;
	int fd;
};

/* A part of a long reply (ctl_reply_flush()), as it is ready. */
static int send_part(struct ctl_reply *rep, void *opaque)
{
	struct part_ctx *p = opaque;
	ssize_t n = ctl_part_encode(p->s->buf, sizeof(p->s->buf), rep);

	if (n < 0 || send(p->fd, p->s->buf, n, MSG_NOSIGNAL) != n)
		return -EPIPE;
	return 0;
}

static void send_reply(struct ctl_server *s, int fd)
{
	ssize_t n = ctl_reply_encode(s->buf, sizeof(s->buf), &s->rep);

	if (n > 0 && send(fd, s->buf, n, MSG_NOSIGNAL) != n)
		pr_debug("control: the client left before its reply");
}

/*
 * The request is read before the peer is judged: a socket closed with
 * unread data resets the connection, and the refused client would see
 * that instead of its reply.
 */
static void serve_client(struct ctl_server *s, int fd)
{
	char err[160];
	ssize_t n;

	n = ctl_recv(fd, CTL_KIND_REQUEST, s->buf, CTL_MAX_REQUEST,
		     CTL_IO_TIMEOUT_MS, err, sizeof(err));
	if (n >= 0)
		n = ctl_request_parse(s->buf, n, &s->req, err, sizeof(err));
	if (!peer_allowed(s, fd)) {
		pr_warn_ratelimited("control socket %s: refused a client of another user",
				    s->path);
		ctl_reply_fail(&s->rep, 1, "permission denied");
	} else if (n < 0) {
		pr_warn_ratelimited("control socket %s: refused a message: %s",
				    s->path, err);
		ctl_reply_fail(&s->rep, 1, "bad request: %s", err);
	} else {
		struct part_ctx part = { .s = s, .fd = fd };

		pr_debug("control: %s", s->req.cmd);
		s->rep.flush = send_part;
		s->rep.flush_opaque = &part;
		ctl_dispatch(ctl_commands, ctl_nr_commands, s->kvm, &s->req,
			     &s->rep);
		s->rep.flush = NULL;
	}
	send_reply(s, fd);
}

static void *ctl_thread(void *arg)
{
	struct ctl_server *s = arg;
	int fd;

	seccomp_apply(SECCOMP_CONTROL);
	for (;;) {
		fd = accept_or_wake(s->listen_fd, s->wake_fd);
		if (fd == -ESHUTDOWN)
			break;
		if (fd < 0)
			continue;
		serve_client(s, fd);
		close(fd);
	}
	return NULL;
}

/*
 * A name another lkvm serves, or that cannot be a socket's, is an error.
 * A socket that cannot be made (no home, a read-only one) is one too
 * when --name asked for it; without --name the guest runs unreachable,
 * after a warning, as it did before lkvm had the control plane.
 */
static int ctl_bind_failed(struct kvm *kvm, struct ctl_server *s, int ret,
			   const char *err)
{
	free(s);
	if (ret == -EADDRINUSE || ret == -EEXIST || ret == -EINVAL) {
		pr_err("%s", err);
		return ret;
	}
	if (kvm->cfg.name_set) {
		pr_err("--name %s: no control socket: %s", kvm->cfg.name, err);
		return ret;
	}
	pr_warn("no control socket: %s ('lkvm list', 'stop'... will not see this guest)",
		err);
	return 0;
}

/* INIT_CORE: claim the name before the VM is built. */
static int ctl_bind(struct kvm *kvm)
{
	struct ctl_server *s = calloc(1, sizeof(*s));
	char err[320];

	if (!s)
		return -ENOMEM;
	s->kvm = kvm;
	s->wake_fd = -1;
	if (kvm->cfg.name_set)
		snprintf(s->name, sizeof(s->name), "%s", kvm->cfg.name);
	else
		snprintf(s->name, sizeof(s->name), "guest-%d", getpid());
	s->listen_fd = ctl_listen(s->name, err, sizeof(err));
	if (s->listen_fd < 0)
		return ctl_bind_failed(kvm, s, s->listen_fd, err);
	ctl_sock_path(s->name, s->path, sizeof(s->path), NULL, 0);
	kvm->ctl = s;
	pr_debug("control socket %s", s->path);
	return 0;
}

static void ctl_unbind(struct kvm *kvm)
{
	struct ctl_server *s = kvm->ctl;

	if (!s)
		return;
	close(s->listen_fd);
	unlink(s->path);
	kvm->ctl = NULL;
	free(s);
}
lkvm_init(INIT_CORE, ctl_bind, ctl_unbind);

/* INIT_FIRMWARE: serve, now that the vCPUs and devices exist. */
static int ctl_start(struct kvm *kvm)
{
	struct ctl_server *s = kvm->ctl;
	int ret;

	if (!s)
		return 0;
	s->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (s->wake_fd < 0) {
		pr_err("control socket: eventfd: %s", strerror(errno));
		return -errno;
	}
	ret = pthread_create(&s->thread, NULL, ctl_thread, s);
	if (ret) {
		pr_err("cannot start the control socket's thread: %s",
		       strerror(ret));
		close(s->wake_fd);
		s->wake_fd = -1;
		return -ret;
	}
	pthread_setname_np(s->thread, "lkvm-control");
	s->thread_running = true;
	return 0;
}

static void ctl_stop(struct kvm *kvm)
{
	struct ctl_server *s = kvm->ctl;
	u64 one = 1;

	if (!s)
		return;
	if (s->thread_running && write(s->wake_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(s->thread, NULL);
	s->thread_running = false;
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	s->wake_fd = -1;
}
lkvm_init(INIT_FIRMWARE, ctl_start, ctl_stop);
