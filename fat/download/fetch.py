"""``fat download``: YCB models, Poly Haven HDRIs and ambientCG texture sets into a folder, in the
layouts ``--objects``, ``--hdri`` and ``--textures`` read (what and where: :mod:`fat.download.sources`).
This is the only module of the project that reaches the network.

* **Resumable.** A file is downloaded to ``DEST/.<file>.part``; a download cut short leaves it,
  and the next run asks for the rest (an HTTP ``Range`` request) instead of starting again. A
  server that ignores the range sends the whole file, which then replaces the part.
* **Checked.** The bytes received must be the size the server announced (``Content-Length``, or the
  total of ``Content-Range``); with a checksum list (``sha256sum`` lines), the file's sha256 must be
  the listed one; then the file is unpacked and checked as the project's readers check it (an
  archive read to its end, the mesh there; a map's header and data; each texture map complete). A
  file that fails is deleted, so that the next run downloads it afresh.
* **Nothing half-written.** An archive is unpacked into a hidden staging folder inside DEST, which
  is renamed into place when complete (:func:`fat.fileio.commit_folder`); an HDRI is renamed into
  place. A failure leaves DEST as it was, except for the partial download of the file that failed.
* **Nothing replaced.** What DEST already has under an item's name (a file, folder or link) is left
  alone and counted as there before, unless ``overwrite``; a rerun after a finished one downloads
  nothing. No file is written through a symbolic link (the partial download is opened with
  ``O_NOFOLLOW``, unpacked files with :func:`fat.fileio.open_folder`); one run at a time writes
  into DEST (:func:`fat.fileio.locked_folder`).
* **One-line errors.** An unreachable server, an HTTP error, a transfer cut short or a damaged file
  is a :class:`DownloadError` naming the URL and the reason.
"""

from __future__ import annotations

import http.client
import os
import re
import stat
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import __version__
from ..errors import ConfigError, FatError, OutputError
from ..fileio import (TMP_SUFFIX, commit_folder, discard, link_error, locked_folder, open_folder,
                     remove_stale_temporaries, sha256_in, temp_folder, unlink_in, why)
from .sources import ArchiveError, Item, Source, is_present, source

#: The User-Agent header of every request (some servers refuse the one urllib sends by default).
USER_AGENT = f"Mozilla/5.0 (compatible; fat-datasets/{__version__})"
#: Seconds to wait for a connection or for the next bytes of a transfer.
TIMEOUT = 60.0
_CHUNK = 1 << 20
_SHA256_LINE = re.compile(r"^(?P<hash>[0-9a-fA-F]{64})\s+\*?(?P<file>.+?)\s*$")
_CONTENT_RANGE = re.compile(r"^bytes\s+(?:(?P<start>\d+)-(?P<end>\d+)|\*)/(?P<total>\d+|\*)$")


class DownloadError(FatError):
    """A download that failed: the server cannot be reached or refuses, the transfer stopped, or
    the file is not the one expected."""


@dataclass
class Result:
    """What :func:`download` did: the items downloaded (with the bytes transferred this run) and those
    DEST had before."""

    source: Source
    dest: Path
    downloaded: list[tuple[Item, int]] = field(default_factory=list)
    present: list[Item] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def transferred(self) -> int:
        return sum(n for _, n in self.downloaded)


def items(kind: str, names=(), resolution: str | None = None) -> tuple[Source, list[Item]]:
    """The source of ``kind`` and the items of ``names`` (its default list when empty), each name
    checked and spelt as the source spells it (an unknown one is a one-line ConfigError); a name
    given twice is downloaded once."""
    src = source(kind)
    res = src.check_resolution(resolution)
    out: dict[str, Item] = {}
    for name in names or src.defaults:
        n = src.resolve(str(name))
        out.setdefault(n, src.item(n, res))
    return src, list(out.values())


def base_url(mirror: str | None) -> str | None:
    """``mirror`` checked as an http(s) URL of a folder (None: the official locations)."""
    if not mirror:
        return None
    parts = urllib.parse.urlsplit(mirror)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"mirror {mirror!r}: not an http:// or https:// URL of a folder")
    return mirror


