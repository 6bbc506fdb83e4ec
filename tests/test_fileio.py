"""fat.fileio's atomic writes of files written by name and of whole folders."""

import pytest

from fat import fileio


def test_writing_renames_when_complete_and_removes_the_temporary_on_failure(tmp_path):
    out = tmp_path / "a.obj"
    with fileio.writing(out) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".a.obj.") and tmp.name.endswith(fileio.TMP_SUFFIX)
        assert not out.exists()
        tmp.write_text("v 0 0 0\n")
    assert out.read_text() == "v 0 0 0\n"
    with pytest.raises(RuntimeError):
        with fileio.writing(out) as tmp:
            tmp.write_text("half")
            raise RuntimeError("stop")
    assert out.read_text() == "v 0 0 0\n" and sorted(p.name for p in tmp_path.iterdir()) == ["a.obj"]


def test_a_temporary_folder_replaces_the_folder_whole(tmp_path):
    final = tmp_path / "asset"
    final.mkdir()
    (final / "old.txt").write_text("old")
    tmp = fileio.temp_folder(final)
    assert tmp.is_dir() and not any(tmp.iterdir()) and tmp.name.startswith(".asset.")
    (tmp / "new.txt").write_text("new")
    assert fileio.commit_folder(tmp, final)
    assert [p.name for p in final.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["asset"]  # no temporary, no old folder left


def test_a_temporary_folder_is_never_made_through_a_link(tmp_path, monkeypatch):
    target = tmp_path / "elsewhere"
    target.mkdir()
    monkeypatch.setattr(fileio, "temp_path", lambda path: tmp_path / "link")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(fileio.OutputError, match="cannot create the folder"):
        fileio.temp_folder(tmp_path / "x")
