// SPDX-License-Identifier: GPL-2.0
/*
 * --gdb [ADDR:]PORT: the GDB stub's server thread and the KVM target its
 * logic (arm64/gdb-stub.c) acts on (lkvm/gdb-server.h).
 *
 * One thread listens (bound at INIT_CORE, so a busy port fails before
 * the VM is built) and serves one gdb at a time; after a detach or a
 * dropped connection it accepts the next. A session starts by parking
 * every vCPU (kvm_cpus_pause()): the target is stopped while gdb looks.
 * The target's callbacks:
 *   registers  KVM_GET/SET_ONE_REG on the parked vCPU's own thread
 *              (kvm_cpu_run_parked()), cached until the next resume
 *   memory     guest-virtual through that vCPU's page tables
 *              (arm64/ptwalk.c); writes go to guest RAM and the caches
 *              are cleaned to the point of unification (a BRK must be
 *              fetched)
 *   debug      KVM_SET_GUEST_DEBUG on each vCPU (its thread): USE_SW_BP
 *              while the stub has a BRK planted, USE_HW with its slots,
 *              SINGLESTEP for the vCPU gdb steps
 *   resume     unpark; vCPUs gdb leaves stopped wait before KVM_RUN
 *              (gdb_vcpu_hold())
 * A vCPU's KVM_EXIT_DEBUG is recorded (the first of a resume) and the
 * gdb thread woken (an eventfd); it parks the others and sends the stop
 * (SIGTRAP, the why from the exit's ESR). Ctrl-C parks them too (SIGINT).
 * When the VM stops while gdb waits for a stop, gdb gets "W" with
 * lkvm's exit status; gdb's "k" stops the VM as `lkvm stop` does.
 * A session ends with the stub's breakpoints removed, debugging off and
 * the vCPUs running.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lkvm/gdb-server.h"
#include "lkvm/gdb-stub.h"
#include "lkvm/init.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/kvm.h"
#include "lkvm/seccomp.h"

#define GDB_SIGINT	2
#define GDB_SIGTRAP	5

/* The first KVM_EXIT_DEBUG since gdb resumed the vCPUs. */
struct gdb_event {
	bool pending;
	int cpu;
	u32 esr;
	u64 far;
};

struct gdb_server {
	struct kvm *kvm;
	char where[32];		/* "ADDR:PORT", for messages */
	int listen_fd;
	int wake_fd;		/* eventfd: lkvm is exiting */
	int event_fd;		/* eventfd: a vCPU took a debug exit */
	pthread_t thread;
	bool thread_running;
	int nr_hw_bps, nr_hw_wps;
	/* the vCPU threads read these (atomics; ev under lock) */
	bool attached;		/* a gdb is connected */
	bool running;		/* gdb resumed the vCPUs and awaits a stop */
	pthread_mutex_t lock;
	struct gdb_event ev;
	bool *held;		/* per vCPU: stays stopped over a resume */
	/* the gdb thread's own */
	int conn;
	bool sw;		/* the stub has BRKs planted */
	const struct hwdebug *hw;
	struct lkvm_regs *regs;	/* per vCPU, read since the stop */
	bool *regs_valid;
	struct gdb_rx rx;
	struct gdb_stub stub;
	char out[GDB_PACKET_MAX + 1];
	char frame[2 * GDB_PACKET_MAX + 8];	/* the last reply, framed */
	size_t frame_len;
};

/* ---- the vCPU threads' side ---- */