def read_checksums(path: str | os.PathLike) -> dict[str, str]:
    """File name -> sha256 (lower-case hex) from a file of ``sha256sum`` lines (``<sha256>  <file>``;
    blank lines and ``#`` comments skipped; a path is taken by its last part)."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the checksum list: {why(e) if isinstance(e, OSError) else e}") from None
    sums = {}
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _SHA256_LINE.match(line.strip())
        if m is None:
            raise ConfigError(f"{path}: line {i}: not a '<sha256>  <file name>' line (as sha256sum writes): "
                              f"{line.strip()[:80]!r}")
        sums[m.group("file").replace("\\", "/").rsplit("/", 1)[-1]] = m.group("hash").lower()
    return sums


def download(kind: str, dest: str | os.PathLike, names=(), resolution: str | None = None, mirror: str | None = None,
             overwrite: bool = False, checksums: dict[str, str] | None = None,
             progress: Callable[[str, int | None, int], object] | None = None,
             notify: Callable[[str], None] | None = None) -> Result:
    """Download the items of ``kind`` (``ycb``, ``hdri``, ``textures``) called ``names`` (the default
    list when empty) into the folder ``dest``, from ``mirror`` (a folder URL holding the same
    paths) or the official locations. ``checksums``: file name -> sha256 (:func:`read_checksums`)
    of files to check. ``progress(name, total, done)``: a progress bar for one file (an object with
    ``update(n)`` and ``close()``; ``total`` None when unknown). ``notify``: one line per item
    downloaded. Items DEST has already are left as they are unless ``overwrite``."""
    start = time.perf_counter()
    src, todo = items(kind, names, resolution)
    base = base_url(mirror)
    dest = Path(dest).expanduser()
    result = Result(src, dest)
    with locked_folder(dest):
        for item in todo:
            remove_stale_temporaries(dest / item.target)  # staging folders a killed run left
            if is_present(dest, item) and not overwrite:
                result.present.append(item)
                continue
            url = src.url(base, item)
            sent = _fetch(src, item, url, dest, (checksums or {}).get(item.file), progress)
            _install(src, item, url, dest)
            result.downloaded.append((item, sent))
            if notify:
                notify(f"{item.name} -> {dest / item.target}")
    result.seconds = time.perf_counter() - start
    return result


# ----------------------------------------------------------------------------- transfer
def _part(item: Item) -> str:
    return f".{item.file}{TMP_SUFFIX}"


def _fetch(src: Source, item: Item, url: str, dest: Path, sha256: str | None, progress) -> int:
    """Download ``url`` to ``DEST/.<file>.part``, resuming a part there, and check it; return the
    bytes transferred."""
    with open_folder(dest) as fd:
        sent = _transfer(src, item, url, dest, fd, progress)
        if sha256:
            got = sha256_in(fd, _part(item))
            if got != sha256:
                unlink_in(fd, _part(item), dest / _part(item))
                raise DownloadError(f"{url}: sha256 {got} is not the listed {sha256}; the file is damaged or another "
                                    "one (deleted it)")
    return sent


def _transfer(src: Source, item: Item, url: str, dest: Path, fd: int, progress) -> int:
    part = _part(item)
    for _ in range(3):  # a resumed download the server answers with another range starts again
        have = _part_size(fd, part, dest / part)
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT)
        except urllib.error.HTTPError as e:
            with e:
                if e.code == 416 and have:  # the part holds the whole file, or the file changed
                    total = _content_range(e.headers.get("Content-Range"))[2]
                    if total == have:
                        return 0
                    unlink_in(fd, part, dest / part)
                    continue
                if e.code in (404, 410):
                    raise DownloadError(f"no {src.what} {item.name!r} at {url} (HTTP {e.code} {e.reason})"
                                        f"{src.hint(item.name)}") from None
                raise DownloadError(f"{url}: the server answered HTTP {e.code} {e.reason}") from None
        except urllib.error.URLError as e:
            raise DownloadError(f"cannot reach {url}: {_why(e.reason)}") from None
        except (OSError, http.client.HTTPException) as e:
            raise DownloadError(f"cannot reach {url}: {_why(e)}") from None
        with resp:
            if resp.headers.get_content_type() == "text/html":
                raise DownloadError(f"{url}: the server sent a web page, not the {src.what} file{src.hint(item.name)}")
            length = resp.headers.get("Content-Length")
            length = int(length) if length and length.isdigit() else None
            if resp.status == 206:
                start, _, total = _content_range(resp.headers.get("Content-Range"))
                if start != have:
                    unlink_in(fd, part, dest / part)
                    continue
                offset = have
            else:  # the whole file (a server that ignores Range too)
                offset, total = 0, length
            if total is None and length is not None:
                total = offset + length
            return _receive(resp, url, fd, part, dest / part, offset, total, item.name, progress)
    raise DownloadError(f"{url}: the server keeps answering the resumed download with another part of the file")


def _receive(resp, url: str, fd: int, part: str, shown: Path, offset: int, total: int | None, name: str,
             progress) -> int:
    """Write the body of ``resp`` to the part (appended at ``offset``); a transfer cut short keeps
    what came and is a DownloadError saying that a rerun resumes it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_APPEND if offset else os.O_TRUNC)
    try:
        out = os.open(part, flags, 0o644, dir_fd=fd)
    except OSError as e:
        if os.path.islink(shown):
            raise link_error(shown) from None
        raise OutputError(f"{shown}: cannot write: {why(e)}") from None
    bar = progress(name, total, offset) if progress else None
    received, stopped = 0, None
    try:
        with os.fdopen(out, "wb") as f:
            while True:
                try:
                    chunk = resp.read(_CHUNK)
                except (OSError, http.client.HTTPException) as e:
                    stopped = e
                    break
                if not chunk:
                    break
                try:
                    f.write(chunk)
                except OSError as e:
                    raise OutputError(f"{shown}: cannot write: {why(e)}") from None
                received += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    size = offset + received
    if stopped is not None or (total is not None and size < total):
        reason = _why(stopped) if stopped is not None else "the connection closed"
        of = f" of {human(total)}" if total is not None else ""
        raise DownloadError(f"{url}: the transfer stopped after {human(size)}{of} ({reason}); run the same command "
                            "again to resume it")
    if total is not None and size > total:  # more than announced: not the file that was announced
        unlink_in(fd, part, shown)
        raise DownloadError(f"{url}: received {human(size)}, more than the {human(total)} announced (deleted it)")
    return received


