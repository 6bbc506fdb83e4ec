"""Symbolic links: nothing is written, deleted or read outside the output folder through a link at
any depth, by ``fat generate`` (new, resume, --overwrite, --repair, a link put in place while the
run goes on) and by the exports; an HDF5 file that would make the reader open another file
(external storage, an external link, a virtual dataset) is refused by ``fat.Dataset``, ``fat
stats`` and ``fat show``.

"Unchanged" is checked on every entry under the folder the link leads to (links not followed):
kind, bytes, modification time in nanoseconds, and the folder's own modification time, so a file
written and removed again (a temporary) is caught too.
"""

import os
import shutil
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import fat
from fat import fileio
from fat.run import manifest
from fat.errors import FormatError, OutputError
from fat.run.driver import generate
from fat.settings import Settings

FAT = shutil.which("fat") or str(Path(sys.executable).with_name("fat"))
S = Settings(scenes=("kitchen",), locations=(0,), mixed_frames=4, frames_per_drop=2, width=160, height=90,
             renderer="tiny", seed=3)
CLI_ARGS = ["--scene", "kitchen", "--location", "0", "--frames", "4", "--frames-per-drop", "2", "--width", "160",
            "--height", "90", "--renderer", "tiny", "--seed", "3", "--quiet"]


def snapshot(folder: Path) -> dict:
    """Every entry under ``folder`` and the folder itself, links not followed: (kind, bytes or link
    target, mtime in ns)."""
    out = {}
    for p in [folder, *sorted(folder.rglob("*"))]:
        st = p.lstat()
        if stat.S_ISLNK(st.st_mode):
            content = os.readlink(p)
        elif stat.S_ISREG(st.st_mode):
            content = p.read_bytes()
        else:
            content = None
        out[p.relative_to(folder).as_posix()] = (stat.S_IFMT(st.st_mode), content, st.st_mtime_ns)
    return out


def contents(out: Path) -> dict:
    """:func:`snapshot` of a dataset without the folder's own entry (whose time changes with the
    lock file a run creates and removes)."""
    return {k: v for k, v in snapshot(out).items() if k != "."}


def fat_cmd(*args, cwd=None):
    return subprocess.run([FAT, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600)


def one_line_error(r, *texts: str) -> str:
    """The command failed with exit 1 and one error line (the last line, no traceback) holding ``texts``."""
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("fat: error:")]
    assert len(errors) == 1 and r.stderr.strip().splitlines()[-1] == errors[0], r.stderr
    for text in texts:
        assert text in errors[0], errors[0]
    return errors[0]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "out"
    generate(S, out)
    return out


def linked_copy(tmp_path: Path, reference: Path, link: str) -> tuple[Path, Path]:
    """A copy of the reference dataset at ``tmp_path/out`` whose ``link`` (a folder or file of it)
    was moved to ``tmp_path/outside`` and replaced by a relative symbolic link to it."""
    out, outside = tmp_path / "out", tmp_path / "outside"
    shutil.copytree(reference, out)
    shutil.move(out / link, outside)
    (out / link).symlink_to(os.path.relpath(outside, (out / link).parent), target_is_directory=outside.is_dir())
    return out, outside


# ============================================================================ fat generate
@pytest.mark.parametrize("mode", ["resume", "overwrite", "repair", "redo"])
@pytest.mark.parametrize("link", ["mixed", "mixed/kitchen_0"])
def test_generate_refuses_a_linked_folder_and_touches_nothing(tmp_path, reference, monkeypatch, link, mode):
    """``mixed/`` or the leaf folder ``mixed/kitchen_0`` a symbolic link to a folder outside OUT, OUT
    given as a relative path (as on the command line): a plain rerun, ``--overwrite``, ``--repair``
    and a rerun with drops to redo (an empty manifest) all stop with one error naming the link, and
    neither the folder outside nor the dataset changes. Catches a check that resolves a relative
    OUT twice and passes the link (a resume used to rewrite the settings files out there, and
    ``--overwrite`` to delete and rewrite the frames), deletions made before the refusal, and a run
    that only refuses links leading out of OUT when it has drops to make."""
    out, outside = linked_copy(tmp_path, reference, link)
    if mode == "redo":
        (out / manifest.MANIFEST).write_text("")
    before, dataset = snapshot(outside), contents(out)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError, match=f"^out/{link}: is a symbolic link"):
        generate(S, Path("out"), overwrite=mode == "overwrite", repair=mode == "repair")
    assert snapshot(outside) == before
    assert contents(out) == dataset


