"""solver._files.replaced: the new file whole or the old one, created like any other file."""

import os
import stat

import pytest

from solver._files import PARTIAL_MARK, replaced


@pytest.mark.parametrize("fsync", [False, True])
def test_the_new_content_replaces_the_old_with_the_umasks_mode(tmp_path, fsync):
    path = tmp_path / "results.csv"
    path.write_bytes(b"old")
    umask = os.umask(0o027)
    try:
        with replaced(path, fsync=fsync) as file:
            file.write(b"new")
            assert path.read_bytes() == b"old"  # nothing shows until the block ends
    finally:
        os.umask(umask)
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # 0666 less the umask, not mkstemp's 0600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
def test_an_error_keeps_the_old_file_and_removes_the_new_one(tmp_path, error):
    path = tmp_path / "last.npz"
    path.write_bytes(b"old")
    with pytest.raises(error):
        with replaced(path) as file:
            file.write(b"half of the ne")
            assert any(PARTIAL_MARK in p.name for p in tmp_path.iterdir())
            raise error
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.npz"]