def _part_size(fd: int, part: str, shown: Path) -> int:
    """The size of the partial download (0 when there is none); a link or a folder there is refused."""
    try:
        st = os.stat(part, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return 0
    if stat.S_ISLNK(st.st_mode):
        raise link_error(shown)
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"{shown}: is not a file; remove it to download again")
    return st.st_size


def _content_range(value: str | None) -> tuple[int | None, int | None, int | None]:
    """(start, end, total) of a ``Content-Range`` header (None for what it does not give)."""
    m = _CONTENT_RANGE.match((value or "").strip())
    if m is None:
        return None, None, None
    num = lambda k: int(m.group(k)) if m.group(k) and m.group(k).isdigit() else None  # noqa: E731
    return num("start"), num("end"), num("total")


def _why(e: BaseException | None) -> str:
    """The reason of a network error in a few words."""
    if e is None:
        return "no reason given"
    if isinstance(e, urllib.error.URLError):
        return _why(e.reason) if isinstance(e.reason, BaseException) else str(e.reason)
    if isinstance(e, TimeoutError) or type(e).__name__ == "timeout":
        return f"no answer in {TIMEOUT:g} s"
    if isinstance(e, http.client.IncompleteRead):
        return "the connection closed"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e) or type(e).__name__


def human(n: int | None) -> str:
    """A size for people: ``512 bytes``, ``1.2 MB``."""
    if n is None:
        return "?"
    if n < 1000:
        return f"{n} bytes"
    for unit in ("kB", "MB", "GB", "TB"):
        n /= 1000
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}"
    raise AssertionError  # unreachable


# ----------------------------------------------------------------------------- install
def _install(src: Source, item: Item, url: str, dest: Path) -> None:
    """Unpack the complete part into a staging folder in DEST, check it, and rename it into place."""
    part = dest / _part(item)
    staging = temp_folder(dest / item.target)
    try:
        try:
            made = src.unpack(part, staging, item)
        except ArchiveError as e:
            discard(part)  # damaged: the next run downloads it afresh
            raise DownloadError(f"{url}: {e} (deleted it)") from None
        target = dest / item.target
        if made.is_dir():
            if not commit_folder(made, target):
                raise OutputError(f"{target}: made by another process meanwhile; left it")
        else:
            try:
                if stat.S_ISDIR(os.stat(target, follow_symlinks=False).st_mode):
                    raise OutputError(f"{target}: is a folder; remove it to download {item.name}")
            except FileNotFoundError:
                pass
            try:
                os.replace(made, target)  # a link there is replaced, not followed
            except OSError as e:
                raise OutputError(f"{target}: cannot write: {why(e)}") from None
    finally:
        discard(staging)
    discard(part)  # an archive, once unpacked (an HDRI's part was renamed into place)
