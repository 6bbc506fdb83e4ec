"""Safe output: atomic file writes, paths that stay inside the output folder, one run per output.

* A file either has its complete new content or is not there at all: it is written under a hidden
  temporary name, unique to the process and the call, in the same folder, then renamed. Renaming
  over a symbolic link replaces the link, never the file it points to.
* :func:`inside` refuses a path whose folder, symbolic links resolved, leaves the output folder.
* :func:`locked` holds an exclusive ``fcntl.flock`` lock on a lock file for the whole run: a second
  run on the same output is refused in one line. The kernel releases the lock when the process
  ends, even by ``kill -9``; the file left behind is reused by the next run.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import shutil
from pathlib import Path

from .errors import OutputError

TMP_SUFFIX = ".part"
LOCK_FILE = ".fat.lock"


def temp_path(path: Path) -> Path:
    """A fresh temporary name for ``path`` (hidden, same folder so that rename is atomic, unique to
    this process and call so that two writers never share it)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TMP_SUFFIX}")


def why(e: OSError) -> str:
    """The reason of an OS error in a few words."""
    if e.errno == errno.ENOSPC:
        return "the disk is full"
    if e.errno == errno.EROFS:
        return "the file system is read-only"
    return e.strerror or str(e)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        _write(tmp, data)
        os.replace(tmp, path)
    except OSError as e:
        _unlink_quietly(tmp)
        raise OutputError(f"{path}: cannot write: {why(e)}") from e


def _create(path: Path) -> int:
    """Open a new file for writing; fails if anything, a symbolic link included, has that name."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)


def _write(path: Path, data: bytes) -> None:
    with os.fdopen(_create(path), "wb") as f:
        f.write(data)


def reserve_temp(path: str | os.PathLike) -> Path:
    """Create an empty temporary file for ``path`` (for writers that open files by name, such as
    HDF5); the caller renames it with :func:`commit` or removes it with :func:`discard`."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        os.close(_create(tmp))
    except OSError as e:
        raise OutputError(f"{path}: cannot write: {why(e)}") from e
    return tmp


def commit(tmp: Path, path: Path) -> None:
    """Rename the finished temporary file ``tmp`` to ``path``."""
    try:
        os.replace(tmp, path)
    except OSError as e:
        _unlink_quietly(tmp)
        raise OutputError(f"{path}: cannot write: {why(e)}") from e


@contextlib.contextmanager
def writing(path: str | os.PathLike):
    """A fresh temporary file for ``path`` (:func:`reserve_temp`) for writers that open files by
    name: renamed to ``path`` when the block ends, removed if it fails."""
    path = Path(path)
    tmp = reserve_temp(path)
    try:
        yield tmp
    except BaseException:
        discard(tmp)
        raise
    commit(tmp, path)


def temp_folder(path: str | os.PathLike) -> Path:
    """Create a fresh, empty temporary folder for the folder ``path`` (hidden, beside it, unique to
    this process and call); the caller moves it in place with :func:`commit_folder` or removes it
    with :func:`discard`."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        tmp.mkdir()  # fails if anything, a symbolic link included, has that name
    except OSError as e:
        raise OutputError(f"{path}: cannot create the folder: {why(e)}") from None
    return tmp


def commit_folder(tmp: Path, path: Path) -> bool:
    """Put the finished temporary folder ``tmp`` in the place of ``path`` by renames, so that readers
    see the old folder or the new one, whole. An existing ``path`` is first moved aside and removed.
    Returns False, leaving ``tmp`` to the caller, when another process put a folder there meanwhile."""
    path = Path(path)
    if path.is_symlink() or path.exists():
        old = temp_path(path)
        try:
            os.replace(path, old)
        except OSError:  # moved or replaced meanwhile by another process
            pass
        discard(old)
    try:
        os.replace(tmp, path)
    except OSError:
        return False
    return True


def discard(tmp: Path) -> None:
    """Remove a temporary file or folder, ignoring errors."""
    if Path(tmp).is_dir() and not Path(tmp).is_symlink():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        _unlink_quietly(Path(tmp))


def _unlink_quietly(p: Path) -> None:
    try:
        p.unlink(missing_ok=True)
    except OSError:
        pass


def remove_temporaries(root: Path) -> int:
    """Delete the temporary files an interrupted run left under ``root``; returns how many."""
    n = 0
    for p in Path(root).rglob(f".*{TMP_SUFFIX}"):
        if p.is_file() or p.is_symlink():
            p.unlink(missing_ok=True)
            n += 1
    return n


def remove_stale_temporaries(path: str | os.PathLike) -> None:
    """Delete the temporaries of ``path`` that killed writers left beside it. Only call it while
    holding the lock of ``path``: no live writer has one then."""
    path = Path(path)
    mine = re.compile(rf"^\.{re.escape(path.name)}\.\d+\.[0-9a-f]{{8}}{re.escape(TMP_SUFFIX)}$")
    for p in path.parent.glob(f".*{TMP_SUFFIX}"):
        if mine.match(p.name):
            discard(p)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ASCII text (no newline translation) atomically."""
    write_bytes_atomic(path, text.encode("ascii"))


