"""layers._fast.scratch: named arrays reused across calls, one set per thread."""

import threading

import numpy as np

from layers._fast import scratch as _scratch
from layers._fast.scratch import Scratch, thread_scratch


def test_a_name_gives_back_the_same_memory_and_grows_when_asked_for_more():
    scratch = Scratch()
    a = scratch.take("a", (4, 5), np.float64)
    assert a.shape == (4, 5) and a.dtype == np.float64 and a.flags.c_contiguous
    b = scratch.take("a", (2, 3), np.float32)  # smaller, another dtype: the same memory
    assert b.shape == (2, 3) and b.dtype == np.float32 and np.shares_memory(a, b)
    c = scratch.take("a", (100, 100), np.float64)  # larger: new memory
    assert c.shape == (100, 100) and not np.shares_memory(a, c)
    assert np.shares_memory(c, scratch.take("a", (100, 100), np.float64))
    assert not np.shares_memory(c, scratch.take("b", (10,), np.float64))


def test_an_array_beyond_keep_bytes_is_new_each_time(monkeypatch):
    monkeypatch.setattr(_scratch, "KEEP_BYTES", 800)
    scratch = Scratch()
    big = scratch.take("a", (101,), np.float64)  # 808 bytes
    assert big.shape == (101,) and not np.shares_memory(big, scratch.take("a", (101,), np.float64))
    small = scratch.take("a", (100,), np.float64)  # 800 bytes: kept
    assert np.shares_memory(small, scratch.take("a", (100,), np.float64))


def test_zeros_clears_what_was_there():
    scratch = Scratch()
    scratch.take("a", (3, 3), np.float64)[...] = 7
    np.testing.assert_array_equal(scratch.zeros("a", (3, 3), np.float64), 0)


def test_each_thread_has_its_own():
    mine = thread_scratch()
    assert thread_scratch() is mine
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(thread_scratch()))
    thread.start()
    thread.join()
    assert theirs[0] is not mine