@pytest.mark.parametrize("mode", ["overwrite", "repair"])
def test_generate_refuses_a_linked_frame_file(tmp_path, reference, mode):
    """One frame file a symbolic link to a file outside OUT: ``--repair`` would read it (sha256) and
    ``--overwrite`` delete it; both refuse it in one error naming it. Catches a scan that looks at
    folders only."""
    out, outside = linked_copy(tmp_path, reference, "mixed/kitchen_0/000001.left.jpg")
    before, dataset = outside.read_bytes(), contents(out)
    mtime = outside.stat().st_mtime_ns
    with pytest.raises(OutputError, match="000001.left.jpg: is a symbolic link"):
        generate(S, out, overwrite=mode == "overwrite", repair=mode == "repair")
    assert outside.read_bytes() == before and outside.stat().st_mtime_ns == mtime
    assert contents(out) == dataset


@pytest.mark.parametrize("mode", ["resume", "overwrite", "repair"])
def test_generate_refuses_a_link_it_would_not_use(tmp_path, reference, mode):
    """A link in OUT where fat writes nothing (``OUT/notes`` leading to a folder elsewhere) on a
    finished dataset: refused too, naming it, whatever the mode, and nothing changes. Catches a
    rerun that finds every drop finished and skips the check."""
    out, outside = tmp_path / "out", tmp_path / "outside"
    shutil.copytree(reference, out)
    outside.mkdir()
    (outside / "a.txt").write_text("mine")
    (out / "notes").symlink_to(outside, target_is_directory=True)
    before, dataset = snapshot(outside), contents(out)
    with pytest.raises(OutputError, match="notes: is a symbolic link"):
        generate(S, out, overwrite=mode == "overwrite", repair=mode == "repair")
    assert snapshot(outside) == before and contents(out) == dataset