/* Until a pause is asked for (the vCPU parks next), a stop, or gdb leaves. */
static void wait_for_pause(struct kvm *kvm, struct gdb_server *g)
{
	struct kvm_pause *p = &kvm->pause;

	pthread_mutex_lock(&p->lock);
	while (!kvm_pause_requested(kvm) && !kvm_is_stopping(kvm) &&
	       __atomic_load_n(&g->attached, __ATOMIC_ACQUIRE))
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void gdb_vcpu_debug_exit(struct kvm_cpu *cpu)
{
	struct gdb_server *g = cpu->kvm->gdb;
	u64 one = 1;

	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	if (!g->ev.pending && __atomic_load_n(&g->running, __ATOMIC_ACQUIRE)) {
		g->ev.pending = true;
		g->ev.cpu = cpu->id;
		g->ev.esr = cpu->run->debug.arch.hsr;
		g->ev.far = cpu->run->debug.arch.far;
		if (write(g->event_fd, &one, sizeof(one)) != sizeof(one))
			pr_warn("gdb: cannot wake the gdb thread");
	}
	pthread_mutex_unlock(&g->lock);
	wait_for_pause(cpu->kvm, g);
}

void gdb_vcpu_hold(struct kvm_cpu *cpu)
{
	struct gdb_server *g = cpu->kvm->gdb;

	if (g && __atomic_load_n(&g->held[cpu->id], __ATOMIC_ACQUIRE))
		wait_for_pause(cpu->kvm, g);
}

/* ---- the target: registers ---- */

struct regs_call {
	struct lkvm_regs *r;
	char err[128];
};

static int read_regs_fn(struct kvm_cpu *cpu, void *arg)
{
	struct regs_call *c = arg;

	return regs_read_vcpu(c->r, cpu->fd, false, c->err, sizeof(c->err));
}

static int write_regs_fn(struct kvm_cpu *cpu, void *arg)
{
	struct regs_call *c = arg;

	return regs_write_vcpu(c->r, cpu->fd, c->err, sizeof(c->err));
}

static int regs_call(struct gdb_server *g, int cpu,
		     int (*fn)(struct kvm_cpu *cpu, void *arg),
		     struct lkvm_regs *r)
{
	struct regs_call c = { .r = r };
	int ret = kvm_cpu_run_parked(g->kvm->cpus[cpu], fn, &c);

	if (ret < 0 && c.err[0])
		pr_warn("gdb: vCPU %d: %s", cpu, c.err);
	return ret;
}

static int t_get_regs(void *opaque, int cpu, struct lkvm_regs *r)
{
	struct gdb_server *g = opaque;
	int ret;

	if (!g->regs_valid[cpu]) {
		ret = regs_call(g, cpu, read_regs_fn, &g->regs[cpu]);
		if (ret < 0)
			return ret;
		g->regs_valid[cpu] = true;
	}
	*r = g->regs[cpu];
	return 0;
}

static int t_set_regs(void *opaque, int cpu, const struct lkvm_regs *r)
{
	struct gdb_server *g = opaque;
	int ret;

	g->regs[cpu] = *r;
	ret = regs_call(g, cpu, write_regs_fn, &g->regs[cpu]);
	/* what KVM holds now is read again */
	g->regs_valid[cpu] = false;
	return ret;
}

/* ---- the target: guest-virtual memory ---- */

/* A write to guest RAM, then its caches cleaned: it may be code. */
static int write_phys_coherent(void *opaque, u64 gpa, const void *buf,
			       size_t len)
{
	char *host = guest_ptr(opaque, gpa, len);

	if (!host)
		return -EFAULT;
	memcpy(host, buf, len);
	__builtin___clear_cache(host, host + len);
	return 0;
}

static int pt_ctx_of(struct gdb_server *g, int cpu, struct pt_ctx *ctx)
{
	struct lkvm_regs r;
	int ret = t_get_regs(g, cpu, &r);

	if (ret < 0)
		return ret;
	regs_pt_regs(&r, &ctx->regs);
	ctx->read_phys = pt_guest_mem_read;
	ctx->write_phys = write_phys_coherent;
	ctx->opaque = &g->kvm->mem;
	return 0;
}

static int t_read_mem(void *opaque, int cpu, u64 va, void *buf, size_t len)
{
	struct pt_ctx ctx;
	int ret = pt_ctx_of(opaque, cpu, &ctx);

	return ret < 0 ? ret : pt_read_virt(&ctx, va, buf, len, NULL, 0);
}

static int t_write_mem(void *opaque, int cpu, u64 va, const void *buf,
		       size_t len)
{
	struct pt_ctx ctx;
	int ret = pt_ctx_of(opaque, cpu, &ctx);

	return ret < 0 ? ret : pt_write_virt(&ctx, va, buf, len, NULL, 0);
}

/* ---- the target: debug state, resuming ---- */

static int set_guest_debug_fn(struct kvm_cpu *cpu, void *arg)
{
	return ioctl(cpu->fd, KVM_SET_GUEST_DEBUG, arg) < 0 ? -errno : 0;
}

/* KVM_SET_GUEST_DEBUG on @cpu: the stub's breakpoints, @step. */
static int apply_debug(struct gdb_server *g, int cpu, bool step)
{
	struct kvm_guest_debug dbg = { 0 };
	u64 bcr[HWDEBUG_MAX_SLOTS], bvr[HWDEBUG_MAX_SLOTS];
	u64 wcr[HWDEBUG_MAX_SLOTS], wvr[HWDEBUG_MAX_SLOTS];

	if (g->sw)
		dbg.control |= KVM_GUESTDBG_USE_SW_BP;
	if (g->hw && hwdebug_active(g->hw)) {
		dbg.control |= KVM_GUESTDBG_USE_HW;
		hwdebug_fill(g->hw, bcr, bvr, wcr, wvr);
		for (int i = 0; i < HWDEBUG_MAX_SLOTS; i++) {
			dbg.arch.dbg_bcr[i] = bcr[i];
			dbg.arch.dbg_bvr[i] = bvr[i];
			dbg.arch.dbg_wcr[i] = wcr[i];
			dbg.arch.dbg_wvr[i] = wvr[i];
		}
	}
	if (step)
		dbg.control |= KVM_GUESTDBG_SINGLESTEP;
	if (dbg.control)
		dbg.control |= KVM_GUESTDBG_ENABLE;
	return kvm_cpu_run_parked(g->kvm->cpus[cpu], set_guest_debug_fn, &dbg);
}

static int t_set_debug(void *opaque, bool sw, const struct hwdebug *hw)
{
	struct gdb_server *g = opaque;
	int ret = 0;

	g->sw = sw;
	g->hw = hw;
	for (int i = 0; i < g->kvm->nr_cpus && !ret; i++)
		ret = apply_debug(g, i, false);
	return ret;
}

static void invalidate_regs(struct gdb_server *g)
{
	memset(g->regs_valid, 0, g->kvm->nr_cpus * sizeof(*g->regs_valid));
}

static int t_resume(void *opaque, const enum gdb_resume *how)
{
	struct gdb_server *g = opaque;
	int ret = 0;

	for (int i = 0; i < g->kvm->nr_cpus && !ret; i++) {
		ret = apply_debug(g, i, how[i] == GDB_RESUME_STEP);
		__atomic_store_n(&g->held[i], how[i] == GDB_RESUME_STOP,
				 __ATOMIC_RELEASE);
	}
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&g->lock);
	g->ev.pending = false;
	__atomic_store_n(&g->running, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&g->lock);
	invalidate_regs(g);
	ret = kvm_cpus_resume(g->kvm);
	return ret == -EALREADY ? 0 : ret;
}

