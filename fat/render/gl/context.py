"""The OpenGL context: moderngl on headless EGL, on the EGL device ``FAT_EGL_DEVICE`` (or the
renderer's ``device``, ``--gl-device``) names, or EGL's default one; and what the implementation
can do (:func:`max_side`: the largest render target)."""

from __future__ import annotations

import os

from ...errors import ConfigError


def create_context(device: str | int | None = None):
    """A moderngl context of OpenGL 3.3 or later on EGL device ``device`` (an index; None: the one
    ``FAT_EGL_DEVICE`` names, or EGL's default), or a ConfigError saying in one line why there is none."""
    try:
        import moderngl
    except ImportError as e:  # pragma: no cover - moderngl is a dependency
        raise ConfigError(f"--renderer gl: moderngl is not installed ({e})") from None
    device = os.environ.get("FAT_EGL_DEVICE") if device is None else device
    kwargs = {"standalone": True, "backend": "egl"}
    if device not in (None, ""):
        try:
            kwargs["device_index"] = int(device)
        except ValueError:
            raise ConfigError(f"FAT_EGL_DEVICE / --gl-device must be a device index, got {device!r}") from None
    try:
        ctx = moderngl.create_context(**kwargs)
    except Exception as e:
        where = f"EGL device {device}" if device not in (None, "") else "EGL"
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"--renderer gl: cannot make an OpenGL context on {where} ({reason}); it needs libEGL "
                          "and a Mesa or GPU EGL driver (Debian: libegl1 libegl-mesa0 libgl1-mesa-dri libgl1)") from None
    if ctx.version_code < 330:
        version = ctx.version_code
        ctx.release()
        raise ConfigError(f"--renderer gl: the EGL context offers OpenGL {version / 100:.1f}, 3.3 is needed")
    return ctx


def max_side(ctx) -> int | None:
    """The most pixels a side of a render target this OpenGL implementation can hold (None: it does
    not say)."""
    info = ctx.info
    limits = [info.get("GL_MAX_RENDERBUFFER_SIZE"), info.get("GL_MAX_TEXTURE_SIZE"), *(info.get("GL_MAX_VIEWPORT_DIMS") or ())]
    return min((int(x) for x in limits if x), default=None)
