"""Files the tiler writes (IR, tile reports, memory maps, views): whole or not at all, and
never over one of its inputs.

Passes write through `write_output`. Outside a transaction (plain `xdsl-opt`, the Python
API) a file is written at once, atomically. Inside `output_transaction` (what `tiler-opt`,
`tiler-run` and `tiler-malloc` run in), writes are collected and land only when `commit`
is called at the very end, after everything succeeded; readers of input files register
them with `protect_input`, and an output that names one (or an output named twice) is a
`OutputFileError`, before anything is written.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from tiler_dialect.errors import TilerPassFailed


class OutputFileError(TilerPassFailed):
    """An output that cannot or must not be written (it names an input, its directory is
    missing, two outputs name one file); the message names the option and the path."""


def _default_mode() -> int:
    # what open() would give a new file: 0o666 less the process umask (read it by setting it)
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _target(path: str | Path) -> Path:
    """The file a write to `path` replaces: symlinks followed."""
    return Path(os.path.realpath(path))


def _same_file(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)  # hard links, bind mounts
    except OSError:
        return False


def _temporary_copy(path: str | Path, data: str | bytes) -> tuple[str, Path]:
    """`data` in a new temporary file beside `path`'s target, with the mode a plain write
    would give it (an existing file keeps its mode): (temporary path, target)."""
    target = _target(path)
    directory = target.parent
    if not directory.is_dir():
        raise OutputFileError(f"cannot write {path}: the directory {directory} does not exist")
    mode = target.stat().st_mode & 0o7777 if target.exists() else _default_mode()
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.")
    except OSError as e:  # name the user's path, not the temporary file
        raise OutputFileError(f"cannot write {path}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w", encoding=None if isinstance(data, bytes) else "utf-8") as f:
            f.write(data)
        os.chmod(tmp, mode)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise OutputFileError(f"cannot write {path}: {e.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp, target


def _is_special(target: Path) -> bool:
    """A FIFO, a device (/dev/null, /dev/stdout) or a socket: written into, never replaced."""
    try:
        return not stat.S_ISREG(target.stat().st_mode) and not target.is_dir()
    except OSError:
        return False  # does not exist yet


def _write_into(path: str | Path, target: Path, data: str | bytes) -> None:
    try:
        with open(target, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    except OSError as e:
        raise OutputFileError(f"cannot write {path}: {e.strerror}") from None


def write_atomically(path: str | Path, data: str | bytes) -> None:
    """Write `data` to `path` through a temporary file in the same directory, renamed over
    it at the end. The file gets the mode a plain write would give it (an existing file
    keeps its mode); a symlink is followed, so the file it points to is replaced. A FIFO
    or a device is written into instead (replacing /dev/null would be a disaster)."""
    target = _target(path)
    if _is_special(target):
        _write_into(path, target, data)
        return
    tmp, target = _temporary_copy(path, data)
    try:
        os.replace(tmp, target)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise OutputFileError(f"cannot write {path}: {e.strerror}") from None


@dataclass
class OutputTransaction:
    """Outputs collected during one command, written by `commit` only."""

    inputs: list[tuple[Path, str]] = field(default_factory=list)
    """Files read (their targets) and how the user named them."""
    pending: list[tuple[str, str | bytes, str]] = field(default_factory=list)
    """(path as given, data, the option that asked for it)."""

    def protect(self, path: str | Path) -> None:
        target = _target(path)
        if all(not _same_file(target, known) for known, _ in self.inputs):
            self.inputs.append((target, str(path)))

    def check(self, path: str | Path, what: str) -> None:
        """Refuse an output that names an input or another output, or whose directory is
        missing, before any work is spent on it."""
        target = _target(path)
        for known, given in self.inputs:
            if _same_file(target, known):
                raise OutputFileError(f"{what} {path} would overwrite the input {given}; choose another file")
        for other, _, other_what in self.pending:
            if not _is_special(target) and _same_file(target, _target(other)):  # /dev/null twice is fine
                raise OutputFileError(f"{what} {path} and {other_what} {other} name the same file")
        if target.is_dir():
            raise OutputFileError(f"{what} {path} is a directory")
        if not target.parent.is_dir():
            raise OutputFileError(f"cannot write {what} {path}: the directory {target.parent} does not exist")

    def add(self, path: str | Path, data: str | bytes, what: str) -> None:
        self.check(path, what)
        self.pending.append((str(path), data, what))

    def commit(self) -> None:
        """Write every pending output: all temporary copies first, then the renames, so a
        failure (a full disk) leaves none of them behind."""
        for path, _, what in self.pending:  # inputs registered after the output was asked for
            for known, given in self.inputs:
                if _same_file(_target(path), known):
                    raise OutputFileError(f"{what} {path} would overwrite the input {given}; choose another file")
        staged: list[tuple[str, Path, str]] = []
        special = [(path, data) for path, data, _ in self.pending if _is_special(_target(path))]
        try:
            for path, data, _ in self.pending:
                if not _is_special(_target(path)):
                    tmp, target = _temporary_copy(path, data)
                    staged.append((tmp, target, path))
            while staged:
                tmp, target, path = staged[0]
                os.replace(tmp, target)
                staged.pop(0)
        except OSError as e:
            raise OutputFileError(f"cannot write {staged[0][2] if staged else 'the outputs'}: {e.strerror}") from None
        finally:
            for tmp, _, _ in staged:
                Path(tmp).unlink(missing_ok=True)
        for path, data in special:  # last: a reader on a FIFO sees only finished runs
            _write_into(path, _target(path), data)
        self.pending.clear()


_CURRENT: ContextVar[OutputTransaction | None] = ContextVar("tiler_output_transaction", default=None)


@contextmanager
def output_transaction() -> Iterator[OutputTransaction]:
    """Collect the outputs written inside the block; the caller commits them on success."""
    transaction = OutputTransaction()
    token = _CURRENT.set(transaction)
    try:
        yield transaction
    finally:
        _CURRENT.reset(token)


def protect_input(path: str | Path) -> None:
    """Declare a file the command reads: no output of the current transaction may name it."""
    transaction = _CURRENT.get()
    if transaction is not None:
        transaction.protect(path)


def write_output(path: str | Path, data: str | bytes, what: str = "output") -> None:
    """Write an output file: at once outside a transaction, at its commit inside one."""
    transaction = _CURRENT.get()
    if transaction is None:
        write_atomically(path, data)
    else:
        transaction.add(path, data, what)
