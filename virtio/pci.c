// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-pci transport, modern (virtio 1.x, section 4.1) only:
 * vendor 0x1af4, device 0x1040 + the virtio device ID, revision 1.
 *
 * Everything lives in one 64-bit memory BAR (BAR 0):
 *
 *   0x0000  common configuration (VIRTIO_PCI_CAP_COMMON_CFG)
 *   0x1000  ISR status (VIRTIO_PCI_CAP_ISR_CFG)
 *   0x2000  device configuration (VIRTIO_PCI_CAP_DEVICE_CFG)
 *   0x3000  notifications, 4 bytes per queue (VIRTIO_PCI_CAP_NOTIFY_CFG)
 *   0x4000  MSI-X table, nr_queues + 1 vectors
 *   0x5000  MSI-X PBA
 *
 * plus the VIRTIO_PCI_CAP_PCI_CFG window in config space.
 *
 * Kicks: one ioeventfd per queue on its notify address, moved whenever
 * the guest moves the BAR; writes no ioeventfd took reach the BAR handler.
 *
 * Interrupts: with MSI-X enabled, the vector of the queue (or msix_config)
 * through the ITS (hw/pci.c, kvm/msi.c); otherwise INTA, level-triggered:
 * raised with a bit in ISR status, lowered when the driver reads ISR.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/kvm.h"
#include "lkvm/pci.h"
#include "lkvm/virtio.h"

#define VPCI_VENDOR		0x1af4
#define VPCI_DEVICE_BASE	0x1040
#define VPCI_SUBSYS_ID		0x1100
#define VPCI_REVISION		1

#define VPCI_BAR		0
#define VPCI_BAR_SIZE		0x8000
#define VPCI_COMMON_OFF		0x0000
#define VPCI_COMMON_LEN		0x40	/* through queue_reset */
#define VPCI_ISR_OFF		0x1000
#define VPCI_ISR_LEN		0x4
#define VPCI_DEVICE_OFF		0x2000
#define VPCI_DEVICE_MAX		0x1000
#define VPCI_NOTIFY_OFF		0x3000
#define VPCI_NOTIFY_MULT	4
#define VPCI_MSIX_TABLE_OFF	0x4000
#define VPCI_MSIX_PBA_OFF	0x5000

#define VPCI_ISR_QUEUE		0x1
#define VPCI_ISR_CONFIG		0x2

struct virtio_pci {
	struct pci_device pci;
	struct virtio_device *vdev;
	struct kvm *kvm;
	u8 pci_cfg_cap;		/* offset of the VIRTIO_PCI_CAP_PCI_CFG capability */

	/* Under vdev->lock. */
	u32 dev_features_sel, drv_features_sel;
	u16 queue_sel;
	u16 msix_config;
	u16 queue_vector[VIRTIO_MAX_QUEUES];

	pthread_mutex_t isr_lock;	/* isr and the INTx level together */
	u8 isr;

	struct virtio_kick kicks[VIRTIO_MAX_QUEUES];
	u64 bar_addr;		/* while the BAR is active */
	bool bar_active;
};

/* ---- interrupts ---- */

static void vpci_raise_intx(struct virtio_pci *vp, u8 reason)
{
	pthread_mutex_lock(&vp->isr_lock);
	vp->isr |= reason;
	pci_set_irq(&vp->pci, true);
	pthread_mutex_unlock(&vp->isr_lock);
}

static void vpci_signal(struct virtio_pci *vp, u16 vector, u8 reason)
{
	if (pci_msix_enabled(&vp->pci)) {
		if (reason == VPCI_ISR_CONFIG) {
			/* The driver may still look at ISR (4.1.4.5.1). */
			pthread_mutex_lock(&vp->isr_lock);
			vp->isr |= reason;
			pthread_mutex_unlock(&vp->isr_lock);
		}
		/* NO_VECTOR: the driver wants no interrupt for this. */
		if (vector != VIRTIO_MSI_NO_VECTOR)
			pci_msix_signal(&vp->pci, vector);
		return;
	}
	vpci_raise_intx(vp, reason);
}

static void vpci_signal_vq(struct virtio_device *vdev, unsigned int q)
{
	struct virtio_pci *vp = vdev->transport_priv;

	vpci_signal(vp, __atomic_load_n(&vp->queue_vector[q], __ATOMIC_RELAXED),
		    VPCI_ISR_QUEUE);
}

