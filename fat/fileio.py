"""Safe output: atomic file writes, paths that stay inside the output folder, one run per output.

* A file either has its complete new content or is not there at all: it is written under a hidden
  temporary name, unique to the process and the call, in the same folder, then renamed. Renaming
  over a symbolic link replaces the link, never the file it points to.
* No symbolic link inside an output folder is written, deleted or read through: :func:`refuse_links`
  names the first one found (at any depth, links not followed) before a run writes or deletes
  anything; :func:`open_folder`, :func:`make_folder`, :func:`write_bytes_atomic` with ``root`` and
  :func:`unlink_in` reach a file below the output folder one folder at a time, each opened with
  ``O_NOFOLLOW``, so a link put in place while a run goes on is refused too, never followed. The
  output folder itself is the one the user named and may be a link.
* :func:`inside` refuses a path whose folder, symbolic links resolved, leaves the output folder.
* :func:`locked` holds an exclusive ``fcntl.flock`` lock on a lock file for the whole run: a second
  run on the same output is refused in one line. The kernel releases the lock when the process
  ends, even by ``kill -9``; the file left behind is reused by the next run.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import secrets
import shutil
import stat
from pathlib import Path

from .errors import ConfigError, OutputError

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


def stat_input(path: Path, what: str) -> os.stat_result:
    """The ``os.stat`` of an input file (its size and modification time key the probes' caches); a
    one-line ConfigError naming ``path`` and ``what`` it is when it cannot be read or is no file."""
    try:
        st = path.stat()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the {what}: {why(e)}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"{path}: cannot read the {what}: not a file")
    return st


def write_bytes_atomic(path: str | os.PathLike, data: bytes, root: str | os.PathLike | None = None) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``. With ``root``
    (the output folder ``path`` lies below), the folders between them are opened without following
    a symbolic link (:func:`open_folder`): a link among them is refused, never written through."""
    path = Path(path)
    if root is not None:
        with open_folder(root, below(root, path).parent) as fd:
            write_in(fd, path, data)
        return
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


def _write_in(folder: int, name: str, data: bytes) -> None:
    """Write a new file ``name`` in the open folder ``folder`` (as :func:`_create`: never through a link)."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=folder)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def write_files(folder: str | os.PathLike, files: dict, root: str | os.PathLike | None = None) -> dict[Path, str]:
    """Write each file of ``files`` (path in ``folder`` -> bytes) atomically; returns their sha256 by
    path. ``root``: the output folder ``folder`` lies below; the folders between them are then opened
    without following a symbolic link (:func:`open_folder`), so nothing is written through one."""
    written = {}
    if root is None:
        for p, data in files.items():
            write_bytes_atomic(p, data)
            written[Path(p)] = hashlib.sha256(data).hexdigest()
        return written
    with open_folder(root, below(root, folder)) as fd:
        for p, data in files.items():
            write_in(fd, p, data)
            written[Path(p)] = hashlib.sha256(data).hexdigest()
    return written


def write_in(folder: int, path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` atomically to the file named ``path``'s name in the open folder ``folder`` (an
    :func:`open_folder` descriptor; ``path`` is what error messages name): a temporary file in that
    folder, renamed over the name. A symbolic link of that name is replaced, not followed."""
    path = Path(path)
    tmp = temp_path(path).name
    try:
        _write_in(folder, tmp, data)
        os.replace(tmp, path.name, src_dir_fd=folder, dst_dir_fd=folder)
    except OSError as e:
        try:
            os.unlink(tmp, dir_fd=folder)
        except OSError:
            pass
        raise OutputError(f"{path}: cannot write: {why(e)}") from e


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
    """Delete the temporary files an interrupted run left under ``root`` (folders reached without
    following a symbolic link; a temporary that is a link is removed, not followed); returns how many."""
    n = 0
    for fd, _, entries in walk(root):
        for e in entries:
            if e.name.startswith(".") and e.name.endswith(TMP_SUFFIX) and not e.is_dir(follow_symlinks=False):
                try:
                    os.unlink(e.name, dir_fd=fd)
                    n += 1
                except FileNotFoundError:
                    pass
    return n


def remove_stale_temporaries(path: str | os.PathLike) -> None:
    """Delete the temporaries of ``path`` that killed writers left beside it. Only call it while
    holding the lock of ``path``: no live writer has one then."""
    path = Path(path)
    mine = re.compile(rf"^\.{re.escape(path.name)}\.\d+\.[0-9a-f]{{8}}{re.escape(TMP_SUFFIX)}$")
    for p in path.parent.glob(f".*{TMP_SUFFIX}"):
        if mine.match(p.name):
            discard(p)


def write_text_atomic(path: str | os.PathLike, text: str, root: str | os.PathLike | None = None) -> None:
    """Write ASCII text (no newline translation) atomically (``root``: as :func:`write_bytes_atomic`)."""
    write_bytes_atomic(path, text.encode("ascii"), root)


# ------------------------------------------------------------------ staying inside the output
def inside(root: str | os.PathLike, path: str | os.PathLike) -> Path:
    """``path`` (absolute, or relative to ``root``: not ``root / name`` when ``root`` is relative) if
    writing it stays inside ``root``: its folder, symbolic links resolved, is the real ``root`` or
    below it. The file itself may be a link (an atomic write replaces the link, not its target).
    Raises OutputError otherwise. A check made once; :func:`open_folder` holds while writing."""
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
    """Create ``root/rel`` (``rel`` relative to ``root``) and the folders above it, refusing a
    symbolic link among them (:func:`open_folder`). Returns the folder."""
    with open_folder(root, rel, create=True):
        pass
    return Path(root) / rel


# ------------------------------------------------------------------ no symbolic link in the output
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def link_error(link: str | os.PathLike) -> OutputError:
    """The one-line refusal of the symbolic link ``link`` found inside an output folder."""
    try:
        to = f" (to {os.readlink(link)})"
    except OSError:
        to = ""
    return OutputError(f"{link}: is a symbolic link{to}; refusing to write, delete or read through it "
                       "(replace it by a real folder or file, or remove it)")


def below(root: str | os.PathLike, path: str | os.PathLike) -> Path:
    """``path`` (``root / rel``, or an absolute path) relative to ``root``; refuses ``..`` and paths
    elsewhere."""
    root, path = Path(root), Path(path)
    try:
        rel = path.relative_to(root)
    except ValueError:
        try:
            rel = Path(os.path.abspath(path)).relative_to(os.path.abspath(root))
        except ValueError:
            raise OutputError(f"{path}: not a path inside the output folder {root}") from None
    if ".." in rel.parts:
        raise OutputError(f"{path}: not a path inside the output folder {root}")
    return rel


@contextlib.contextmanager
def open_folder(root: str | os.PathLike, rel: str | os.PathLike = "", create: bool = False, missing_ok: bool = False):
    """A descriptor of the folder ``root/rel`` (``rel`` relative to ``root``), reached one folder at
    a time from ``root``, each opened with ``O_NOFOLLOW``: a symbolic link among them (put there
    before or during the run) raises :func:`link_error` and is never followed. ``root`` itself is
    followed (the user named it). ``create``: missing folders are made; ``missing_ok``: a folder
    that is missing or not a folder gives None instead of an error. Closed when the block ends."""
    fd = _open_folder(Path(root), Path(rel), create, missing_ok)
    try:
        yield fd
    finally:
        if fd is not None:
            os.close(fd)


def _open_folder(root: Path, rel: Path, create: bool, missing_ok: bool) -> int | None:
    if rel.is_absolute() or ".." in rel.parts:
        raise OutputError(f"{root / rel}: not a path inside the output folder {root}")
    try:
        fd = os.open(root, _FOLDER)
    except OSError as e:
        if missing_ok and e.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise OutputError(f"{root}: cannot open the output folder: {why(e)}") from None
    path = root
    try:
        for part in rel.parts:
            path = path / part
            if create:
                try:
                    os.mkdir(part, dir_fd=fd)
                except FileExistsError:
                    pass
                except OSError as e:
                    raise OutputError(f"{path}: cannot create the folder: {why(e)}") from None
            try:
                sub = os.open(part, _FOLDER | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(path):
                    raise link_error(path) from None
                if missing_ok and e.errno in (errno.ENOENT, errno.ENOTDIR):
                    os.close(fd)
                    return None
                if e.errno == errno.ENOTDIR:
                    raise OutputError(f"{path}: exists and is not a folder") from None
                raise OutputError(f"{path}: cannot open the folder: {why(e)}") from None
            os.close(fd)
            fd = sub
    except BaseException:
        os.close(fd)
        raise
    return fd


def unlink_in(folder: int, name: str, path: str | os.PathLike) -> bool:
    """Delete the file (or symbolic link: the link, not what it leads to) ``name`` of the open folder
    ``folder``; ``path`` is what an error names. Returns whether there was one; a folder is left."""
    try:
        st = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return False
    except OSError as e:
        raise OutputError(f"{path}: cannot delete: {why(e)}") from None
    if stat.S_ISDIR(st.st_mode):
        return False
    try:
        os.unlink(name, dir_fd=folder)
    except FileNotFoundError:
        return False
    except OSError as e:
        raise OutputError(f"{path}: cannot delete: {why(e)}") from None
    return True


def folders_in(root: str | os.PathLike, rel: str | os.PathLike = "") -> list[str]:
    """The names of the folders in ``root/rel``, by name (reached as :func:`open_folder` does; a
    link is not a folder; none if ``root/rel`` is missing)."""
    with open_folder(root, rel, missing_ok=True) as fd:
        if fd is None:
            return []
        with os.scandir(fd) as it:
            return sorted(e.name for e in it if e.is_dir(follow_symlinks=False))


def sha256_in(folder: int, name: str) -> str:
    """sha256 (hex) of the file ``name`` of the open folder ``folder``, opened without following a
    symbolic link (a link raises OSError)."""
    h = hashlib.sha256()
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
    with os.fdopen(fd, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_file_in(folder: int, name: str) -> bool:
    """Whether ``name`` is a regular file (not a link) in the open folder ``folder``."""
    try:
        return stat.S_ISREG(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return False


def walk(root: str | os.PathLike):
    """``(descriptor, path, entries)`` of ``root`` and of every folder below it, folders reached
    without following a symbolic link (a link is an entry, never entered); ``entries`` are
    :class:`os.DirEntry` of the folder (``is_symlink()`` and ``is_dir(follow_symlinks=False)`` need
    no further system call). A folder that goes meanwhile, or cannot be read, is passed over."""
    root = Path(root)
    try:
        fd = os.open(root, _FOLDER)
    except OSError:
        return
    try:
        yield from _walk(fd, root)
    finally:
        os.close(fd)


def _walk(fd: int, path: Path):
    try:
        with os.scandir(fd) as it:
            entries = list(it)
    except OSError:  # unreadable: nothing of it can be written either
        return
    yield fd, path, entries
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            try:
                sub = os.open(e.name, _FOLDER | os.O_NOFOLLOW, dir_fd=fd)
            except OSError:
                continue
            try:
                yield from _walk(sub, path / e.name)
            finally:
                os.close(sub)


def find_link(root: str | os.PathLike) -> Path | None:
    """The first symbolic link found inside the folder ``root`` at any depth (links not followed;
    each folder's entries by name), or None. One directory read per folder."""
    for _, path, entries in walk(root):
        for e in sorted(entries, key=lambda e: e.name):
            if e.is_symlink():
                return path / e.name
    return None


def refuse_links(root: str | os.PathLike) -> None:
    """Raise :func:`link_error` for the first symbolic link inside the folder ``root`` (see
    :func:`find_link`); nothing if there is none or ``root`` is not a folder."""
    link = find_link(root)
    if link is not None:
        raise link_error(link)


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
    file) or exists and ``overwrite`` is not given. A symbolic link there is never followed: it is
    refused without ``overwrite`` and replaced (the link itself) with it."""
    path = Path(path)
    if within(path, reading):
        raise OutputError(f"{path}: inside the dataset {reading} being read; choose an output outside it")
    if path.is_symlink():
        if not overwrite:
            raise OutputError(f"{path}: exists (a symbolic link to {os.readlink(path)}); use --overwrite to replace "
                              "the link (not the file it leads to)")
    elif path.exists():
        if path.is_dir():
            raise OutputError(f"{path}: is a folder")
        if not overwrite:
            raise OutputError(f"{path}: exists; use --overwrite to replace it")


def within(path: str | os.PathLike, reading: str | os.PathLike) -> bool:
    """Whether ``path`` (symbolic links resolved) is ``reading`` or lies below it."""
    real, src = os.path.realpath(path), os.path.realpath(reading)
    return real == src or real.startswith(src.rstrip(os.sep) + os.sep)
