/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_LAYOUT_H
#define LKVM_LAYOUT_H

#include "lkvm/util.h"

/*
 * The guest physical memory map. Every address the FDT, the devices and
 * the PCI host bridge use comes from here (see also docs/memory-map.md).
 *
 *   0x0000_0000 - 0x0001_0000   PCI I/O window (64 KiB)
 *   0x0100_0000 - 0x0100_1000   16550A UART (ttyS0)
 *   0x0101_0000 - 0x0101_1000   PL031 RTC
 *   0x0102_0000 - 0x0103_0000   stolen-time records, 64 bytes per vCPU
 *   0x0200_0000 - 0x0300_0000   virtio-mmio devices, 4 KiB each
 *   0x2800_0000 - 0x2801_0000   GIC distributor
 *   0x2802_0000 - 0x2804_0000   GICv2 CPU interface
 *   0x2808_0000 - 0x280a_0000   GICv3 ITS
 *   0x2810_0000 - 0x3000_0000   GICv3 redistributors (128 KiB per vCPU)
 *   0x3000_0000 - 0x4000_0000   PCI ECAM configuration space (256 buses)
 *   0x4000_0000 - 0x8000_0000   PCI 32-bit memory window
 *   0x8000_0000 - ...           RAM (kvmtool's arm64 layout)
 *
 * Every region is 64 KiB aligned so that hosts and guests with 4, 16
 * and 64 KiB pages all see page-aligned devices.
 */
#define LKVM_PCI_IO_BASE	0x00000000ULL
#define LKVM_PCI_IO_SIZE	0x00010000ULL
#define LKVM_UART_BASE		0x01000000ULL
#define LKVM_UART_SIZE		0x00001000ULL
#define LKVM_RTC_BASE		0x01010000ULL
#define LKVM_RTC_SIZE		0x00001000ULL
/*
 * Stolen time (pvtime): memory, but outside the FDT's /memory so the
 * guest never allocates it; Linux memremap()s it as a normal cacheable
 * mapping, as it does kvmtool's.
 */
#define LKVM_PVTIME_BASE	0x01020000ULL
#define LKVM_PVTIME_SIZE	0x00010000ULL
#define LKVM_PVTIME_STRIDE	64
#define LKVM_VIRTIO_MMIO_BASE	0x02000000ULL
#define LKVM_VIRTIO_MMIO_SIZE	0x01000000ULL
#define LKVM_VIRTIO_MMIO_SLOT	0x00001000ULL
#define LKVM_GIC_DIST_BASE	0x28000000ULL
#define LKVM_GIC_DIST_SIZE	0x00010000ULL
#define LKVM_GIC_CPU_BASE	0x28020000ULL
#define LKVM_GIC_CPU_SIZE	0x00020000ULL
#define LKVM_GIC_ITS_BASE	0x28080000ULL
#define LKVM_GIC_ITS_SIZE	0x00020000ULL
#define LKVM_GIC_REDIST_BASE	0x28100000ULL
#define LKVM_GIC_REDIST_SIZE	0x07f00000ULL
#define LKVM_GIC_REDIST_STRIDE	0x00020000ULL
#define LKVM_PCI_CFG_BASE	0x30000000ULL
#define LKVM_PCI_CFG_SIZE	0x10000000ULL
#define LKVM_PCI_MMIO_BASE	0x40000000ULL
#define LKVM_PCI_MMIO_SIZE	0x40000000ULL
#define LKVM_RAM_BASE		0x80000000ULL

/* The most vCPUs the redistributor region has room for. */
#define LKVM_MAX_CPUS_GICV3	(LKVM_GIC_REDIST_SIZE / LKVM_GIC_REDIST_STRIDE)
/* GICv2 supports at most 8 CPUs. */
#define LKVM_MAX_CPUS_GICV2	8

/* SPIs: INTIDs 32 and up. The first few go to fixed devices. */
#define LKVM_SPI_BASE		32
#define LKVM_NR_IRQS		256	/* total INTIDs given to the vGIC */
#define LKVM_IRQ_UART		0	/* SPI numbers (INTID - 32) */
#define LKVM_IRQ_RTC		1
#define LKVM_IRQ_FIRST_DYNAMIC	4

/* Architected timer PPIs (INTIDs 16 + n). */
#define LKVM_TIMER_PPI_SEC	13
#define LKVM_TIMER_PPI_PHYS	14
#define LKVM_TIMER_PPI_VIRT	11
#define LKVM_TIMER_PPI_HYP	10
/* --pmu: the PMUv3 overflow interrupt (kvmtool's PPI too). */
#define LKVM_PMU_PPI		7

#define LKVM_DEFAULT_RAM_MB	256
#define LKVM_DEFAULT_RAM_MB_BYTES (LKVM_DEFAULT_RAM_MB * SZ_1M)
#define LKVM_MIN_RAM_BYTES	(16 * SZ_1M)
#define LKVM_FDT_MAX_SIZE	0x10000ULL	/* our FDTs are a few KiB */

#endif