static void vpci_signal_config(struct virtio_device *vdev)
{
	struct virtio_pci *vp = vdev->transport_priv;

	vpci_signal(vp, __atomic_load_n(&vp->msix_config, __ATOMIC_RELAXED),
		    VPCI_ISR_CONFIG);
}

/* Reading ISR status acknowledges it and lowers INTx. */
static u8 vpci_read_isr(struct virtio_pci *vp)
{
	u8 isr;

	pthread_mutex_lock(&vp->isr_lock);
	isr = vp->isr;
	vp->isr = 0;
	pci_set_irq(&vp->pci, false);
	pthread_mutex_unlock(&vp->isr_lock);
	return isr;
}

/* ---- common configuration ---- */

/* The driver writes each ring address as two 32-bit halves. */
static const struct virtio_ring_regs vpci_ring_regs[VIRTQ_NR_RINGS] = {
	[VIRTQ_RING_DESC] = { VIRTIO_PCI_COMMON_Q_DESCLO, VIRTIO_PCI_COMMON_Q_DESCHI },
	[VIRTQ_RING_AVAIL] = { VIRTIO_PCI_COMMON_Q_AVAILLO, VIRTIO_PCI_COMMON_Q_AVAILHI },
	[VIRTQ_RING_USED] = { VIRTIO_PCI_COMMON_Q_USEDLO, VIRTIO_PCI_COMMON_Q_USEDHI },
};

static u16 vpci_vector(struct virtio_pci *vp, u32 val)
{
	/* A vector the device cannot use reads back as NO_VECTOR (4.1.5.1.2). */
	return val < vp->pci.msix.nr ? val : VIRTIO_MSI_NO_VECTOR;
}

/* Called with vdev->lock held. */
static u32 vpci_common_read(struct virtio_pci *vp, u64 off)
{
	struct virtio_device *vdev = vp->vdev;
	struct virtqueue *vq = virtio_queue(vdev, vp->queue_sel);
	u32 val;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		return vp->dev_features_sel;
	case VIRTIO_PCI_COMMON_DF:
		return virtio_get_device_features(vdev, vp->dev_features_sel);
	case VIRTIO_PCI_COMMON_GFSELECT:
		return vp->drv_features_sel;
	case VIRTIO_PCI_COMMON_GF:
		return vp->drv_features_sel < 2 ?
			(u32)(vdev->driver_features >> (32 * vp->drv_features_sel)) : 0;
	case VIRTIO_PCI_COMMON_MSIX:
		return vp->msix_config;
	case VIRTIO_PCI_COMMON_NUMQ:
		return vdev->ops->nr_queues;
	case VIRTIO_PCI_COMMON_STATUS:
		return __atomic_load_n(&vdev->status, __ATOMIC_ACQUIRE);
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return vdev->config_generation;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		return vp->queue_sel;
	}
	if (!vq)
		return off == VIRTIO_PCI_COMMON_Q_MSIX ? VIRTIO_MSI_NO_VECTOR : 0;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		return vq->size;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		return vp->queue_vector[vp->queue_sel];
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		return vq->ready;
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return vp->queue_sel;
	}
	return virtio_queue_get_addr(vq, vpci_ring_regs, off, &val) ? val : 0;
}

static void vpci_queue_size(struct virtio_pci *vp, struct virtqueue *vq,
			    u32 val)
{
	/* A power of two no larger than what we offered (4.1.4.3.2). */
	if (!val || (val & (val - 1)) || val > vp->vdev->ops->queue_size) {
		pr_warn_ratelimited("virtio-%s: queue %u: bad size %u (max %u)",
				    vp->vdev->ops->name, vp->queue_sel, val,
				    vp->vdev->ops->queue_size);
		return;
	}
	vq->size = val;
}

