"""Faults and output safety: kill -9, Ctrl-C, full disks, read-only output, symbolic links leading
out of the output folder, concurrent runs, exports over existing files or into the dataset read.

Full disks are injected as ``OSError(ENOSPC)`` in the write functions (in-process) or, for
subprocesses, with a file-size limit (``RLIMIT_FSIZE``: writes past it fail with EFBIG as they
would on a full disk). Processes are killed on an event the run reports (a drop appearing in the
manifest), never after a sleep.
"""

import errno
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from fat import fileio
from fat.run import manifest
from fat.errors import OutputError
from fat.run.plan import plan
from fat.run.driver import generate
from fat.settings import Settings
from fat.run.resolve import plan_of

FAT = shutil.which("fat") or str(Path(sys.executable).with_name("fat"))
S = Settings(scenes=("kitchen", "temple"), locations=(0,), mixed_frames=4, frames_per_drop=2, width=320, height=180,
             renderer="tiny", seed=3)
CLI_ARGS = ["--scene", "kitchen", "--frames", "16", "--frames-per-drop", "2", "--width", "320", "--height", "180",
            "--renderer", "tiny", "--seed", "8", "--quiet"]


def digest(root: Path) -> dict:
    """sha256 of every dataset file (not the manifest, whose lines come in finishing order, nor the index)."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in (manifest.MANIFEST, ".fat_index.json")}


def tree(root: Path) -> dict:
    """Every file under ``root`` (links not followed) with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def fat(*args, cwd=None, **kw):
    return subprocess.run([FAT, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600, **kw)


def one_line_error(r, text: str) -> None:
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert text in r.stderr, r.stderr


def wait_for_drops(man: Path, n: int, proc: subprocess.Popen) -> None:
    """Wait until the manifest lists ``n`` drops (the event to act on), or the run ends."""
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if man.exists() and man.read_bytes().count(b"\n") >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"the run ended or stalled before {n} drops were done")


def no_temporaries(root: Path) -> bool:
    return not list(root.rglob(f".*{fileio.TMP_SUFFIX}"))


def file_size_limit(n_bytes: int):
    """preexec_fn: a process whose writes fail past ``n_bytes`` (Python ignores SIGXFSZ: EFBIG)."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (n_bytes, n_bytes))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "out"
    generate(S, out)
    return out


@pytest.fixture(scope="module")
def cli_reference(tmp_path_factory):
    """The uninterrupted run of CLI_ARGS."""
    cwd = tmp_path_factory.mktemp("cliref")
    r = fat("generate", "ref", *CLI_ARGS, cwd=cwd)
    assert r.returncode == 0, r.stderr
    return cwd / "ref"


# ============================================================================ generation faults
def children(pid: int) -> list[int]:
    out = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if f"\nPPid:\t{pid}\n" in status.read_text():
                out.append(int(status.parent.name))
        except OSError:
            pass
    return out


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie (one read of /proc: it may end meanwhile)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


# The fat command, with the run held still at a point it reports: right after it records its n-th
# finished drop in the manifest ("record"), or halfway through writing the first file after that
# ("write", which leaves a half-written temporary file). It says so on the file descriptor it is
# given, then waits to be killed, so the kill lands there whatever the load on the machine.
HELD_RUN = r"""
import os, sys, threading
import fat.fileio, fat.run.manifest
from fat.cli.main import main

fd, after, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
recorded = 0
real_add, real_write = fat.run.manifest.Writer.add, fat.fileio._write_in

def hold(what):
    os.write(fd, (what + "\n").encode())
    threading.Event().wait()

def add(self, *args, **kw):
    global recorded
    real_add(self, *args, **kw)
    recorded += 1
    if recorded == after and mode == "record":
        hold("recorded")

