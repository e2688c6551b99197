"""Output files are written whole, with the mode a plain write would give them."""

from __future__ import annotations

import os
import stat

import pytest

from tiler_passes.output_files import OutputFileError, write_atomically


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_file_gets_the_umask_mode_and_leaves_no_temporary(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "out.txt", "hello\n")
    finally:
        os.umask(old)
    assert (tmp_path / "out.txt").read_text() == "hello\n"
    assert mode(tmp_path / "out.txt") == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_existing_file_keeps_its_mode_and_a_symlink_is_followed(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_atomically(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"
    assert mode(real) == 0o640


def test_missing_directory_names_the_path_given(tmp_path):
    with pytest.raises(OutputFileError, match=r"cannot write .*nowhere/out.txt: the directory .*nowhere does not exist"):
        write_atomically(tmp_path / "nowhere" / "out.txt", "x")
