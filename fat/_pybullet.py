"""Import pybullet without the "pybullet build time" banner its C module prints when loaded."""

from __future__ import annotations

import os
import sys


def _quiet_import():
    fds = []
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
            fds.append(stream.fileno())
        except (AttributeError, ValueError, OSError):  # no real file behind the stream
            pass
    saved = [os.dup(fd) for fd in fds]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in fds:
            os.dup2(null, fd)
        import pybullet
    finally:
        for fd, s in zip(fds, saved):
            os.dup2(s, fd)
            os.close(s)
        os.close(null)
    return pybullet


pb = _quiet_import()
