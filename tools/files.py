"""Writing files whole: an error midway leaves no partial file behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _default_mode() -> int:
    # what open() would give a new file: 0o666 less the process umask (read it by setting it)
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: str | Path, data: str | bytes) -> None:
    """Write `data` to `path` through a temporary file in the same directory, renamed over
    it at the end. The file gets the mode a plain write would give it (an existing file
    keeps its mode); a symlink is followed, so the file it points to is replaced."""
    target = Path(os.path.realpath(path))
    directory = target.parent
    if not directory.is_dir():
        raise OSError(f"cannot write {path}: the directory {directory} does not exist")
    mode = target.stat().st_mode & 0o7777 if target.exists() else _default_mode()
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.")
    except OSError as e:  # name the user's path, not the temporary file
        raise OSError(f"cannot write {path}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(f"cannot write {path}: {e.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
