/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_VHOST_H
#define LKVM_VHOST_H

/*
 * What every vhost backend shares (virtio/vhost.c): one in-kernel vhost
 * instance (/dev/vhost-net, /dev/vhost-vsock) serving some consecutive
 * queues of a virtio device. lkvm gives it the guest's memory table and
 * the rings the driver set up; KVM signals its kick eventfds itself (the
 * transport's set_kick_fd), and a relay thread turns its call eventfds
 * into the transport's signal_vq, so that MMIO's InterruptStatus and
 * PCI's MSI-X masking and INTx stay right on both transports.
 *
 * Users: net/vhost.c (one instance per queue pair), virtio/vsock.c.
 */
#include <pthread.h>

#include "lkvm/virtio.h"

#define VHOST_MAX_RINGS		2	/* a net queue pair; vsock's rx, tx */
#define VHOST_RELAY_MAX		16	/* instances one relay thread serves */

/* One vhost instance and its eventfds. */
struct vhost_dev {
	struct virtio_device *vdev;
	const char *name;	/* the device, for messages: "net0", "vsock" */
	const char *path;	/* "/dev/vhost-net" */
	int fd;
	unsigned int first_q;	/* the virtio queue of ring 0 */
	unsigned int nr_rings;
	int kick_fd[VHOST_MAX_RINGS], call_fd[VHOST_MAX_RINGS];
	u64 features;		/* what the kernel offers */
};

/*
 * Nothing opened yet (every fd -1): rings 0..@nr_rings-1 serve queues
 * @first_q... of @vdev.
 */
void vhost_dev_init(struct vhost_dev *vd, struct virtio_device *vdev,
		    const char *name, const char *path, unsigned int first_q,
		    unsigned int nr_rings);
/*
 * Open vd->path, become its owner, read its features, make the eventfds.
 * 0 or -errno, said why in one line (a missing device file names it).
 */
int vhost_dev_open(struct vhost_dev *vd);
/* ioctl() on the instance; a failure is said in one line, -errno. */
int vhost_dev_ioctl(struct vhost_dev *vd, unsigned long req, void *arg,
		    const char *what);
/*
 * The driver's features (@features, those vhost knows), guest memory
 * (one region: all of it) and every ring, from where lkvm's queues are.
 * Each ring's queue must be ready (-EINVAL). 0 or -errno.
 */
int vhost_dev_start(struct vhost_dev *vd, u64 features);
/* Let KVM signal the kick eventfds (set_kick_fd); failures only slower. */
void vhost_dev_route_kicks(struct vhost_dev *vd);
/*
 * Running now: kick every ring once, for kicks that came before the
 * rings were handed over (vhost then finds nothing, or the buffers).
 */
void vhost_dev_replay_kicks(struct vhost_dev *vd);
/* A kick KVM could not route reached lkvm: pass it on. */
void vhost_dev_kick(struct vhost_dev *vd, unsigned int q);
/* Close everything opened (also after a failed or partial open). */
void vhost_dev_close(struct vhost_dev *vd);

/* Signal / consume an eventfd (nothing if @fd < 0). */
void vhost_eventfd_wake(int fd);
void vhost_eventfd_drain(int fd);

/* The thread that relays the call eventfds of some instances. */
struct vhost_relay {
	pthread_t tid;
	bool started;
	bool stop;		/* atomic */
	int wake_fd;
	unsigned int nr;
	struct vhost_dev *devs[VHOST_RELAY_MAX];
};

/*
 * Start thread @name relaying the calls of @devs[0..@nr-1] (under
 * seccomp list SECCOMP_VHOST). 0 or -errno.
 */
int vhost_relay_start(struct vhost_relay *r, struct vhost_dev *const *devs,
		      unsigned int nr, const char *name);
/* Stop and join it (nothing if it never started). */
void vhost_relay_stop(struct vhost_relay *r);

#endif
