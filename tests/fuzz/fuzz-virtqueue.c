// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for virtio/virtqueue.c: the input is a tiny guest
 * whose RAM holds the rings, the descriptors, the indirect tables and the
 * buffers, all of them chosen by the fuzzer. We run the device side over
 * it as a device would and let ASan/UBSan catch any access that
 * guest_ptr() should have refused.
 *
 * Input: byte 0 = log2(queue size) (mod 11), byte 1 = flags (bit 0
 * EVENT_IDX, bit 1 INDIRECT_DESC), the rest = guest RAM from its start
 * (zero-padded to FUZZ_RAM). The rings sit at the start of RAM: the
 * descriptor table, then the avail ring, then the used ring (4-aligned).
 * tests/fuzz/gen-corpus.py writes seeds in this format.
 */
#include <stdlib.h>
#include <string.h>

#include "lkvm/iov.h"
#include "lkvm/virtio.h"

#define FUZZ_GPA	0x10000ULL
#define FUZZ_RAM	0x8000		/* room for a 1024-entry ring */

static struct virtq_elem elem;

/* Touch every byte of the chain, as a device would. */
static u32 consume(const struct virtq_elem *e)
{
	static u8 scratch[4096];
	unsigned int i;
	size_t off;

	for (i = 0; i < e->out_num; i++)
		for (off = 0; off < e->iov[i].iov_len; off += sizeof(scratch))
			iov_to_buf(&e->iov[i], 1, off, scratch, sizeof(scratch));
	memset(scratch, 0xa5, sizeof(scratch));
	for (i = e->out_num; i < e->out_num + e->in_num; i++)
		for (off = 0; off < e->iov[i].iov_len; off += sizeof(scratch))
			iov_from_buf(&e->iov[i], 1, off, scratch, sizeof(scratch));
	return (u32)e->in_len;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct guest_mem mem = { .gpa_start = FUZZ_GPA, .size = FUZZ_RAM };
	struct virtqueue vq;
	enum virtq_pop_result r;
	unsigned int rounds = 0;
	u16 qsize;

	if (size < 2)
		return 0;
	/* Exactly RAM-sized, so that ASan sees any overrun. */
	mem.host = calloc(1, FUZZ_RAM);
	if (!mem.host)
		return 0;
	memcpy(mem.host, data + 2, MIN(size - 2, (size_t)FUZZ_RAM));
	qsize = 1 << (data[0] % 11);

	virtq_reset(&vq);
	vq.size = qsize;
	vq.desc_gpa = FUZZ_GPA;
	vq.avail_gpa = FUZZ_GPA + 16 * (u64)qsize;
	vq.used_gpa = ALIGN_UP(vq.avail_gpa + 6 + 2 * (u64)qsize, 4);
	vq.event_idx = data[1] & 1;
	vq.indirect = data[1] & 2;
	if (virtq_start(&vq, &mem) < 0)
		goto out;

	/* The device loop from virtio.h, bounded: the ring cannot refill. */
	do {
		virtq_enable_notify(&vq, false);
		while ((r = virtq_pop(&vq, &elem)) == VIRTQ_GOT) {
			virtq_push(&vq, elem.head, consume(&elem));
			virtq_should_notify(&vq);
		}
	} while (r == VIRTQ_EMPTY && virtq_enable_notify(&vq, true) &&
		 ++rounds < 4);
	virtq_should_notify(&vq);
out:
	free(mem.host);
	return 0;
}