/* Called with vdev->lock held. */
static void vpci_write_queue(struct virtio_pci *vp, u64 off, u32 val)
{
	struct virtqueue *vq = virtio_queue(vp->vdev, vp->queue_sel);

	if (!vq)
		return;
	if (off == VIRTIO_PCI_COMMON_Q_MSIX) {
		__atomic_store_n(&vp->queue_vector[vp->queue_sel],
				 vpci_vector(vp, val), __ATOMIC_RELAXED);
		return;
	}
	if (off == VIRTIO_PCI_COMMON_Q_ENABLE) {
		/* Writing 0 is not allowed (4.1.4.3.2); a reset stops queues. */
		if (val == 1)
			virtio_queue_enable(vp->vdev, vq);
		return;
	}
	/* The configuration of an enabled queue is frozen. */
	if (vq->ready)
		return;
	if (off == VIRTIO_PCI_COMMON_Q_SIZE)
		vpci_queue_size(vp, vq, val);
	else
		virtio_queue_set_addr(vq, vpci_ring_regs, off, val);
}

static void vpci_reset_transport(struct virtio_pci *vp)
{
	unsigned int q;

	pthread_mutex_lock(&vp->vdev->lock);
	vp->dev_features_sel = vp->drv_features_sel = 0;
	vp->queue_sel = 0;
	__atomic_store_n(&vp->msix_config, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELAXED);
	for (q = 0; q < VIRTIO_MAX_QUEUES; q++)
		__atomic_store_n(&vp->queue_vector[q], VIRTIO_MSI_NO_VECTOR,
				 __ATOMIC_RELAXED);
	pthread_mutex_unlock(&vp->vdev->lock);
	vpci_read_isr(vp);
}

static void vpci_common_write(struct virtio_pci *vp, u64 off, u32 val)
{
	struct virtio_device *vdev = vp->vdev;

	switch (off) {
	case VIRTIO_PCI_COMMON_GF:
		virtio_set_driver_features(vdev, vp->drv_features_sel, val);
		return;
	case VIRTIO_PCI_COMMON_STATUS:
		virtio_set_status(vdev, val);
		if (!val)
			vpci_reset_transport(vp);
		return;
	}

	pthread_mutex_lock(&vdev->lock);
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vp->dev_features_sel = val;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vp->drv_features_sel = val;
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		__atomic_store_n(&vp->msix_config, vpci_vector(vp, val),
				 __ATOMIC_RELAXED);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		vp->queue_sel = val;
		break;
	default:
		vpci_write_queue(vp, off, val);
		break;
	}
	pthread_mutex_unlock(&vdev->lock);
}

static u32 le_get(const u8 *data, u32 len)
{
	u32 v = 0, i;

	for (i = 0; i < len && i < 4; i++)
		v |= (u32)data[i] << (8 * i);
	return v;
}

static void le_put(u8 *data, u32 len, u64 v)
{
	u32 i;

	for (i = 0; i < len; i++)
		data[i] = i < 8 ? v >> (8 * i) : 0;
}

/* Width of the common configuration field at @off, 0 if none starts there. */
static u32 common_field_len(u64 off)
{
	switch (off) {
	case VIRTIO_PCI_COMMON_STATUS:
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return 1;
	case VIRTIO_PCI_COMMON_MSIX:
	case VIRTIO_PCI_COMMON_NUMQ:
	case VIRTIO_PCI_COMMON_Q_SELECT:
	case VIRTIO_PCI_COMMON_Q_SIZE:
	case VIRTIO_PCI_COMMON_Q_MSIX:
	case VIRTIO_PCI_COMMON_Q_ENABLE:
	case VIRTIO_PCI_COMMON_Q_NOFF:
	case VIRTIO_PCI_COMMON_Q_NDATA:
	case VIRTIO_PCI_COMMON_Q_RESET:
		return 2;
	case VIRTIO_PCI_COMMON_DFSELECT:
	case VIRTIO_PCI_COMMON_DF:
	case VIRTIO_PCI_COMMON_GFSELECT:
	case VIRTIO_PCI_COMMON_GF:
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		return 4;
	}
	return 0;
}