static void t_kill(void *opaque)
{
	struct gdb_server *g = opaque;

	pr_debug("gdb: killed (the guest is stopped)");
	kvm_request_stop(g->kvm, LKVM_EXIT_OK);
}

/* The session's end does the rest. */
static void t_detach(void *opaque)
{
	pr_debug("gdb: detached");
}

static int write_esr_fn(struct kvm_cpu *cpu, void *arg)
{
	struct kvm_one_reg reg = {
		.id = regs_sysreg_id(3, 0, 5, 2, 0), .addr = (uintptr_t)arg,
	};

	return ioctl(cpu->fd, KVM_SET_ONE_REG, &reg) < 0 ? -errno : 0;
}

/*
 * The guest's own BRK at @ev (KVM trapped it for the stub): the guest
 * takes the exception it would have taken. True if it was one.
 */
static bool pass_guest_brk(struct gdb_server *g, const struct gdb_event *ev)
{
	struct lkvm_regs r;
	int ret = t_get_regs(g, ev->cpu, &r);

	if (ret < 0 || !gdb_a64_guest_brk(&g->stub, ev->esr, r.pc))
		return false;
	gdb_a64_take_exception(&r, ev->esr);
	ret = t_set_regs(g, ev->cpu, &r);
	if (!ret)
		ret = kvm_cpu_run_parked(g->kvm->cpus[ev->cpu], write_esr_fn,
					 &r.esr_el1);
	if (ret < 0)
		pr_warn("gdb: vCPU %d: cannot pass the guest its BRK: %s",
			ev->cpu, strerror(-ret));
	return true;
}

