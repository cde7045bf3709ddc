// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net (-n/--network, repeatable): the device. It owns the config
 * space (MAC, link status, queue pairs), feature negotiation, the
 * controlq and the queues, and hands the data path to one of three
 * backends behind struct net_backend_ops (include/lkvm/net-backend.h):
 *
 *   user   libslirp in a thread of its own (net/slirp.c, lkvm-slirp only)
 *   tap    /dev/net/tun, receive threads, transmit in the kick (net/tap.c)
 *   vhost  a tap with the data path in the kernel (net/vhost.c)
 *
 * vnet_choose_backend() is the one place that chooses. The relay between
 * the queues and the backends (virtio/net-queue.c) sits below all of
 * them: no backend calls this file.
 *
 * Queues: receiveq N = 2N, transmitq N = 2N + 1, then the controlq when
 * there is more than one pair (MQ needs CTRL_VQ to pick the pair count).
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/init.h"
#include "lkvm/iov.h"
#include "lkvm/kvm.h"
#include "lkvm/net-backend.h"

#define VNET_QUEUE_SIZE		256

#define VNET_F_COMMON	(BIT_ULL(VIRTIO_NET_F_MAC) |			\
			 BIT_ULL(VIRTIO_NET_F_STATUS) |			\
			 BIT_ULL(VIRTIO_NET_F_MRG_RXBUF))
#define VNET_F_MQ	(BIT_ULL(VIRTIO_NET_F_CTRL_VQ) | BIT_ULL(VIRTIO_NET_F_MQ))

/* ---- config space ---- */

static void vnet_config(struct virtio_device *vdev, u32 offset, u8 *data,
			u32 len, bool is_write)
{
	struct vnet *vn = vdev->priv;

	/* The MAC is read-only without VIRTIO_NET_F_CTRL_MAC_ADDR. */
	if (is_write)
		return;
	memcpy(data, vn->config + offset, len);
}

/* ---- the controlq (MQ) ---- */

static u8 vnet_ctrl_cmd(struct vnet *vn, struct virtq_elem *e)
{
	struct virtio_net_ctrl_hdr hdr;
	u16 pairs;

	if (iov_to_buf(virtq_elem_out(e), e->out_num, 0, &hdr,
		       sizeof(hdr)) != sizeof(hdr))
		return VIRTIO_NET_ERR;
	switch (hdr.class) {
	case VIRTIO_NET_CTRL_MQ:
		if (hdr.cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ||
		    iov_to_buf(virtq_elem_out(e), e->out_num, sizeof(hdr),
			       &pairs, 2) != 2)
			return VIRTIO_NET_ERR;
		pairs = le16toh(pairs);
		if (pairs < 1 || pairs > vn->nr_pairs)
			return VIRTIO_NET_ERR;
		/* every pair stays served: the driver uses the first ones */
		pr_debug("virtio-%s: %u queue pairs in use", vn->name, pairs);
		return VIRTIO_NET_OK;
	}
	return VIRTIO_NET_ERR;
}

static void vnet_ctrl(struct vnet *vn)
{
	struct virtio_device *vdev = &vn->vdev;
	unsigned int q = 2 * vn->nr_pairs;
	struct virtqueue *vq = &vdev->vqs[q];
	struct virtq_elem *e = &vn->ctrl_elem;
	enum virtq_pop_result r;
	u8 ack;

	do {
		virtq_enable_notify(vq, false);
		while ((r = virtq_pop(vq, e)) == VIRTQ_GOT) {
			ack = vnet_ctrl_cmd(vn, e);
			if (!e->in_num) {
				virtq_push(vq, e->head, 0);
				continue;
			}
			/* the ack is the last byte the driver gave us */
			iov_from_buf(virtq_elem_in(e), e->in_num, e->in_len - 1,
				     &ack, 1);
			virtq_push(vq, e->head, 1);
		}
		virtio_notify_used(vdev, q);
	} while (r == VIRTQ_EMPTY && virtq_enable_notify(vq, true));
	if (r == VIRTQ_BAD)
		virtio_device_broken(vdev, "malformed controlq chain");
}