# ------------------------------------------------------------------ staying inside the output
def inside(root: str | os.PathLike, path: str | os.PathLike) -> Path:
    """``path`` (absolute, or relative to ``root``) if writing it stays inside ``root``: its folder,
    symbolic links resolved, is the real ``root`` or below it. The file itself may be a link (an
    atomic write replaces the link, not its target). Raises OutputError otherwise."""
    root = Path(root)
    path = Path(path) if Path(path).is_absolute() else root / path
    if not within(path.parent, root):
        link = _first_link(root, path.parent)
        raise OutputError(f"{link or path}: leads outside the output folder {root} (a symbolic link); "
                          "refusing to write through it")
    return path


def _first_link(root: Path, folder: Path) -> Path | None:
    try:
        rel = Path(os.path.relpath(folder, root))
    except ValueError:
        return None
    p = root
    for part in rel.parts:
        p = p / part
        if p.is_symlink():
            return p
    return None


def make_folder(root: str | os.PathLike, rel: str | os.PathLike) -> Path:
    """Create ``root/rel`` and the folders above it, refusing to go through a symbolic link that
    leads out of ``root``. Returns the folder."""
    root = Path(root)
    path = root
    for part in Path(rel).parts:
        if part in ("..", "/"):
            raise OutputError(f"{root / rel}: not a path inside the output folder {root}")
        path = path / part
        inside(root, path / "x")
        try:
            path.mkdir(exist_ok=True)
        except FileExistsError:
            raise OutputError(f"{path}: exists and is not a folder") from None
        except OSError as e:
            raise OutputError(f"{path}: cannot create the folder: {why(e)}") from None
    return path


# ------------------------------------------------------------------ one run per output
@contextlib.contextmanager
def locked(lock: str | os.PathLike, what: str | os.PathLike, wait: bool = False):
    """Hold an exclusive lock on the file ``lock`` (created if needed) while the block runs; if
    another process holds it, raise OutputError saying ``what`` is in use (``wait``: wait for it
    instead). The lock file is removed at the end; one left by a killed run is simply reused."""
    lock = Path(lock)
    for _ in range(20):
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise OutputError(f"{lock}: is a symbolic link; refusing to use it as the lock file") from None
            raise OutputError(f"{lock}: cannot create the lock file: {why(e)}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OutputError(f"{what}: in use by another fat run (locked by {lock.name}); wait for it to "
                                  "finish or choose another output") from None
            raise OutputError(f"{lock}: cannot lock: {why(e)}") from None
        try:  # the file may have been removed by the run that held it: lock the file that is there
            same = os.stat(lock, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    else:
        raise OutputError(f"{lock}: cannot lock: the lock file keeps changing")
    try:
        yield
    finally:
        _unlink_quietly(lock)
        os.close(fd)


@contextlib.contextmanager
def locked_folder(out: Path):
    """Create the output folder ``out`` if needed and hold its lock (:data:`LOCK_FILE`) while the
    block runs; a folder this call created is removed again, when still empty, if the block fails."""
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{out}: cannot create the output folder: {why(e)}") from None
    try:
        with locked(out / LOCK_FILE, out):  # one run per folder; released even by kill -9
            yield
    except BaseException:
        if created:
            try:
                out.rmdir()  # only if still empty: nothing of this run stays
            except OSError:
                pass
        raise


# ------------------------------------------------------------------ export targets
def check_target(path: str | os.PathLike, reading: str | os.PathLike, overwrite: bool) -> None:
    """Refuse to write the file ``path`` when it lies inside the dataset ``reading`` (a folder or a
    file) or exists and ``overwrite`` is not given."""
    path = Path(path)
    if within(path, reading):
        raise OutputError(f"{path}: inside the dataset {reading} being read; choose an output outside it")
    if path.is_symlink() or path.exists():
        if path.is_dir() and not path.is_symlink():
            raise OutputError(f"{path}: is a folder")
        if not overwrite:
            raise OutputError(f"{path}: exists; use --overwrite to replace it")


def within(path: str | os.PathLike, reading: str | os.PathLike) -> bool:
    """Whether ``path`` (symbolic links resolved) is ``reading`` or lies below it."""
    real, src = os.path.realpath(path), os.path.realpath(reading)
    return real == src or real.startswith(src.rstrip(os.sep) + os.sep)
