"""Every command of README.md and docs/ runs as written.

The fenced ``bash`` blocks of the documentation are read, their commands run one after another in a
fresh folder per page (a new user's shell: ``fat`` and ``python`` of this install on PATH, ``~`` a
folder of its own whose ``ycb`` holds the real YCB scans when ``../shared/ycb`` exists), and each
must exit 0. Where a page shows a command's output in the block right after it, the output must
match (where the command ran unchanged). One substitution keeps the run short, the same for every page: each ``fat generate`` gets
``--width 160 --height 90 --overwrite --quiet``, one asking for more than 20 frames per folder gets
``--frames 2`` (and the per-kind counts) instead, and a ``--preset fat`` one ``--dry-run``; and
``fat download`` gets its files from a server on 127.0.0.1 (``FAT_DOWNLOAD_URL``) that makes an
archive of the published layout for any name. Each page starts with the dataset of the README's
``fat generate out`` in ``out/``. Commands that cannot
run here are listed in ``NOT_RUN`` with the reason; every entry must match a command of the docs.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import REPO, YCB
from .test_download import Mirror, hdr, texture_zip, ycb_tgz

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent

#: Commands not run here, by a pattern of their text, with the reason.
NOT_RUN = {
    r"^python3 -m venv ": "the install step: .ci/run runs it, as written (test_ci_runs_the_readme)",
    r"^\.venv/bin/(python -m )?pytest\b": "the test suite itself (.ci/run runs the README's)",
    r"^\( while true; do .*done \) &$": "a stress loop beside the suite, for hours",
    r"^for i in \$\(seq 20\)": "twenty runs of the whole suite",
    r"^(FAT_EGL_DEVICE=\d+ )?dask (scheduler|worker) ": "a Dask cluster on other machines (A is a placeholder)",
    r"--dask tcp://A:": "a Dask cluster on other machines (A is a placeholder)",
    r"^pip install '\.\[unreal\]'": "an install step into the user's environment",
    r"--renderer unrealcv": "needs an Unreal Engine 4 game with the UnrealCV plugin",
    r"\b(DATASET|DIR)\b": "a placeholder for the user's own folder",
    r"^python benchmarks/": "a benchmark: it measures minutes of work (docs/performance.md)",
    r"--objects \.\./shared/ycb ": "a measurement with the real YCB scans of ../shared (docs/performance.md)",
    r"\bHOST\b": "a placeholder for the user's own mirror",
}


@dataclass
class Command:
    page: Path
    line: int
    text: str
    output: list[str] | None  # the output block shown right after a block of one command


def _strip_comment(line: str) -> str:
    """A shell line without its trailing ``# comment`` (a ``#`` outside quotes, after a blank)."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n(?:\s*\n)*(?:```\n(.*?)^```)?", re.S | re.M)


def commands(page: Path) -> list[Command]:
    """The commands of a page's bash and sh blocks, continuation lines joined, comments dropped."""
    text = page.read_text("utf-8")
    out = []
    for m in FENCE.finditer(text):
        lang, body, shown = m.group(1), m.group(2), m.group(3)
        if lang not in ("bash", "sh"):
            continue
        first = text.count("\n", 0, m.start()) + 2
        found, pending, start = [], "", None
        for k, raw in enumerate(body.splitlines()):
            line = _strip_comment(raw)
            if not line.strip():
                continue
            start = first + k if start is None else start
            if line.endswith("\\"):
                pending += line[:-1].rstrip() + " "
                continue
            found.append(Command(page, start, (pending + line.strip()).strip(), None))
            pending, start = "", None
        if len(found) == 1 and shown is not None:
            found[0].output = shown.rstrip("\n").splitlines()
        out += found
    return out


ALL = [c for p in PAGES for c in commands(p)]


def not_run(cmd: Command) -> str | None:
    for pattern, why in NOT_RUN.items():
        if re.search(pattern, cmd.text):
            return why
    return None


def small(text: str) -> str:
    """The documented substitution: a short run of the same ``fat generate`` command."""
    if not re.match(r"^(\.venv/bin/)?fat generate ", text):
        return text
    extra = " --width 160 --height 90 --overwrite --quiet"
    counts = [int(n.replace(",", "")) for n in re.findall(r"--(?:mixed-|single-|dr-)?frames ([\d,]+)", text)]
    if "--preset fat" in text:
        extra += " --dry-run"
    elif any(n > 20 for n in counts):
        extra += " --frames 2 --mixed-frames 2 --single-frames 2 --dr-frames 2 --frames-per-drop 2"
    return text + extra


def test_commands_are_found_and_every_exception_is_used():
    """Catches: a page whose commands the reader misses (a block not marked bash, a continuation
    not joined) and an entry of NOT_RUN that no longer matches any command (a stale exception)."""
    assert len(ALL) >= 40, [c.text for c in ALL]
    for pattern in NOT_RUN:
        assert any(re.search(pattern, c.text) for c in ALL), f"NOT_RUN entry {pattern!r} matches no command"
    for c in ALL:
        assert "\\" not in c.text.replace("\\\\", ""), c.text
    run = [c for c in ALL if not not_run(c)]
    assert len(run) >= len(ALL) // 2, "most documented commands must run"


