"""Scratch arrays that a thread reuses from chunk to chunk and from call to call.

The fast convolution goes through its batch a few images at a time; a chunk's temporaries
(padded copies, unrolled windows, transformed tiles, products) take a few MB. Allocated
fresh for every chunk, each costs a page fault for every 4 KiB page it touches, the kernel
zeroing each page, until glibc's allocator has learnt to keep such blocks (its mmap
threshold rises only after a block that size has been freed): in a fresh process that took
more time than the arithmetic (3 of the 5 ms of a CS231n-size forward). Reused, they are
already mapped, and often still in cache.

Each thread has its own :class:`Scratch`, so layers called from several threads at once do
not share buffers. It grows to the largest chunk the thread has worked on (a few MB: see
``CHUNK_BYTES`` in :mod:`layers._fast.conv`) and is kept for the thread's life; an array larger
than ``KEEP_BYTES`` (a chunk of one image too large for ``CHUNK_BYTES``) is made fresh for
its caller and not kept, so one huge call does not pin its memory for good.
"""

import math
import threading

import numpy as np

KEEP_BYTES = 32 * 2 ** 20


class Scratch:
    """Named arrays, each reused whenever its name is asked for again."""

    def __init__(self):
        self._buffers = {}

    def take(self, name, shape, dtype):
        """A C-contiguous array of ``shape`` and ``dtype`` under ``name``, its contents
        undefined: the same memory each time (grown if more is asked for). An array taken
        earlier under the same name is overwritten by the next user. Beyond ``KEEP_BYTES``
        the array is new and not kept."""
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        if nbytes > KEEP_BYTES:
            return np.empty(shape, dtype)
        buffer = self._buffers.get(name)
        if buffer is None or buffer.size < nbytes:
            buffer = self._buffers[name] = np.empty(nbytes, np.uint8)
        return buffer[:nbytes].view(dtype).reshape(shape)

    def zeros(self, name, shape, dtype):
        """Like :meth:`take`, filled with zeros."""
        array = self.take(name, shape, dtype)
        array.fill(0)
        return array


_local = threading.local()


def thread_scratch():
    """The calling thread's :class:`Scratch`."""
    scratch = getattr(_local, "scratch", None)
    if scratch is None:
        scratch = _local.scratch = Scratch()
    return scratch
