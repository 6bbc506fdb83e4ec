"""Run the ``fat`` command in this process, as its console entry point does (one-line errors,
exit codes), with pytest's ``capfd``: everything written to file descriptors 1 and 2 is seen,
a library's logging included."""

from __future__ import annotations

import threading

import pytest


def run_fat(capfd, *args, limit: float = 300.0) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``fat ARGS``. Fails the test if the command has not ended after
    ``limit`` seconds (a hang), instead of hanging the test run."""
    from fat.cli.main import main

    result = {}

    def target():
        try:
            main([str(a) for a in args])
        except SystemExit as e:
            result["rc"] = e.code if isinstance(e.code, int) else 1
        except BaseException as e:  # noqa: BLE001 - reported below
            result["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(limit)
    if t.is_alive():
        pytest.fail(f"fat {' '.join(map(str, args))} still runs after {limit:g} s")
    if "error" in result:
        raise result["error"]
    out, err = capfd.readouterr()
    return result["rc"], out, err


def error_line(err: str) -> str:
    """The one line of an error; fails unless standard error holds exactly one line."""
    # PyBullet prints its build time on the process's first import, past the project's silencing
    # when pytest's capture holds the file descriptors: not an output of the command
    lines = [x for x in err.strip().splitlines() if not x.startswith("pybullet build time:")]
    assert len(lines) == 1, f"expected one line of error output, got {len(lines)}:\n{err}"
    return lines[0]