static void vpci_common_access(struct virtio_pci *vp, u64 off, u8 *data,
			       u32 len, bool is_write)
{
	u32 flen = common_field_len(off);
	u32 val;

	/* The driver uses each field's own width (4.1.3.1). */
	if (flen != len) {
		pr_warn_ratelimited("virtio-%s: %u-byte access to common config at %#llx",
				    vp->vdev->ops->name, len,
				    (unsigned long long)off);
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (is_write) {
		vpci_common_write(vp, off, le_get(data, len));
		return;
	}
	pthread_mutex_lock(&vp->vdev->lock);
	val = vpci_common_read(vp, off);
	pthread_mutex_unlock(&vp->vdev->lock);
	le_put(data, len, val);
}

/* ---- the BAR ---- */

static void vpci_bar_access(void *opaque, u64 off, u8 *data, u32 len,
			    bool is_write)
{
	struct virtio_pci *vp = opaque;
	unsigned int nr_queues = vp->vdev->ops->nr_queues;

	if (pci_msix_access(&vp->pci, VPCI_BAR, off, data, len, is_write))
		return;
	if (off < VPCI_COMMON_OFF + VPCI_COMMON_LEN) {
		vpci_common_access(vp, off - VPCI_COMMON_OFF, data, len, is_write);
		return;
	}
	if (off >= VPCI_ISR_OFF && off < VPCI_ISR_OFF + VPCI_ISR_LEN) {
		if (!is_write) {
			memset(data, 0, len);
			if (off == VPCI_ISR_OFF)
				data[0] = vpci_read_isr(vp);
		}
		return;
	}
	if (off >= VPCI_DEVICE_OFF && off < VPCI_DEVICE_OFF + VPCI_DEVICE_MAX) {
		virtio_config_access(vp->vdev, off - VPCI_DEVICE_OFF, data,
				     len, is_write);
		return;
	}
	if (off >= VPCI_NOTIFY_OFF &&
	    off < VPCI_NOTIFY_OFF + (u64)nr_queues * VPCI_NOTIFY_MULT) {
		/* No ioeventfd took this kick. */
		if (is_write && (off - VPCI_NOTIFY_OFF) % VPCI_NOTIFY_MULT == 0)
			virtio_notify_queue(vp->vdev,
					    (off - VPCI_NOTIFY_OFF) / VPCI_NOTIFY_MULT);
		else if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (!is_write)
		memset(data, 0, len);
}

/* ---- kicks: ioeventfds that follow the BAR ---- */

static void vpci_del_kicks(struct virtio_pci *vp)
{
	unsigned int q;

	for (q = 0; q < vp->vdev->ops->nr_queues; q++)
		virtio_kick_del(&vp->kicks[q]);
}

/* vpci_bar_access() serves the kicks of a queue that gets no ioeventfd. */
static void vpci_add_kicks(struct virtio_pci *vp, u64 bar_addr)
{
	unsigned int q;

	/* Linux writes the queue index, 16 bits; any value will do. */
	for (q = 0; q < vp->vdev->ops->nr_queues; q++)
		virtio_kick_add(&vp->kicks[q], vp->kvm,
				bar_addr + VPCI_NOTIFY_OFF + q * VPCI_NOTIFY_MULT,
				2, NULL);
}

static void vpci_bar_update(struct pci_device *pci, int bar, u64 addr,
			    bool active)
{
	struct virtio_pci *vp = pci->priv;

	if (bar != VPCI_BAR)
		return;
	vpci_del_kicks(vp);
	vp->bar_addr = addr;
	vp->bar_active = active;
	if (active)
		vpci_add_kicks(vp, addr);
}

/*
 * The kicks follow the BAR, so the eventfd is remembered and used by
 * every vpci_add_kicks() from now on.
 */
static int vpci_set_kick_fd(struct virtio_device *vdev, unsigned int q,
			    int fd)
{
	struct virtio_pci *vp = vdev->transport_priv;

	if (q >= vdev->ops->nr_queues)
		return -EINVAL;
	vp->kicks[q].fd = fd < 0 ? -1 : fd;
	if (vp->bar_active) {
		vpci_del_kicks(vp);
		vpci_add_kicks(vp, vp->bar_addr);
	}
	return 0;
}

/* ---- VIRTIO_PCI_CAP_PCI_CFG: BAR access through config space ---- */

static bool vpci_cfg_access(struct pci_device *pci, u32 reg, u8 *data,
			    u32 len, bool is_write)
{
	struct virtio_pci *vp = pci->priv;
	u32 win = vp->pci_cfg_cap + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data);
	u32 cap = vp->pci_cfg_cap, bar_off, bar_len;
	u8 bar;

	if (reg + len <= win || reg >= win + 4)
		return false;
	if (reg < win || reg + len > win + 4) {
		/* Straddles the window: ignore. */
		if (!is_write)
			memset(data, 0, len);
		return true;
	}
	bar = pci_cfg_read8(pci, cap + VIRTIO_PCI_CAP_BAR);
	bar_off = pci_cfg_read32(pci, cap + VIRTIO_PCI_CAP_OFFSET);
	bar_len = pci_cfg_read32(pci, cap + VIRTIO_PCI_CAP_LENGTH);
	/*
	 * 4.1.4.9.1: length 1, 2 or 4, offset aligned to it, inside the BAR
	 * (in 64 bits: an offset near 4 GiB must not wrap round to 0).
	 */
	if (bar != VPCI_BAR || (bar_len != 1 && bar_len != 2 && bar_len != 4) ||
	    bar_off % bar_len || (u64)bar_off + bar_len > VPCI_BAR_SIZE) {
		if (is_write)
			memcpy(pci->cfg + reg, data, len);
		else
			memcpy(data, pci->cfg + reg, len);
		return true;
	}
	if (is_write) {
		memcpy(pci->cfg + reg, data, len);
		vpci_bar_access(vp, bar_off, pci->cfg + win, bar_len, true);
	} else {
		vpci_bar_access(vp, bar_off, pci->cfg + win, bar_len, false);
		memcpy(data, pci->cfg + reg, len);
	}
	return true;
}

/* ---- capabilities ---- */

static int vpci_add_vndr_cap(struct virtio_pci *vp, u8 type, u32 off, u32 len,
			     u8 cap_len)
{
	struct pci_device *pci = &vp->pci;
	int c = pci_add_cap(pci, PCI_CAP_ID_VNDR, cap_len);

	if (c < 0)
		return c;
	pci_cfg_write8(pci, c + VIRTIO_PCI_CAP_LEN, cap_len);
	pci_cfg_write8(pci, c + VIRTIO_PCI_CAP_CFG_TYPE, type);
	pci_cfg_write8(pci, c + VIRTIO_PCI_CAP_BAR, VPCI_BAR);
	pci_cfg_write32(pci, c + VIRTIO_PCI_CAP_OFFSET, off);
	pci_cfg_write32(pci, c + VIRTIO_PCI_CAP_LENGTH, len);
	return c;
}

static int vpci_add_caps(struct virtio_pci *vp)
{
	struct pci_device *pci = &vp->pci;
	const struct virtio_device_ops *ops = vp->vdev->ops;
	int c;

	c = vpci_add_vndr_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON_OFF,
			      VPCI_COMMON_LEN, sizeof(struct virtio_pci_cap));
	if (c < 0)
		return c;
	c = vpci_add_vndr_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY_OFF,
			      ops->nr_queues * VPCI_NOTIFY_MULT,
			      sizeof(struct virtio_pci_notify_cap));
	if (c < 0)
		return c;
	pci_cfg_write32(pci, c + VIRTIO_PCI_NOTIFY_CAP_MULT, VPCI_NOTIFY_MULT);
	c = vpci_add_vndr_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR_OFF,
			      VPCI_ISR_LEN, sizeof(struct virtio_pci_cap));
	if (c < 0)
		return c;
	if (ops->config_size) {
		c = vpci_add_vndr_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG,
				      VPCI_DEVICE_OFF, ops->config_size,
				      sizeof(struct virtio_pci_cap));
		if (c < 0)
			return c;
	}
	c = vpci_add_vndr_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0,
			      sizeof(struct virtio_pci_cfg_cap));
	if (c < 0)
		return c;
	vp->pci_cfg_cap = c;
	/* bar, offset and length are the driver's to set. */
	pci_set_wmask(pci, c + VIRTIO_PCI_CAP_BAR, 1, 0xff);
	pci_set_wmask(pci, c + VIRTIO_PCI_CAP_OFFSET, 4, 0xffffffff);
	pci_set_wmask(pci, c + VIRTIO_PCI_CAP_LENGTH, 4, 0xffffffff);
	pci_cfg_write8(pci, c + VIRTIO_PCI_CAP_BAR, 0);
	return pci_msix_init(pci, ops->nr_queues + 1, VPCI_BAR,
			     VPCI_MSIX_TABLE_OFF, VPCI_MSIX_PBA_OFF);
}

