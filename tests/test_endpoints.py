"""``--dask`` and ``--unrealcv`` endpoints: a malformed address is one line; a server that accepts and
stays silent, or answers another protocol, fails within the documented timeout. Only local sockets
on 127.0.0.1 are used."""

import json
import socket
import threading

import pytest

from fat.run import executors

from fat_cli import error_line, run_fat

SMALL = ["--scene", "kitchen", "--frames", "1", "--width", "64", "--height", "48", "--quiet"]
GARBAGE = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 40


class Listener:
    """A TCP server on 127.0.0.1 that accepts every connection and then stays silent, or sends
    ``answer`` and keeps the connection open."""

    def __init__(self, answer: bytes | None = None):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.answer, self.conns, self.accepted = answer, [], 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(c)
            if self.answer:
                try:
                    c.sendall(self.answer)
                except OSError:
                    pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def listener():
    made = []

    def make(answer=None):
        made.append(Listener(answer))
        return made[-1]

    yield make
    for lst in made:
        lst.close()


def refused(capfd, tmp_path, *args) -> str:
    rc, out, err = run_fat(capfd, "generate", tmp_path / "out", *args, *SMALL)
    assert rc == 1 and all(line.startswith("plan: ") for line in out.splitlines())  # at most the plan line
    assert not (tmp_path / "out").exists(), "files were written before the refusal"
    return error_line(err)


# ----------------------------------------------------------------------------------- Dask
pytest.importorskip("distributed", reason="distributed is not installed (pip install 'fat-datasets[dask]')")


@pytest.mark.parametrize("address, reason", [
    ("not a url", "missing port number"),
    ("tcp://:8786", "bad host ''"),
    ("tcp://127.0.0.1:99999", "port 99999 is not 1..65535"),
])
def test_malformed_dask_address_is_one_line(capfd, tmp_path, address, reason):
    """``--dask 'not a url'`` used to print distributed's 63-line traceback."""
    line = refused(capfd, tmp_path, "--dask", address)
    assert line.startswith(f"fat: error: --dask {address!r}: not a scheduler address") and reason in line


@pytest.mark.slow
def test_dask_server_that_never_answers_fails_within_the_timeout(capfd, tmp_path, listener, monkeypatch):
    """A server that accepts and stays silent used to hang ``fat generate --dask`` for ever:
    distributed's Client waits for the handshake's answer without a limit."""
    monkeypatch.setattr(executors, "DASK_TIMEOUT", 2.0)
    srv = listener()
    line = refused(capfd, tmp_path, "--dask", f"tcp://{srv.address}")
    assert line == f"fat: error: --dask tcp://{srv.address}: no answer from a Dask scheduler within 2 s"
    assert srv.accepted >= 1


def test_dask_server_that_speaks_another_protocol_fails(capfd, tmp_path, listener, monkeypatch):
    """A server that answers with another protocol (here HTTP) used to end in a traceback from
    distributed, or in a hang when the bytes read as a long frame."""
    monkeypatch.setattr(executors, "DASK_TIMEOUT", 2.0)
    srv = listener(GARBAGE)
    line = refused(capfd, tmp_path, "--dask", f"tcp://{srv.address}")
    assert line.startswith(f"fat: error: --dask tcp://{srv.address}: ")
    assert "does not answer as a Dask scheduler" in line or "no answer from a Dask scheduler within 2 s" in line


# ----------------------------------------------------------------------------------- UnrealCV
def unreal(tmp_path, address, timeout=1.5):
    cfg = tmp_path / "unreal.json"
    cfg.write_text(json.dumps({"timeout": timeout, "retries": 3, "backoff": 0.05}))
    return ["--renderer", "unrealcv", "--unrealcv", address, "--unreal-config", cfg]


@pytest.mark.slow
def test_unrealcv_server_that_never_greets_fails_within_the_timeout(capfd, tmp_path, listener):
    """A server that accepts and stays silent used to hang for ever: the unrealcv client ignores its
    connect timeout and waits for the greeting without limit, and every retry waited again."""
    pytest.importorskip("unrealcv", reason="the UnrealCV client is not installed")
    srv = listener()
    line = refused(capfd, tmp_path, *unreal(tmp_path, srv.address))
    assert line == (f"fat: error: --unrealcv {srv.address}: the server accepted the connection but sent no UnrealCV "
                    "greeting within 1.5 s; is this the port of the game's UnrealCV server (its unrealcv.ini)?")
    assert srv.accepted == 1  # not retried: what listens there is not a starting game


def test_unrealcv_server_that_speaks_another_protocol_fails_at_once(capfd, tmp_path, listener):
    """A server answering another protocol used to be retried as a lost connection, then reported
    as 'cannot connect'; it is named as not UnrealCV at the first answer."""
    pytest.importorskip("unrealcv", reason="the UnrealCV client is not installed")
    srv = listener(GARBAGE)
    line = refused(capfd, tmp_path, *unreal(tmp_path, srv.address, timeout=30))
    assert line.startswith(f"fat: error: --unrealcv {srv.address}: the server answered b'HTTP/1.1', "
                           "which is not UnrealCV's protocol")
    assert srv.accepted == 1


@pytest.mark.parametrize("doc, message", [
    ({"timeout": "soon"}, "timeout must be a number 0.001..3600.0, got 'soon'"),
    ({"timeout": 0}, "timeout must be a number 0.001..3600.0, got 0"),
    ({"retries": 2.5}, "retries must be an integer 0..100, got 2.5"),
    ([1, 2], "expected a table of settings, got list"),
])
def test_unrealcv_config_values_of_the_wrong_type_are_one_line(capfd, tmp_path, doc, message):
    """An UnrealCV config with a string timeout used to fail with float()'s ValueError traceback."""
    cfg = tmp_path / "unreal.json"
    cfg.write_text(json.dumps(doc))
    line = refused(capfd, tmp_path, "--renderer", "unrealcv", "--unrealcv", "127.0.0.1:9000", "--unreal-config", cfg)
    assert line == f"fat: error: {cfg}: {message}"