static const struct gdb_target_ops kvm_target_ops = {
	.get_regs = t_get_regs,
	.set_regs = t_set_regs,
	.read_mem = t_read_mem,
	.write_mem = t_write_mem,
	.set_debug = t_set_debug,
	.resume = t_resume,
	.kill = t_kill,
	.detach = t_detach,
};

/* ---- the connection ---- */

static int send_all(struct gdb_server *g, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(g->conn, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		p += n;
		len -= n;
	}
	return 0;
}

/* Frame a reply payload, keep it for a resend ('-'), send it. */
static int send_reply(struct gdb_server *g, const char *payload, size_t len)
{
	ssize_t n = gdb_frame(g->frame, sizeof(g->frame), payload, len);

	if (n < 0)
		return n;
	g->frame_len = n;
	return send_all(g, g->frame, n);
}

/* The VM stopped: "W" and lkvm's exit status. */
static void send_exit(struct gdb_server *g)
{
	char w[8];
	int n = snprintf(w, sizeof(w), "W%02x", kvm_stop_status(g->kvm) & 0xff);

	send_reply(g, w, n);
}

/* lkvm exits: a gdb awaiting a stop hears why. */
static void on_exit_of_vm(struct gdb_server *g)
{
	if (__atomic_load_n(&g->running, __ATOMIC_ACQUIRE))
		send_exit(g);
}

/* Park every vCPU; 0, or -ESHUTDOWN when the VM stops first. */
static int park_all(struct gdb_server *g)
{
	int ret = kvm_cpus_pause(g->kvm);

	__atomic_store_n(&g->running, false, __ATOMIC_RELEASE);
	invalidate_regs(g);
	return ret == -EALREADY ? 0 : ret;
}

/* The vCPUs stopped (a debug exit, or @sig): park them, tell gdb. */
static int report_stop(struct gdb_server *g, int sig)
{
	struct gdb_event ev;
	struct lkvm_regs r;
	ssize_t n;

	if (park_all(g) < 0) {
		send_exit(g);
		return -ESHUTDOWN;
	}
	pthread_mutex_lock(&g->lock);
	ev = g->ev;
	g->ev.pending = false;
	pthread_mutex_unlock(&g->lock);
	if (ev.pending && pass_guest_brk(g, &ev)) {
		ev.pending = false;	/* not gdb's stop: on as gdb asked */
		if (sig == GDB_SIGTRAP && t_resume(g, g->stub.how) == 0)
			return 0;
	}
	if (ev.pending && t_get_regs(g, ev.cpu, &r) == 0)
		n = gdb_stub_debug_stop(&g->stub, ev.cpu, ev.esr, ev.far, r.pc,
					g->out, sizeof(g->out));
	else
		n = gdb_stub_stopped(&g->stub, ev.pending ? ev.cpu : 0,
				     ev.pending ? GDB_SIGTRAP : sig,
				     GDB_STOP_SIGNAL, 0, g->out, sizeof(g->out));
	return n < 0 ? n : send_reply(g, g->out, n);
}

/* One packet from gdb: act on it, reply. <0: the session is over. */
static int on_packet(struct gdb_server *g)
{
	size_t len = 0;
	enum gdb_stub_result r;

	if (!g->stub.noack && send_all(g, "+", 1) < 0)
		return -EPIPE;
	r = gdb_stub_handle(&g->stub, g->rx.buf, g->rx.len, g->out,
			    sizeof(g->out), &len);
	switch (r) {
	case GDB_STUB_RESUMED:
		return 0;
	case GDB_STUB_KILLED:
		return -ECONNRESET;
	case GDB_STUB_DETACHED:
		send_reply(g, g->out, len);
		return -ECONNRESET;
	default:
		return send_reply(g, g->out, len);
	}
}

static int on_byte(struct gdb_server *g, u8 c)
{
	switch (gdb_rx_byte(&g->rx, c)) {
	case GDB_RX_PACKET:
		return on_packet(g);
	case GDB_RX_BAD:
		pr_debug("gdb: bad packet: %s", g->rx.error);
		return send_all(g, "-", 1);
	case GDB_RX_NACK:
		return g->frame_len ? send_all(g, g->frame, g->frame_len) : 0;
	case GDB_RX_INTERRUPT:
		if (!__atomic_load_n(&g->running, __ATOMIC_ACQUIRE))
			return 0;
		return report_stop(g, GDB_SIGINT);
	default:
		return 0;
	}
}