static u32 vpci_class(u32 device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET:
		return 0x020000;	/* network, ethernet */
	case VIRTIO_ID_BLOCK:
		return 0x018000;	/* mass storage, other */
	case VIRTIO_ID_CONSOLE:
		return 0x078000;	/* communication, other */
	default:
		return 0xff0000;	/* unassigned class */
	}
}

/* ---- registration ---- */

static void virtio_pci_unregister(struct virtio_device *vdev)
{
	struct virtio_pci *vp = vdev->transport_priv;

	/* Deactivating the BAR removes the kicks. */
	pci_unregister_device(&vp->pci);
	vpci_del_kicks(vp);
	vdev->transport = NULL;
	vdev->transport_priv = NULL;
	pthread_mutex_destroy(&vp->isr_lock);
	free(vp);
}

/* Guest reset: the function's config space is reset already. */
static void vpci_pci_reset(struct pci_device *pci)
{
	struct virtio_pci *vp = pci->priv;
	u32 c = vp->pci_cfg_cap;

	pci_cfg_write8(pci, c + VIRTIO_PCI_CAP_BAR, 0);
	pci_cfg_write32(pci, c + VIRTIO_PCI_CAP_OFFSET, 0);
	pci_cfg_write32(pci, c + VIRTIO_PCI_CAP_LENGTH, 0);
	pci_cfg_write32(pci, c + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data), 0);
	vpci_reset_transport(vp);
}

