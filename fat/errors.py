"""The one exception family of the project. Messages name the file, the field and the value."""

from __future__ import annotations

from pathlib import Path


class FatError(Exception):
    """Base of every error the project raises on purpose. ``str(err)`` is one line."""


class ConfigError(FatError):
    """Bad settings: an unknown scene or object, an empty range, a bad option value."""


class FormatError(FatError):
    """A dataset file that is missing, unreadable or not what the FAT format says.

    ``path`` is the file, ``field`` the JSON path inside it (``objects[2].location``) if any.
    """

    def __init__(self, path: str | Path | None, message: str, field: str | None = None):
        self.path = None if path is None else Path(path)
        self.field = field
        self.reason = message
        where = str(path) if path is not None else "<data>"
        if field:
            where += f": {field}"
        super().__init__(f"{where}: {message}")


class OutputError(FatError):
    """The output cannot be written (permissions, disk full, refusing to overwrite)."""


def did_you_mean(name, known) -> str:
    """``"did you mean X? "`` for the known name nearest ``name``, or nothing: the hint of an unknown-name error."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1)
    return f"did you mean {close[0]}? " if close else ""