static int on_input(struct gdb_server *g)
{
	u8 buf[1024];
	ssize_t n = recv(g->conn, buf, sizeof(buf), 0);
	int ret = 0;

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return -ECONNRESET;
	for (ssize_t i = 0; i < n && !ret; i++)
		ret = on_byte(g, buf[i]);
	return ret;
}

static int on_event(struct gdb_server *g)
{
	u64 cnt;

	if (read(g->event_fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return 0;
	if (!__atomic_load_n(&g->running, __ATOMIC_ACQUIRE))
		return 0;	/* a Ctrl-C's stop reported it */
	return report_stop(g, GDB_SIGTRAP);
}

/* Serve the connection until it ends (<0) or lkvm exits (1). */
static int session_loop(struct gdb_server *g)
{
	struct pollfd p[3] = {
		{ .fd = g->conn, .events = POLLIN },
		{ .fd = g->event_fd, .events = POLLIN },
		{ .fd = g->wake_fd, .events = POLLIN },
	};
	int ret = 0;

	while (!ret) {
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[2].revents) {
			on_exit_of_vm(g);
			return 1;
		}
		if (p[1].revents)
			ret = on_event(g);
		if (!ret && p[0].revents)
			ret = on_input(g);
	}
	return ret;
}

static int session_start(struct gdb_server *g)
{
	int ret;

	ret = gdb_stub_init(&g->stub, &kvm_target_ops, g, g->kvm->nr_cpus,
			    g->nr_hw_bps, g->nr_hw_wps);
	if (ret < 0)
		return ret;
	gdb_rx_init(&g->rx);
	g->frame_len = 0;
	g->sw = false;
	g->hw = NULL;
	ret = park_all(g);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&g->lock);
	g->ev.pending = false;
	pthread_mutex_unlock(&g->lock);
	__atomic_store_n(&g->attached, true, __ATOMIC_RELEASE);
	return 0;
}

/* Breakpoints out, debugging off, the vCPUs running again. */
static void session_end(struct gdb_server *g)
{
	struct kvm *kvm = g->kvm;

	if (!kvm_is_stopping(kvm) && park_all(g) == 0) {
		gdb_stub_remove_all(&g->stub);
		for (int i = 0; i < kvm->nr_cpus; i++)
			__atomic_store_n(&g->held[i], false, __ATOMIC_RELEASE);
		kvm_cpus_resume(kvm);
	}
	__atomic_store_n(&g->attached, false, __ATOMIC_RELEASE);
	kvm_pause_wake(kvm);
}

/* One gdb connection; 1 when lkvm exits meanwhile. */
static int serve(struct gdb_server *g)
{
	int one = 1, ret;

	setsockopt(g->conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pr_debug("gdb: connected");
	ret = session_start(g);
	if (!ret)
		ret = session_loop(g);
	if (ret != 1)
		session_end(g);
	close(g->conn);
	g->conn = -1;
	return ret == 1 || ret == -ESHUTDOWN;
}

static void *gdb_thread(void *arg)
{
	struct gdb_server *g = arg;

	seccomp_apply(SECCOMP_GDB);
	for (;;) {
		g->conn = accept_or_wake(g->listen_fd, g->wake_fd);
		if (g->conn == -ESHUTDOWN)
			break;
		if (g->conn >= 0 && serve(g))
			break;
	}
	return NULL;
}

/* ---- bring-up ---- */

static int gdb_listen(struct gdb_server *g, u32 addr, u16 port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET, .sin_port = htons(port),
		.sin_addr.s_addr = htonl(addr),
	};
	int one = 1, fd, ret;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 1) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	g->listen_fd = fd;
	return 0;
}

static int gdb_alloc(struct kvm *kvm, struct gdb_server **out)
{
	struct gdb_server *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	g->kvm = kvm;
	g->listen_fd = g->wake_fd = g->event_fd = g->conn = -1;
	pthread_mutex_init(&g->lock, NULL);
	*out = g;
	return 0;
}

