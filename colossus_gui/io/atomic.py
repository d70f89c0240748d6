"""Atomic writes: a temp file in the target folder, fsync, then os.replace. Nothing half-written survives.

Output *sets* (a run's three files, a snapshot bundle) are written into a temporary sibling folder and swapped
in whole (``swap_dir_into_place``: one atomic exchange where the OS has it), so a reader or a crash sees the
complete old set or the complete new set. Temporaries carry the writer's process id; ``clean_stale_temps``
removes those whose writer is gone (killed), and only ours (``.<name>.<pid>-....tmp``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_file_beside(path: Path, suffix: str = ".tmp") -> tuple[int, str]:
    """A temp file in ``path``'s folder (same filesystem, so os.replace is atomic) with the permissions an
    ordinary new file gets (mkstemp's 0600 would follow the data into the user's folder)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=suffix, dir=path.parent)
    os.fchmod(fd, 0o666 & ~_umask())
    return fd, tmp


def temp_dir_beside(path: Path) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp", dir=path.parent))
    tmp.chmod(0o777 & ~_umask())
    return tmp


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = None
                ) -> Iterator[IO]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_file_beside(path)
    try:
        kwargs = {} if "b" in mode else {"encoding": encoding, "newline": newline}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_open(path, "w") as fh:
        fh.write(text)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's live process
    return True


def clean_stale_temps(path: str | Path) -> list[Path]:
    """Remove temporaries beside ``path`` left by a writer that was killed (``.<name>.<pid>-*.tmp`` and
    ``.<name>.<pid>-*.old``, pid no longer running). Never touches anything else. Returns what was removed."""
    path = Path(path)
    pat = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)-[^/]*\.(tmp|old|png)$")
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for e in entries:
        m = pat.match(e.name)
        if m is None or _pid_alive(int(m[1])):
            continue
        p = Path(e.path)
        with contextlib.suppress(OSError):
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p)
    return removed


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE). False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def swap_dir_into_place(tmp: Path, out: Path) -> None:
    """Put the finished folder ``tmp`` at ``out`` (a sibling), replacing what ``out`` held: one atomic
    exchange on Linux (the old set stays whole until the new one is in place), else two renames."""
    for f in tmp.iterdir():
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    fsync_dir(tmp)
    if not out.exists() and not out.is_symlink():
        os.replace(tmp, out)
    elif _exchange(tmp, out):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old set
    else:
        old = out.with_name(f".{out.name}.{os.getpid()}-swap.old")
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    fsync_dir(out.parent)


def make_parents(path: Path) -> list[Path]:
    """Create ``path``'s missing parent folders; returns those created (to remove them again on failure)."""
    made = []
    for p in reversed(path.parents):
        if not p.exists():
            p.mkdir()
            made.append(p)
    return made


def remove_empty(folders: list[Path]) -> None:
    for p in reversed(folders):
        with contextlib.suppress(OSError):
            p.rmdir()
