#!/usr/bin/env python3
# Seeds for tests/fuzz/fuzz-virtqueue.c (see its header for the format):
# python3 tests/fuzz/gen-corpus.py tests/fuzz/corpus/virtqueue
import os
import struct
import sys

GPA = 0x10000
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4


class Guest:
    def __init__(self, qsize, flags):
        self.qsize, self.flags = qsize, flags
        self.ram = bytearray(0x8000)
        self.avail = 16 * qsize
        self.used = (self.avail + 6 + 2 * qsize + 3) & ~3
        self.nav = 0
        self.data = (self.used + 6 + 8 * qsize + 0xfff) & ~0xfff

    def desc(self, i, addr, length, flags, nxt=0, table=None):
        off = (table - GPA) if table is not None else 0
        struct.pack_into('<QIHH', self.ram, off + 16 * i, addr, length,
                         flags, nxt)

    def buf(self, length):
        gpa = GPA + self.data
        self.data += (length + 15) & ~15
        return gpa

    def publish(self, head):
        struct.pack_into('<H', self.ram, self.avail + 4 + 2 * (self.nav % self.qsize), head)
        self.nav += 1
        struct.pack_into('<H', self.ram, self.avail + 2, self.nav)

    def used_event(self, v):
        struct.pack_into('<H', self.ram, self.avail + 4 + 2 * self.qsize, v)

    def bytes(self):
        return bytes([self.qsize.bit_length() - 1, self.flags]) + bytes(self.ram)


def seeds():
    g = Guest(4, 0)                      # out, out, in
    g.desc(0, g.buf(8), 8, F_NEXT, 1)
    g.desc(1, g.buf(16), 16, F_NEXT, 2)
    g.desc(2, g.buf(32), 32, F_WRITE)
    g.publish(0)
    g.desc(3, g.buf(64), 64, F_WRITE)
    g.publish(3)
    yield 'chain', g

    g = Guest(8, 3)                      # indirect, event idx
    t = g.buf(48)
    g.desc(0, g.buf(8), 8, F_NEXT, 2, table=t)
    g.desc(2, g.buf(8), 8, F_NEXT, 1, table=t)
    g.desc(1, g.buf(128), 128, F_WRITE, table=t)
    g.desc(5, t, 48, F_INDIRECT)
    g.publish(5)
    g.used_event(0)
    yield 'indirect', g

    g = Guest(4, 0)                      # loop
    b = g.buf(4)
    g.desc(0, b, 4, F_NEXT, 1)
    g.desc(1, b, 4, F_NEXT, 0)
    g.publish(0)
    yield 'loop', g

    g = Guest(16, 2)                     # zero-length, out-after-in
    b = g.buf(4)
    g.desc(0, 0, 0, F_NEXT, 1)
    g.desc(1, b, 4, F_WRITE | F_NEXT, 2)
    g.desc(2, b, 4, 0)
    g.publish(0)
    yield 'order', g

    g = Guest(1024, 3)                   # big ring, many heads
    for i in range(8):
        g.desc(i, g.buf(16), 16, F_WRITE)
        g.publish(i)
    yield 'big', g


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else 'tests/fuzz/corpus/virtqueue'
    os.makedirs(out, exist_ok=True)
    for name, g in seeds():
        data = g.bytes().rstrip(b'\0')
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