static void gdb_free(struct gdb_server *g)
{
	if (g->listen_fd >= 0)
		close(g->listen_fd);
	free(g->held);
	free(g->regs);
	free(g->regs_valid);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/* INIT_CORE: claim the port before the VM is built. */
static int gdb_bind(struct kvm *kvm)
{
	struct gdb_server *g;
	struct in_addr in = { .s_addr = htonl(kvm->cfg.gdb_addr) };
	char ip[INET_ADDRSTRLEN];
	int ret;

	if (!kvm->cfg.gdb_port)
		return 0;
	ret = gdb_alloc(kvm, &g);
	if (ret < 0)
		return ret;
	inet_ntop(AF_INET, &in, ip, sizeof(ip));
	snprintf(g->where, sizeof(g->where), "%s:%u", ip, kvm->cfg.gdb_port);
	ret = gdb_listen(g, kvm->cfg.gdb_addr, kvm->cfg.gdb_port);
	if (ret < 0) {
		pr_err("--gdb %s: cannot listen: %s", g->where, strerror(-ret));
		gdb_free(g);
		return ret;
	}
	kvm->gdb = g;
	return 0;
}

static void gdb_unbind(struct kvm *kvm)
{
	if (!kvm->gdb)
		return;
	gdb_free(kvm->gdb);
	kvm->gdb = NULL;
}
lkvm_init(INIT_CORE, gdb_bind, gdb_unbind);

static int gdb_alloc_cpus(struct gdb_server *g, int nr)
{
	g->held = calloc(nr, sizeof(*g->held));
	g->regs = calloc(nr, sizeof(*g->regs));
	g->regs_valid = calloc(nr, sizeof(*g->regs_valid));
	return g->held && g->regs && g->regs_valid ? 0 : -ENOMEM;
}

static int gdb_fds(struct gdb_server *g)
{
	g->wake_fd = eventfd(0, EFD_CLOEXEC);
	g->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g->wake_fd < 0 || g->event_fd < 0) {
		pr_err("--gdb: eventfd: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void gdb_close_fds(struct gdb_server *g)
{
	if (g->wake_fd >= 0)
		close(g->wake_fd);
	if (g->event_fd >= 0)
		close(g->event_fd);
	g->wake_fd = g->event_fd = -1;
}

/*
 * INIT_FIRMWARE: serve, now that the vCPUs exist; with --gdb-wait the
 * pause is asked for before they start.
 */
static int gdb_start(struct kvm *kvm)
{
	struct gdb_server *g = kvm->gdb;
	int ret;

	if (!g)
		return 0;
	g->nr_hw_bps = MIN(kvm_check_cap(kvm, KVM_CAP_GUEST_DEBUG_HW_BPS),
			   HWDEBUG_MAX_SLOTS);
	g->nr_hw_wps = MIN(kvm_check_cap(kvm, KVM_CAP_GUEST_DEBUG_HW_WPS),
			   HWDEBUG_MAX_SLOTS);
	ret = gdb_alloc_cpus(g, kvm->nr_cpus);
	if (!ret)
		ret = gdb_fds(g);
	if (ret < 0)
		goto err;
	if (kvm->cfg.gdb_wait)
		kvm_cpus_pause_early(kvm);
	ret = -pthread_create(&g->thread, NULL, gdb_thread, g);
	if (ret < 0) {
		pr_err("--gdb: cannot start its thread: %s", strerror(-ret));
		goto err;
	}
	pthread_setname_np(g->thread, "lkvm-gdb");
	g->thread_running = true;
	pr_info("gdb server on %s%s", g->where,
		kvm->cfg.gdb_wait ? ", the guest waits for gdb" : "");
	return 0;
err:
	gdb_close_fds(g);
	return ret;
}

static void gdb_stop(struct kvm *kvm)
{
	struct gdb_server *g = kvm->gdb;
	u64 one = 1;

	if (!g)
		return;
	/*
	 * A thread waiting to park vCPUs that never started (an init
	 * after ours failed) must see a stop; a VM that ran has its own.
	 */
	if (!kvm_is_stopping(kvm))
		kvm_request_stop(kvm, LKVM_EXIT_ERROR);
	if (g->thread_running &&
	    write(g->wake_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(g->thread, NULL);
	g->thread_running = false;
	gdb_close_fds(g);
}
lkvm_init(INIT_FIRMWARE, gdb_start, gdb_stop);