@pytest.mark.parametrize("mode", ["resume", "overwrite", "repair"])
@pytest.mark.slow
def test_generate_cli_refuses_a_linked_leaf_folder_in_one_line(tmp_path, mode):
    """The command line, OUT relative to the working folder: exit 1, one line naming the link, the
    folder outside unchanged. Catches a check that works for absolute paths only."""
    r = fat_cmd("generate", "out", *CLI_ARGS, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out, outside = tmp_path / "out", tmp_path / "outside"
    shutil.move(out / "mixed/kitchen_0", outside)
    (out / "mixed/kitchen_0").symlink_to("../../outside", target_is_directory=True)
    before = snapshot(outside)
    flag = {"resume": [], "overwrite": ["--overwrite"], "repair": ["--repair"]}[mode]
    r = fat_cmd("generate", "out", *CLI_ARGS, *flag, cwd=tmp_path)
    one_line_error(r, "out/mixed/kitchen_0: is a symbolic link (to ../../outside)")
    assert snapshot(outside) == before


@pytest.mark.parametrize("link", ["mixed", "mixed/kitchen_0"])
def test_a_link_put_in_place_during_the_run_is_not_written_through(tmp_path, reference, monkeypatch, link):
    """After the first drop is recorded, ``mixed/`` (or the leaf folder) is moved elsewhere and a
    symbolic link put in its place: the next frame file is refused (one error naming the link), and
    nothing is written in the folder the link leads to. Catches frame writers that open files by
    path (following the link) instead of through the folders opened without following links."""
    out, outside = tmp_path / "out", tmp_path / "outside"
    real_add = manifest.Writer.add
    state = {}

    def add(self, *args, **kw):
        real_add(self, *args, **kw)
        if not state:
            shutil.move(out / link, outside)
            (out / link).symlink_to(outside, target_is_directory=True)
            state["before"] = snapshot(outside)

    monkeypatch.setattr(manifest.Writer, "add", add)
    with pytest.raises(OutputError, match=f"{link}: is a symbolic link"):
        generate(S, out)
    assert state and snapshot(outside) == state["before"]
    assert len(manifest.load(out)) == 1  # the second drop was not recorded


@pytest.mark.slow
def test_a_fresh_run_and_its_overwrite_still_work_without_links(tmp_path, reference):
    """No link: a new run, a rerun, ``--repair`` and ``--overwrite`` give the reference bytes and
    leave no temporary. Catches the folder-by-folder writes and deletions breaking the ordinary case."""
    out = tmp_path / "out"
    generate(S, out)
    assert generate(S, out)["drops"] == 0
    (out / "mixed/kitchen_0/000000.left.jpg").write_bytes(b"changed")
    assert generate(S, out, repair=True)["drops"] == 1
    generate(replace(S, seed=4), out, overwrite=True)
    generate(S, out, overwrite=True)

    def files(root):
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file() and p.name != manifest.MANIFEST}

    assert files(out) == files(reference)
    assert not list(out.rglob(f".*{fileio.TMP_SUFFIX}"))


# ============================================================================ exports
def test_a_bop_export_refuses_a_link_inside_its_folder(tmp_path, reference):
    """``fat export bop DS OUT`` where an earlier export's ``models`` is a symbolic link to a folder
    elsewhere: refused in one line naming it, with and without --overwrite, before anything is
    written or deleted; the folder the link leads to is unchanged. Catches --overwrite replacing
    (or, through the link, emptying) what the link leads to."""
    out, outside = tmp_path / "bop", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (outside / "obj_000001.ply").write_text("ply\n")
    (out / "scenes.json").write_text("{}")
    (out / "models").symlink_to(outside, target_is_directory=True)
    before, target = snapshot(outside), contents(out)
    for flag in ([], ["--overwrite"]):
        r = fat_cmd("export", "bop", reference, out, "--renderer", "tiny", "--quiet", *flag)
        one_line_error(r, f"{out / 'models'}: is a symbolic link")
        assert snapshot(outside) == before and contents(out) == target


@pytest.mark.parametrize("kind", ["coco", "hdf5"])
@pytest.mark.slow
def test_a_linked_export_file_is_refused_or_replaced_never_written_through(tmp_path, reference, kind):
    """``fat export coco|hdf5 DS T`` where T (and for COCO a split file beside it) is a symbolic
    link to a file elsewhere: refused in one line naming the link without --overwrite; with it the
    link itself is replaced by the export, and the file it led to is unchanged. Catches an export
    that opens its target by name and writes into the linked file."""
    pytest.importorskip("h5py" if kind == "hdf5" else "pycocotools")
    outside = tmp_path / "outside"
    outside.mkdir()
    name = {"coco": "x.json", "hdf5": "x.h5"}[kind]
    links = [name] + (["x.train.json"] if kind == "coco" else [])
    for n in links:
        (outside / n).write_text("mine")
        (tmp_path / n).symlink_to(outside / n)
    before = snapshot(outside)
    r = fat_cmd("export", kind, reference, tmp_path / name, "--quiet")
    one_line_error(r, f"{tmp_path / name}: exists (a symbolic link to {outside / name})")
    assert snapshot(outside) == before
    r = fat_cmd("export", kind, reference, tmp_path / name, "--quiet", "--overwrite")
    assert r.returncode == 0, r.stderr
    assert snapshot(outside) == before
    for n in links:
        assert not (tmp_path / n).is_symlink() and (tmp_path / n).stat().st_size > 4