/* ---- device ops: the controlq here, the data queues to the backend ---- */

static void vnet_notify(struct virtio_device *vdev, unsigned int q)
{
	struct vnet *vn = vdev->priv;

	if (q == 2 * vn->nr_pairs)
		vnet_ctrl(vn);
	else
		vn->be->notify(vn, q);
}

static int vnet_start(struct virtio_device *vdev)
{
	struct vnet *vn = vdev->priv;

	return vn->be->start ? vn->be->start(vn) : 0;
}

static void vnet_reset(struct virtio_device *vdev)
{
	struct vnet *vn = vdev->priv;

	vn->be->reset(vn);
}

/* ---- the backend ---- */

/*
 * The one place that chooses the backend of @ns for NIC @index: 0, or
 * -errno when this lkvm has none for it (said why).
 */
static int vnet_choose_backend(const struct net_spec *ns, unsigned int index,
			       const struct net_backend_ops **be)
{
	switch (ns->mode) {
	case NET_MODE_USER:
		/* the static lkvm became lkvm-slirp before it got here */
		if (!&net_slirp_ops) {
			pr_err("virtio-net%u: mode=user needs libslirp, which this lkvm was built without",
			       index);
			return -ENOSYS;
		}
		*be = &net_slirp_ops;
		return 0;
	case NET_MODE_TAP:
		*be = ns->vhost ? &net_vhost_ops : &net_tap_ops;
		return 0;
	default:
		pr_err("virtio-net%u: no backend for mode %d", index, ns->mode);
		return -EINVAL;
	}
}

/* ---- init/exit ---- */

static void vnet_free(struct vnet *vn)
{
	unsigned int i;

	__atomic_store_n(&vn->stop, true, __ATOMIC_RELEASE);
	/* before the queues they use go away */
	vn->be->stop(vn);
	virtio_unregister(&vn->vdev);
	vn->be->close(vn);
	for (i = 0; i < vn->nr_pairs; i++)
		zfree_lazy(vn->pairs[i], sizeof(*vn->pairs[i]));
	zfree_lazy(vn, sizeof(*vn));
}

static u64 stat_get(const u64 *stat)
{
	return __atomic_load_n(stat, __ATOMIC_RELAXED);
}

static void vnet_stats(struct virtio_device *vdev, device_stat_fn emit,
		       void *ctx)
{
	struct vnet *vn = vdev->priv;

	emit(ctx, &vdev->dev, "tx_frames", stat_get(&vn->tx_frames));
	emit(ctx, &vdev->dev, "tx_dropped", stat_get(&vn->tx_dropped));
	emit(ctx, &vdev->dev, "rx_frames", stat_get(&vn->rx_frames));
	emit(ctx, &vdev->dev, "rx_dropped", stat_get(&vn->rx_dropped));
}

/* The registry's exit hook: relay threads stop before the device goes. */
static void vnet_dev_exit(struct virtio_device *vdev)
{
	struct vnet *vn = vdev->priv;

	pr_debug("virtio-%s: tx %llu frames (%llu dropped), rx %llu frames (%llu dropped)",
		 vn->name, (unsigned long long)vn->tx_frames,
		 (unsigned long long)vn->tx_dropped,
		 (unsigned long long)vn->rx_frames,
		 (unsigned long long)vn->rx_dropped);
	vnet_free(vn);
}