static const struct pci_device_ops vpci_pci_ops = {
	.bar_update = vpci_bar_update,
	.cfg_access = vpci_cfg_access,
	.reset = vpci_pci_reset,
};

static int virtio_pci_attach(struct kvm *kvm, struct virtio_device *vdev)
{
	const struct virtio_device_ops *ops = vdev->ops;
	struct virtio_pci *vp;
	unsigned int q;
	int ret;

	if (ops->nr_queues > VIRTIO_MAX_QUEUES ||
	    ops->config_size > VPCI_DEVICE_MAX)
		return -EINVAL;
	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	vp->vdev = vdev;
	vp->kvm = kvm;
	pthread_mutex_init(&vp->isr_lock, NULL);
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	for (q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		vp->queue_vector[q] = VIRTIO_MSI_NO_VECTOR;
		virtio_kick_init(&vp->kicks[q], vdev, q);
	}

	pci_device_init(&vp->pci, VPCI_VENDOR, VPCI_DEVICE_BASE + ops->device_id,
			vpci_class(ops->device_id), VPCI_REVISION, VPCI_VENDOR,
			VPCI_SUBSYS_ID);
	vp->pci.ops = &vpci_pci_ops;
	vp->pci.priv = vp;
	vp->pci.name = ops->name;
	ret = pci_add_bar(&vp->pci, VPCI_BAR, VPCI_BAR_SIZE, true,
			  vpci_bar_access, vp);
	if (!ret)
		ret = vpci_add_caps(vp);
	if (ret < 0) {
		pr_err("virtio-%s: cannot build the PCI function: %s", ops->name,
		       strerror(-ret));
		goto err_free;
	}
	vdev->transport = &virtio_pci_transport;
	vdev->transport_priv = vp;
	ret = pci_register_device(kvm, &vp->pci);
	if (ret < 0)
		goto err_transport;
	pr_debug("virtio-%s: virtio-pci at 00:%02x.0", ops->name,
		 vp->pci.devfn >> 3);
	return 0;

err_transport:
	vdev->transport = NULL;
	vdev->transport_priv = NULL;
err_free:
	pthread_mutex_destroy(&vp->isr_lock);
	free(vp);
	return ret;
}

/*
 * The guest reset of the transport's registers; the function's config
 * space is the host bridge's to reset (vpci_pci_reset() above).
 */
static void vpci_reset(struct virtio_device *vdev)
{
	vpci_reset_transport(vdev->transport_priv);
}

const struct virtio_transport_ops virtio_pci_transport = {
	.signal_vq = vpci_signal_vq,
	.signal_config = vpci_signal_config,
	.set_kick_fd = vpci_set_kick_fd,
	.attach = virtio_pci_attach,
	.unregister = virtio_pci_unregister,
	.reset = vpci_reset,
	.bus = DEVICE_BUS_PCI,
};
