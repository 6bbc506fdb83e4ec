"""Where drops run: in this process, in local worker processes, or on a Dask cluster.

Every executor yields ``(drop, frames, {file: sha256})`` as drops finish, in any order; the files of
a drop depend only on the settings and the drop, so the dataset is the same whichever runs it.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import threading
import warnings
from pathlib import Path
from typing import Iterator

from ..errors import ConfigError
from ..assets.meshes import MeshWarning
from .plan import Drop
from ..settings import Settings
from .worker import Worker


class Local:
    """Drops one after another in this process."""

    def __init__(self, s: Settings):
        self.worker = Worker(s)
        self.K, self.note, self.renderer = describe(self.worker)

    def run(self, drops: list[Drop], out: Path) -> Iterator[tuple[Drop, int, dict]]:
        for d in drops:
            n, files = self.worker.run(d, out)
            yield d, n, files

    def close(self) -> None:
        self.worker.close()


# -------------------------------------------------------------------- worker processes
_WORKER: Worker | None = None
_INIT_ERROR: Exception | None = None


def _init(settings_json: str, threads: int) -> None:
    global _WORKER, _INIT_ERROR
    # Mesa's CPU rasteriser starts one thread per core in every process; N workers share the cores
    os.environ.setdefault("LP_NUM_THREADS", str(threads))
    warnings.simplefilter("ignore", MeshWarning)  # the parent has shown each mesh's warnings once
    try:
        _WORKER = Worker(_settings(settings_json))
    except Exception as e:  # kept for the parent: a failing initializer would be restarted forever
        _INIT_ERROR = e


def _worker() -> Worker:
    if _INIT_ERROR is not None:
        raise _INIT_ERROR
    return _WORKER


def describe(worker: Worker) -> tuple:
    """What the parent needs before writing anything: intrinsics, the renderer's note and name."""
    return worker.K, worker.note, worker.renderer.name


def _describe(_=None) -> tuple:
    return describe(_worker())


def _settings(settings_json: str) -> Settings:
    return Settings.from_json(json.loads(settings_json))


def _run(args) -> tuple[Drop, int, dict]:
    drop, out = args
    n, files = _worker().run(drop, Path(out))
    return drop, n, files


class Pool:
    """Drops in N local processes (spawned: each makes its own physics, renderer and assets). The
    first worker ready says which renderer and intrinsics the run uses, or why it cannot start."""

    def __init__(self, s: Settings, workers: int):
        ctx = mp.get_context("spawn")
        threads = max(1, (os.cpu_count() or 1) // workers)
        self.pool = ctx.Pool(workers, initializer=_init, initargs=(json.dumps(s.to_json()), threads))
        try:
            self.K, self.note, self.renderer = self.pool.apply(_describe)
        except BaseException:
            self.pool.terminate()
            raise

    def run(self, drops: list[Drop], out: Path):
        yield from self.pool.imap_unordered(_run, [(d, str(out)) for d in drops])

    def close(self) -> None:
        self.pool.close()
        self.pool.join()


# -------------------------------------------------------------------- Dask
#: Seconds to reach a Dask scheduler and finish the protocol's handshake with it. A server that accepts
#: the connection and stays silent, or answers another protocol, is given up after this.
DASK_TIMEOUT = 10.0

_DASK_WORKERS: dict = {}
_DASK_LOCK = threading.Lock()


def _dask_worker(settings_json: str) -> Worker:
    """One fat Worker per Dask worker thread and settings, kept between tasks."""
    key = (threading.get_ident(), settings_json)
    with _DASK_LOCK:
        worker = _DASK_WORKERS.get(key)
    if worker is None:
        worker = Worker(_settings(settings_json))
        with _DASK_LOCK:
            _DASK_WORKERS[key] = worker
    return worker


def dask_describe(settings_json: str) -> tuple:
    return describe(_dask_worker(settings_json))


def dask_run(settings_json: str, drop: Drop, out: str) -> tuple[Drop, int, dict]:
    """Run one drop on a Dask worker."""
    n, files = _dask_worker(settings_json).run(drop, Path(out))
    return drop, n, files


def check_dask_address(address: str) -> None:
    """Refuse an address that is not a Dask scheduler's (``tcp://HOST:PORT``, ``HOST:PORT``...)."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls", "ws", "wss"):
            host, port = parse_host_port(location)
            if not host or any(c.isspace() for c in host):
                raise ValueError(f"bad host {host!r}")
            if not 0 < int(port) < 65536:
                raise ValueError(f"port {port} is not 1..65535")
    except (ValueError, TypeError) as e:
        raise ConfigError(f"--dask {address!r}: not a scheduler address ({e}); expected tcp://HOST:PORT") from None


def _dask_handshake(address: str, timeout: float) -> None:
    """Connect to ``address`` and do Dask's handshake within ``timeout`` seconds, or raise ConfigError.
    (distributed's Client waits for the handshake's answer without limit.)"""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm import connect

    async def handshake():
        comm = await connect(address, timeout=timeout)
        await comm.close()

    def run():  # in a thread of its own: the caller may be running an event loop (a notebook)
        asyncio.run(asyncio.wait_for(handshake(), timeout))

    try:
        with ThreadPoolExecutor(1) as pool:
            pool.submit(run).result()
    except (asyncio.TimeoutError, TimeoutError):
        raise ConfigError(f"--dask {address}: no answer from a Dask scheduler within {timeout:g} s") from None
    except OSError as e:
        raise ConfigError(f"--dask {address}: cannot reach the scheduler ({str(e).splitlines()[0] if str(e) else e!r})") from None
    except Exception as e:  # the bytes that came back were not Dask's protocol
        raise ConfigError(f"--dask {address}: the server does not answer as a Dask scheduler ({type(e).__name__})") from None


class Dask:
    """Drops on a running Dask distributed scheduler. Workers write to ``out`` themselves, so they
    must see it at the same path (a shared file system)."""

    def __init__(self, s: Settings, address: str):
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError("--dask needs the distributed package: pip install 'fat-datasets[dask]'") from None
        check_dask_address(address)
        _dask_handshake(address, DASK_TIMEOUT)
        try:
            self.client = Client(address, timeout=f"{DASK_TIMEOUT}s")
        except (OSError, TimeoutError) as e:
            raise ConfigError(f"--dask {address}: cannot reach the scheduler ({e})") from None
        self.settings = json.dumps(s.to_json())
        try:  # a worker says which renderer it has (the client itself may have no EGL, no YCB folder)
            self.K, self.note, self.renderer = self.client.submit(dask_describe, self.settings, pure=False).result()
        except BaseException:
            self.client.close()
            raise

    def run(self, drops: list[Drop], out: Path):
        from distributed import as_completed

        futures = [self.client.submit(dask_run, self.settings, d, str(Path(out).resolve()), pure=False) for d in drops]
        for fut in as_completed(futures):
            yield fut.result()

    def close(self) -> None:
        self.client.close()


def make(s: Settings, workers: int = 1, dask: str | None = None):
    if dask:
        return Dask(s, dask)
    if workers > 1:
        return Pool(s, workers)
    return Local(s)