def write(folder, name, data):  # a frame file, in the open folder ``folder``
    if recorded >= after and mode == "write":
        fd = os.open(name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=folder)
        os.write(fd, data[: len(data) // 2])
        hold(f"writing {os.readlink(f'/proc/self/fd/{folder}')}/{name}")
    real_write(folder, name, data)

fat.run.manifest.Writer.add, fat.fileio._write_in = add, write
main(sys.argv[4:])
"""


def _run_held(cwd: Path, args: list[str], after: int, mode: str) -> tuple[subprocess.Popen, str]:
    """Start the fat command held at ``after`` recorded drops (see HELD_RUN); returns the process and
    what it reported, once it has reported it."""
    r, w = os.pipe()
    err = cwd / "held.stderr"
    try:
        with open(err, "wb") as e:
            p = subprocess.Popen([sys.executable, "-c", HELD_RUN, str(w), str(after), mode, *args], cwd=cwd,
                                 pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=e)
    finally:
        os.close(w)
    import select

    with os.fdopen(r, "rb") as f:
        if not select.select([f], [], [], 900)[0]:  # a bound for a hung run only
            p.kill()
            p.wait()
            pytest.fail(f"the run neither reported nor ended: {err.read_text()[-2000:]}")
        said = f.readline().decode()  # returns at the report, or at end of file if the run ended without one
    if not said:
        p.kill()
        p.wait()
        pytest.fail(f"the run ended before it was held: {err.read_text()[-2000:]}")
    return p, said


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.slow
def test_kill_9_then_resume_gives_the_uninterrupted_bytes(tmp_path, cli_reference, workers):
    """The coordinator is killed (SIGKILL) right after its third drop is recorded (2 workers: the
    others are still making drops) or halfway through a file of the fourth (1 worker); the resumed run
    redoes exactly the drops not recorded and gives the bytes of an uninterrupted run. Catches a
    resume that trusts files over the manifest, that keeps a half-written file, or workers that
    outlive the coordinator."""
    args = ["generate", "out", *CLI_ARGS, "--workers", str(workers)]
    p, said = _run_held(tmp_path, args, 3, "write" if workers == 1 else "record")
    kids = children(p.pid)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert workers == 1 or len(kids) >= workers
    deadline = time.monotonic() + 300  # worker processes end with the coordinator (a bound for failure only)
    while [k for k in kids if alive(k)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [k for k in kids if alive(k)]
    assert len(manifest.load(tmp_path / "out")) == 3  # exactly what was recorded before the kill
    assert (tmp_path / "out" / fileio.LOCK_FILE).exists()  # left behind, no longer locked: the rerun takes it
    if workers == 1:
        assert said.startswith("writing ") and (tmp_path / said.split(" ", 1)[1].strip()).is_file()  # half-written
    r = subprocess.run([FAT, *args], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert f"{2 * 3} done before" in r.stdout
    assert digest(tmp_path / "out") == digest(cli_reference)
    assert not list((tmp_path / "out").rglob(".*.part")) and not (tmp_path / "out" / fileio.LOCK_FILE).exists()



@pytest.mark.slow
def test_ctrl_c_stops_in_one_line_and_resume_gives_the_uninterrupted_bytes(tmp_path, cli_reference):
    """SIGINT: exit 130 with one line, no temporary file or lock left, and the rerun finishes the same bytes."""
    args = [FAT, "generate", "out", *CLI_ARGS]
    # A shell starts background jobs with SIGINT ignored, and the run would inherit that (Python then
    # installs no Ctrl-C handler): give it the default disposition, as a terminal's foreground job has.
    p = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for_drops(tmp_path / "out" / manifest.MANIFEST, 2, p)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and err.strip() == "fat: interrupted", err
    out = tmp_path / "out"
    assert no_temporaries(out) and not (out / fileio.LOCK_FILE).exists()
    assert 2 <= len(manifest.load(out)) < 8
    r = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert digest(out) == digest(cli_reference)


@pytest.mark.slow
def test_a_full_disk_at_a_frame_file_stops_cleanly_and_the_run_resumes(tmp_path, reference, monkeypatch):
    """ENOSPC while writing a frame: one error naming the file, finished drops intact, no temporaries,
    and the rerun gives the uninterrupted bytes."""
    real = fileio._write_in  # the files of the leaf folders (frames, folder settings)
    calls = {"n": 0}

    def fill_up(folder, name, data):
        calls["n"] += 1
        if calls["n"] > 45:  # a few drops in
            raise OSError(errno.ENOSPC, "No space left on device")
        real(folder, name, data)

    monkeypatch.setattr(fileio, "_write_in", fill_up)
    out = tmp_path / "out"
    with pytest.raises(OutputError, match=r"cannot write: the disk is full"):
        generate(S, out)
    done = manifest.load(out)
    assert done
    for entry in done.values():  # the finished drops are intact
        for f, h in entry["files"].items():
            assert hashlib.sha256((out / f).read_bytes()).hexdigest() == h
    assert no_temporaries(out)
    monkeypatch.setattr(fileio, "_write_in", real)
    generate(S, out)
    assert digest(out) == digest(reference)


@pytest.mark.slow
def test_a_full_disk_at_the_manifest_append_leaves_no_partial_line(tmp_path, reference, monkeypatch):
    """ENOSPC part-way through a manifest line: one error, the partial line taken back, and the
    rerun lists every drop once (a glued line would lose a drop for good)."""
    real = manifest._append
    calls = {"n": 0}

    def fill_up(fd, data):
        calls["n"] += 1
        if calls["n"] == 3:
            real(fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd, data)

    monkeypatch.setattr(manifest, "_append", fill_up)
    out = tmp_path / "out"
    with pytest.raises(OutputError, match=r"manifest.jsonl: cannot write: the disk is full"):
        generate(S, out)
    text = (out / manifest.MANIFEST).read_bytes()
    assert text.endswith(b"\n") and text.count(b"\n") == 2
    monkeypatch.setattr(manifest, "_append", real)
    generate(S, out)
    _, drops = plan_of((S))
    assert len(manifest.load(out)) == len(drops) == len((out / manifest.MANIFEST).read_bytes().splitlines())
    assert digest(out) == digest(reference)


def test_a_partial_last_manifest_line_is_discarded_on_resume(tmp_path, reference):
    """A manifest cut inside its last line (a crash during the append): the resumed run redoes that
    drop once and the manifest is whole again; a further rerun has nothing to do."""
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    man = out / manifest.MANIFEST
    lines = man.read_bytes().splitlines(keepends=True)
    man.write_bytes(b"".join(lines[:-1]) + lines[-1][:40])
    assert generate(S, out)["drops"] == 1
    assert len(manifest.load(out)) == len(lines)
    assert all(json.loads(line) for line in man.read_bytes().splitlines())
    assert generate(S, out)["drops"] == 0
    assert digest(out) == digest(reference)


def test_an_unwritable_output_is_one_clear_error(tmp_path):
    """A path through a file: one line naming the folder, from the API and the CLI."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot create the output folder"):
        generate(S, blocker / "out")
    r = fat("generate", blocker / "out", "--renderer", "tiny", "--quiet")
    one_line_error(r, "cannot create the output folder")


def test_a_read_only_output_is_one_clear_error_and_leaves_no_file(tmp_path, monkeypatch):
    """EROFS on every new file: generate stops with one line and leaves no temporary behind."""
    def read_only(path):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(fileio, "_create", read_only)
    with pytest.raises(OutputError, match="cannot write: the file system is read-only"):
        generate(S, tmp_path / "out")
    assert no_temporaries(tmp_path) and not (tmp_path / "out" / fileio.LOCK_FILE).exists()


# ============================================================================ one run per folder
@pytest.mark.slow
def test_a_second_generate_into_a_folder_in_use_is_refused(tmp_path):
    """Two runs into one folder (another seed, --overwrite): the second is refused in one line while
    the first runs, and the first finishes a dataset whose files all match the manifest."""
    args = ["generate", "out", *CLI_ARGS]
    p = subprocess.Popen([FAT, *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_drops(tmp_path / "out" / manifest.MANIFEST, 1, p)
    p.send_signal(signal.SIGSTOP)  # keep the first run mid-way while the second starts
    try:
        second = [*args[:-3], "--seed", "1", "--quiet", "--overwrite"]
        assert args[-3:] == ["--seed", "8", "--quiet"]
        r = fat(*second, cwd=tmp_path)
    finally:
        p.send_signal(signal.SIGCONT)
    one_line_error(r, "in use by another fat run")
    _, err = p.communicate(timeout=600)
    assert p.returncode == 0, err
    out = tmp_path / "out"
    assert json.loads((out / "fat_dataset.json").read_text())["settings"]["seed"] == 8
    done = manifest.load(out)
    assert len(done) == 8
    for entry in done.values():
        for f, h in entry["files"].items():
            assert hashlib.sha256((out / f).read_bytes()).hexdigest() == h


def test_an_export_while_another_writes_the_same_target_is_refused(tmp_path, reference):
    """Two HDF5 exports to one file at once: the second is refused, the first completes."""
    pytest.importorskip("h5py", reason="h5py is not installed")
    from fat.exports.hdf5 import export

    target, seen = tmp_path / "a.h5", []

    def second_export(_):
        if not seen:
            with pytest.raises(OutputError, match="in use by another fat run"):
                export(reference, target, overwrite=True)
            seen.append(True)

    assert export(reference, target, progress=second_export)["views"] == 16
    assert seen and target.is_file() and no_temporaries(tmp_path)


def test_an_export_removes_the_temporaries_a_killed_export_left(tmp_path, reference):
    """A killed export leaves its temporary (megabytes for HDF5); the next export of that output
    deletes it, and touches no other file."""
    pytest.importorskip("h5py", reason="h5py is not installed")
    from fat.exports.hdf5 import export

    dead, other = tmp_path / ".a.h5.999.0badf00d.part", tmp_path / ".b.h5.999.0badf00d.part"
    dead.write_bytes(b"x" * 1000)
    other.write_bytes(b"y")
    export(reference, tmp_path / "a.h5")
    assert not dead.exists() and other.read_bytes() == b"y" and (tmp_path / "a.h5").is_file()


def test_temporary_names_are_unique_per_write():
    """Two writers of one file (two exports, two processes) never share a temporary name."""
    p = Path("/x/out.h5")
    names = {fileio.temp_path(p) for _ in range(50)}
    assert len(names) == 50 and all(n.parent == p.parent and str(os.getpid()) in n.name for n in names)


# ============================================================================ symbolic links
@pytest.mark.parametrize("link", ["mixed", "mixed/kitchen_0"])
def test_a_folder_linked_outside_the_dataset_receives_nothing(tmp_path, reference, link):
    """A leaf folder (or mixed/) that is a symbolic link out of the dataset: refused in one line
    naming it, nothing written in its target (more cases: tests/test_links.py)."""
    out, outside = tmp_path / "out", tmp_path / "outside"
    shutil.copytree(reference, out)
    (out / manifest.MANIFEST).write_text("")  # every drop to redo
    shutil.move(out / link, outside)
    (out / link).symlink_to(outside, target_is_directory=True)
    before = tree(outside)
    with pytest.raises(OutputError, match=f"{link}: is a symbolic link"):
        generate(S, out)
    assert tree(outside) == before


def test_a_manifest_linked_outside_is_not_appended_to(tmp_path, reference):
    """manifest.jsonl as a symbolic link to a file elsewhere: refused, that file unchanged."""
    out, outside = tmp_path / "out", tmp_path / "elsewhere.jsonl"
    shutil.copytree(reference, out)
    lines = (out / manifest.MANIFEST).read_text().splitlines(keepends=True)
    outside.write_text("".join(lines[:-1]))
    (out / manifest.MANIFEST).unlink()
    (out / manifest.MANIFEST).symlink_to(outside)
    before = outside.read_bytes()
    with pytest.raises(OutputError, match="manifest.jsonl: is a symbolic link"):
        generate(S, out)
    assert outside.read_bytes() == before


@pytest.mark.slow
def test_stats_replace_linked_report_files_instead_of_writing_through(tmp_path, reference):
    """fat stats --out with report.md, stats.json and classes.png linked elsewhere: the links are
    replaced by the new files, the files they pointed to are unchanged."""
    out, outside = tmp_path / "stats", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    for name in ("report.md", "stats.json", "classes.png"):
        (outside / name).write_text("mine")
        (out / name).symlink_to(outside / name)
    r = fat("stats", reference, "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert all((outside / n).read_text() == "mine" for n in ("report.md", "stats.json", "classes.png"))
    assert not any((out / n).is_symlink() for n in ("report.md", "stats.json", "classes.png"))
    assert json.loads((out / "stats.json").read_text())["frames"]["total"] == 8


# ============================================================================ --overwrite
@pytest.mark.slow
def test_overwrite_deletes_only_the_old_datasets_files(tmp_path, reference):
    """--overwrite removes what the old dataset made, never other files under mixed/ or single/, nor
    a file outside the dataset that a manifest names."""
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    mine = {"mixed/notes.txt": "a", "mixed/kitchen_0/mine.txt": "b", "single/x/y.txt": "c", "README": "d"}
    for rel, text in mine.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    (tmp_path / "victim.txt").write_text("keep")
    with open(out / manifest.MANIFEST, "a") as f:
        f.write(json.dumps({"drop": "mixed/kitchen_0#9", "frames": 1, "files": {"../victim.txt": "0"}}) + "\n")
    generate(replace(S, scenes=("temple",), mixed_frames=2), out, overwrite=True)
    for rel, text in mine.items():
        assert (out / rel).read_text() == text
    assert (tmp_path / "victim.txt").read_text() == "keep"
    assert sorted(p.name for p in (out / "mixed/kitchen_0").iterdir()) == ["mine.txt"]
    assert len(manifest.load(out)) == 1


# ============================================================================ exports
@pytest.mark.slow
def test_an_export_never_replaces_an_existing_file_without_overwrite(tmp_path, reference):
    """fat export coco|hdf5 onto an existing file: refused in one line, the file unchanged; with
    --overwrite it is replaced."""
    pytest.importorskip("h5py", reason="h5py is not installed")
    pytest.importorskip("pycocotools", reason="pycocotools is not installed")
    for kind, name in (("hdf5", "x.h5"), ("coco", "x.json")):
        target = tmp_path / name
        target.write_text("precious")
        r = fat("export", kind, reference, target, "--quiet")
        one_line_error(r, "exists; use --overwrite to replace it")
        assert target.read_text() == "precious"
        r = fat("export", kind, reference, target, "--quiet", "--overwrite")
        assert r.returncode == 0, r.stderr
        assert target.read_bytes() != b"precious"
    assert no_temporaries(tmp_path) and not list(tmp_path.glob(".*.lock"))


def test_an_export_into_the_dataset_being_read_is_refused(tmp_path, reference):
    """fat export hdf5 DS DS/mixed/.../000000.left.json --overwrite would destroy a frame: refused,
    as is a BOP export into the dataset; the dataset is unchanged."""
    pytest.importorskip("h5py", reason="h5py is not installed")
    ds = tmp_path / "ds"
    shutil.copytree(reference, ds)
    before = digest(ds)
    r = fat("export", "hdf5", ds, ds / "mixed/kitchen_0/000000.left.json", "--quiet", "--overwrite")
    one_line_error(r, "inside the dataset")
    r = fat("export", "bop", ds, ".", "--quiet", "--renderer", "tiny", cwd=ds / "mixed")
    one_line_error(r, "inside the dataset")
    assert digest(ds) == before


def test_stale_coco_split_files_are_refused_or_removed(tmp_path, reference):
    """An earlier export left x.test.json; this dataset has no test frames: refused without
    --overwrite (the stale file would pass for this export's), removed with it."""
    pytest.importorskip("pycocotools", reason="pycocotools is not installed")
    stale = tmp_path / "x.test.json"
    stale.write_text("{}")
    r = fat("export", "coco", reference, tmp_path / "x.json", "--quiet")
    one_line_error(r, "x.test.json: exists; use --overwrite")
    assert not (tmp_path / "x.json").exists()
    r = fat("export", "coco", reference, tmp_path / "x.json", "--quiet", "--overwrite")
    assert r.returncode == 0, r.stderr
    assert not stale.exists() and (tmp_path / "x.train.json").is_file()


@pytest.mark.slow
def test_bop_export_into_the_current_folder_and_over_an_earlier_export(tmp_path, reference):
    """fat export bop DS . works in an empty folder; a second time it is refused, and replaces the
    earlier export (only its entries) with --overwrite."""
    cwd = tmp_path / "here"
    cwd.mkdir()
    r = fat("export", "bop", reference, ".", "--quiet", "--renderer", "tiny", cwd=cwd)
    assert r.returncode == 0, r.stderr
    first = tree(cwd)
    assert "scenes.json" in first and "models/models_info.json" in first
    r = fat("export", "bop", reference, ".", "--quiet", "--renderer", "tiny", cwd=cwd)
    one_line_error(r, "exists and is not empty; use --overwrite")
    (cwd / "notes.txt").write_text("mine")
    r = fat("export", "bop", reference, ".", "--quiet", "--renderer", "tiny", "--overwrite", cwd=cwd)
    assert r.returncode == 0, r.stderr
    assert tree(cwd) == {**first, "notes.txt": b"mine"}
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.txt").write_text("x")
    r = fat("export", "bop", reference, other, "--quiet", "--renderer", "tiny", "--overwrite")
    one_line_error(r, "not a BOP export made by fat")


# ============================================================================ full disk, read-only
@pytest.mark.parametrize("kind", ["hdf5", "bop", "stats"])
@pytest.mark.slow
def test_a_full_disk_during_an_export_or_stats_is_one_line_and_leaves_nothing(tmp_path, reference, kind):
    """Writes failing part-way (file size limit): one line, exit 1, no file under the final name
    and no temporary left (HDF5 used to crash and leave a .part)."""
    target = {"hdf5": tmp_path / "o" / "x.h5", "bop": tmp_path / "o" / "bop", "stats": tmp_path / "o" / "st"}[kind]
    (tmp_path / "o").mkdir()
    args = {"hdf5": ("export", "hdf5", reference, target), "bop": ("export", "bop", reference, target, "--renderer", "tiny"),
            "stats": ("stats", reference, "--out", target)}[kind]
    r = fat(*args, "--quiet", preexec_fn=file_size_limit(20_000))
    one_line_error(r, "cannot write: File too large")
    left = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "o").rglob("*"))
    if kind == "stats":  # the report and figures written before the fault are complete files
        assert no_temporaries(tmp_path) and "o/st/report.md" not in left
        for p in target.glob("*.png"):
            assert p.read_bytes().startswith(b"\x89PNG") and p.stat().st_size < 20_000
    else:
        assert left == [], left


@pytest.mark.parametrize("kind", ["hdf5", "coco", "stats"])
def test_a_read_only_output_during_an_export_or_stats_is_one_clear_error(tmp_path, reference, monkeypatch, kind):
    """EROFS when creating the output file: one OutputError, nothing left behind."""
    pytest.importorskip("h5py" if kind == "hdf5" else "pycocotools" if kind == "coco" else "matplotlib")

    def read_only(path):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(fileio, "_create", read_only)
    with pytest.raises(OutputError, match="cannot write: the file system is read-only"):
        if kind == "hdf5":
            from fat.exports.hdf5 import export

            export(reference, tmp_path / "x.h5")
        elif kind == "coco":
            from fat.exports.coco import export

            export(reference, tmp_path / "x.json")
        else:
            from fat.study.stats import write_report

            write_report(reference, tmp_path / "st")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_objects_to_a_full_disk_is_one_line(tmp_path):
    """fat objects --fat-settings > /dev/full: one error line and exit 1, not a traceback."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    for args in (("objects", "--fat-settings"), ("objects",)):
        with open("/dev/full", "w") as full:
            r = subprocess.run([FAT, *args], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
        one_line_error(r, "standard output: cannot write: the disk is full")