# ============================================================================ HDF5 reading
@pytest.fixture(scope="module")
def h5(reference, tmp_path_factory):
    pytest.importorskip("h5py", reason="h5py is not installed")
    from fat.exports.hdf5 import export

    out = tmp_path_factory.mktemp("h5") / "x.h5"
    export(reference, out)
    return out


def _redirected(h5: Path, tmp_path: Path, how: str) -> tuple[Path, Path]:
    """A copy of ``h5`` whose ``/depth`` reads another file in ``tmp_path/outside`` (holding the same
    values, so a reader that follows it would succeed): HDF5 external storage, an external link or
    a virtual dataset."""
    import h5py

    outside = tmp_path / "outside"
    outside.mkdir()
    path = tmp_path / f"{how}.h5"
    shutil.copyfile(h5, path)
    with h5py.File(path, "r+") as f:
        depth = f["depth"][()]
        del f["depth"]
        if how == "external":
            raw = outside / "depth.raw"
            raw.write_bytes(depth.tobytes())
            f.create_dataset("depth", depth.shape, depth.dtype, external=[(str(raw), 0, depth.nbytes)])
        else:
            other = outside / "depth.h5"
            with h5py.File(other, "w") as g:
                g["depth"] = depth
            if how == "link":
                f["depth"] = h5py.ExternalLink(str(other), "/depth")
            else:
                layout = h5py.VirtualLayout(depth.shape, depth.dtype)
                layout[...] = h5py.VirtualSource(str(other), "depth", shape=depth.shape)
                f.create_virtual_dataset("depth", layout)
    with h5py.File(path, "r") as f:  # what the file does when followed: the other file's values
        assert np.array_equal(f["depth"][()], depth)
    return path, outside


WHAT = {"external": "HDF5 external storage", "link": "an external link to", "virtual": "a virtual dataset"}


@pytest.mark.parametrize("how", ["external", "link", "virtual"])
def test_dataset_refuses_an_hdf5_file_that_reads_another_file(tmp_path, h5, how):
    """``fat.Dataset`` on an .h5 whose ``/depth`` is stored in another file (external storage), is
    an external link, or is a virtual dataset: FormatError naming the file and ``/depth``, before any
    item is read. Catches a reader that would hand another file's bytes out as depth."""
    path, outside = _redirected(h5, tmp_path, how)
    before = snapshot(outside)
    with pytest.raises(FormatError, match="not a self-contained HDF5 export") as e:
        fat.Dataset(path, fields=("depth",))
    assert str(e.value).startswith(f"{path}: ") and "/depth: " in str(e.value) and WHAT[how] in str(e.value)
    assert "\n" not in str(e.value)
    assert snapshot(outside) == before
    fat.Dataset(h5, fields=("depth",))[0]  # the export itself reads


@pytest.mark.parametrize("how", ["external", "link", "virtual"])
@pytest.mark.slow
def test_stats_and_show_refuse_an_hdf5_file_that_reads_another_file(tmp_path, h5, how):
    """``fat stats --images`` and ``fat show`` on such a file: exit 1, one error line naming the file
    and the object, no report or picture written. Catches the commands reading around the check
    (fat show asks the file whether it holds instance maps before it opens the dataset)."""
    path, outside = _redirected(h5, tmp_path, how)
    before = snapshot(outside)
    r = fat_cmd("stats", path, "--out", tmp_path / "st", "--images", "--quiet")
    one_line_error(r, str(path), "/depth", WHAT[how])
    assert not (tmp_path / "st" / "stats.json").exists()
    r = fat_cmd("show", path, "0", "--out", tmp_path / "f.png")
    one_line_error(r, str(path), "/depth", WHAT[how])
    assert not (tmp_path / "f.png").exists()
    assert snapshot(outside) == before