static void vnet_setup_config(struct vnet *vn)
{
	if (!vn->spec.mac_set)
		net_default_mac(vn->kvm->cfg.name, vn->index, vn->spec.mac);
	memcpy(vn->config, vn->spec.mac, 6);
	vn->config[6] = VIRTIO_NET_S_LINK_UP;
	vn->config[8] = vn->nr_pairs;

	vn->ops = (struct virtio_device_ops) {
		.name = vn->name,
		.device_id = VIRTIO_ID_NET,
		.features = VNET_F_COMMON | vn->be->features,
		.nr_queues = 2 * vn->nr_pairs,
		.queue_size = VNET_QUEUE_SIZE,
		.config_size = VNET_CONFIG_SIZE,
		.config_access = vnet_config,
		.start = vnet_start,
		.notify = vnet_notify,
		.reset = vnet_reset,
		.stats = vnet_stats,
		.exit = vnet_dev_exit,
	};
	if (vn->nr_pairs > 1) {
		vn->ops.features |= VNET_F_MQ;
		vn->ops.nr_queues++;
	}
}

static struct vnet *vnet_new(struct kvm *kvm, unsigned int index,
			     const struct net_spec *ns,
			     const struct net_backend_ops *be)
{
	struct vnet *vn = zalloc_lazy(sizeof(*vn));
	unsigned int i;

	if (!vn)
		return NULL;
	vn->kvm = kvm;
	vn->index = index;
	vn->spec = *ns;
	vn->be = be;
	snprintf(vn->name, sizeof(vn->name), "net%u", index);
	vn->nr_pairs = be->multiqueue ? ns->queues : 1;
	for (i = 0; i < vn->nr_pairs; i++) {
		vn->pairs[i] = zalloc_lazy(sizeof(*vn->pairs[i]));
		if (!vn->pairs[i]) {
			vn->nr_pairs = i;	/* nothing opened yet */
			vnet_free(vn);
			return NULL;
		}
		vn->pairs[i]->vn = vn;
		vn->pairs[i]->idx = i;
	}
	vnet_setup_config(vn);
	virtio_device_init(&vn->vdev, &vn->ops, kvm, &kvm->mem, vn);
	return vn;
}

/* NIC @index with backend @be: opened, registered, running. */
static int vnet_add(struct kvm *kvm, unsigned int index,
		    const struct net_spec *ns, const struct net_backend_ops *be)
{
	struct vnet *vn = vnet_new(kvm, index, ns, be);
	int ret;

	if (!vn)
		return -ENOMEM;
	ret = be->open(vn);
	if (ret < 0)
		goto err_free;
	ret = virtio_register(kvm, &vn->vdev);
	if (ret < 0) {
		pr_err("virtio-%s: cannot register the device: %s", vn->name,
		       strerror(-ret));
		goto err_free;
	}
	/* registered: from here on the registry frees it */
	ret = be->run(vn);
	if (ret < 0) {
		pr_err("virtio-%s: cannot start: %s", vn->name, strerror(-ret));
		return ret;
	}
	pr_debug("virtio-%s: mode=%s mac=%02x:%02x:%02x:%02x:%02x:%02x, %u queue pair(s)%s",
		 vn->name, ns->mode == NET_MODE_USER ? "user" : "tap",
		 vn->spec.mac[0], vn->spec.mac[1], vn->spec.mac[2],
		 vn->spec.mac[3], vn->spec.mac[4], vn->spec.mac[5],
		 vn->nr_pairs, ns->vhost ? ", vhost" : "");
	return 0;

err_free:
	vnet_free(vn);
	return ret;
}

static int vnet_init(struct kvm *kvm)
{
	const struct net_backend_ops *be;
	struct net_spec ns;
	char err[256];
	int i, ret;

	for (i = 0; i < kvm->cfg.nr_nics; i++) {
		/* checked by the option parser already */
		if (net_parse_spec(kvm->cfg.nics[i], &ns, err, sizeof(err)) < 0) {
			pr_err("%s", err);
			ret = -EINVAL;
			goto err;
		}
		if (ns.mode == NET_MODE_NONE)
			continue;
		ret = vnet_choose_backend(&ns, i, &be);
		if (ret < 0)
			goto err;
		ret = vnet_add(kvm, i, &ns, be);
		if (ret < 0)
			goto err;
	}
	return 0;

err:	/* the registry tears down the NICs registered before */
	return ret;
}

lkvm_init(INIT_DEV, vnet_init, NULL);