def test_commands_are_in_bash_blocks():
    """Catches: a command shown in an unmarked block, where this test would not run it."""
    for page in PAGES:
        for m in FENCE.finditer(page.read_text("utf-8")):
            if m.group(1) == "":
                for line in m.group(2).splitlines():
                    assert not re.match(r"^(fat (generate|export|show|stats|validate|objects|download) |"
                                        r"python -c |pip install )", line), \
                        f"{page.name}: command outside a bash block: {line}"


def test_ci_runs_the_readme():
    """Catches: .ci/run checking something other than what the README tells a new user to run."""
    readme = [c.text for c in commands(REPO / "README.md")]
    install, tests = readme[0], readme[1]
    ci = (REPO / ".ci" / "run").read_text()
    setup = install.split(" && .venv/bin/fat generate ")[0]
    assert setup.replace("pip install ", "pip install -q ") in ci, (setup, ci)
    assert re.search(rf"^{re.escape(tests)}$", ci, re.M), (tests, ci)
    assert " && .venv/bin/fat generate out" in install


class Archives(dict):
    """What the download server holds: an archive in its source's layout for any name asked."""

    def get(self, path, default=None):
        if m := re.fullmatch(r"/(\w+)_google_16k\.tgz", path):
            return ycb_tgz(m.group(1))
        if m := re.fullmatch(r"/(\w+)/\w+_(\w+)\.hdr", path):
            return hdr() if m.group(1) == m.group(2) else default
        if m := re.fullmatch(r"/(\w+)_(\w+)-JPG\.zip", path):
            return texture_zip(m.group(1), m.group(2))
        return default


@pytest.fixture(scope="module")
def download_server():
    srv = Mirror()
    srv.files = Archives()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.url
    srv.shutdown()
    srv.server_close()


def _env(home: Path, download_url: str = "http://127.0.0.1:1") -> dict:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["FAT_DOWNLOAD_URL"] = download_url
    env["HOME"] = str(home)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONPATH", None)
    return env


@pytest.fixture(scope="module")
def readme_dataset(tmp_path_factory):
    """``out/`` of the README's first command (its generate part, substituted as every command)."""
    where = tmp_path_factory.mktemp("readme")
    install = commands(REPO / "README.md")[0].text
    generate = install.split(" && .venv/bin/")[-1]
    assert generate == "fat generate out"
    r = subprocess.run(shlex.split(small(generate)), cwd=where, env=_env(where), capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    return where / "out"


def _matches(got: list[str], shown: list[str]) -> bool:
    """The page's output lines are lines the command printed, in order and together; ``...`` in
    them stands for any text (a line of its own: any lines)."""
    def line(s: str) -> str:
        return ".*" if s.strip() == "..." else ".*".join(map(re.escape, s.rstrip().split("...")))
    pattern = "(?:^|\n)" + "\n".join(line(s) for s in shown) + "(?:\n|$)"
    return re.search(pattern, "\n".join(g.rstrip() for g in got), re.S) is not None


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in PAGES if any(not not_run(c) for c in commands(p))],
                         ids=lambda p: p.name)
def test_page_commands_run_as_written(page, tmp_path, readme_dataset, download_server):
    """Catches: a documented command the tool refuses or that fails (an output inside the dataset
    read, a folder that exists only in the tests, an option renamed), and shown output that is not
    what the command prints."""
    todo = [c for c in commands(page) if not not_run(c)]
    needs_ycb = [c for c in todo if "~/ycb" in c.text]
    home = tmp_path / "home"
    home.mkdir()
    downloads = any(c.text.startswith("fat download ycb ~/ycb") for c in todo)  # ~/ycb is the download's
    if needs_ycb and not downloads and not (YCB / "011_banana" / "textured.obj").is_file():
        pytest.skip(f"{page.name}: {len(needs_ycb)} commands use ~/ycb; no real YCB models at {YCB}")
    if needs_ycb and not downloads:
        (home / "ycb").symlink_to(YCB, target_is_directory=True)
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(readme_dataset, work / "out", symlinks=True)
    for c in todo:
        r = subprocess.run(["bash", "-c", small(c.text)], cwd=work, env=_env(home, download_server), capture_output=True,
                           text=True, timeout=900)
        assert r.returncode == 0, f"{page.name}:{c.line}: {c.text}\nexit {r.returncode}\n{r.stderr[-3000:]}"
        if c.output is not None and small(c.text) == c.text:  # output at the page's own sizes
            assert _matches(r.stdout.splitlines(), c.output), \
                f"{page.name}:{c.line}: {c.text}\nprinted:\n{r.stdout}\nthe page shows:\n" + "\n".join(c.output)
