"""Export plugins: ``fat export NAME`` comes from the entry-point group ``fat.exports``. A package
installed the usual way (a module and its ``*.dist-info`` with ``entry_points.txt`` on the path)
adds a subcommand with its own options; a broken or unknown one is refused in one line."""

import os
import subprocess
import sys

import pytest

from plugin_examples import install

@pytest.fixture
def plugin_path(tmp_path):
    return install(tmp_path / "site", "fat_listing", ["fat_listing"], "broken = fat_listing_missing:Nope\n")


def fat(site, *args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "fat.cli.main", *map(str, args)], capture_output=True, text=True, env=env)


@pytest.mark.slow
def test_a_third_party_export_plugin_runs_from_the_cli(plugin_path, small_dataset, tmp_path):
    out = tmp_path / "views.txt"
    r = fat(plugin_path, "export", "listing", small_dataset, out, "--sep", ";", "--quiet")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{out}: 96 views"
    lines = out.read_text().splitlines()
    assert len(lines) == 96 and lines[0].split(";")[:3] == ["mixed/kitchen_0", "0", "left"]
    assert all(int(line.split(";")[3]) >= 1 for line in lines)
    r = fat(plugin_path, "export", "listing", small_dataset, out, "--quiet")  # the common options come with it
    assert r.returncode == 1 and r.stderr.strip() == f"fat: error: {out}: exists; use --overwrite to replace it"
    help_ = fat(plugin_path, "export", "--help").stdout
    for name in ("listing", "coco", "bop", "hdf5"):
        assert f"  {name} " in help_, help_
    assert "One line per view" in help_ and "cannot be loaded" in help_
    assert "--sep" in fat(plugin_path, "export", "listing", "--help").stdout
    r = fat(plugin_path, "export", "listing", small_dataset, tmp_path / "other.txt", "--sep", "", "--quiet")
    assert r.returncode == 1 and r.stderr.strip() == "fat: error: --sep must be one or more characters on one line, got ''"


def test_a_broken_or_unknown_plugin_is_one_line(plugin_path, small_dataset, tmp_path):
    r = fat(plugin_path, "export", "broken", small_dataset, tmp_path / "x", "--quiet")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith("fat: error: export plugin broken (fat_listing_missing:Nope) cannot be loaded: "
                               "ModuleNotFoundError"), r.stderr
    r = fat(plugin_path, "export", "nothing", small_dataset, tmp_path / "x")
    assert r.returncode == 2 and r.stderr.strip() == "fat export: error: no export named 'nothing'; known: bop, broken, coco, hdf5, listing"
    assert not (tmp_path / "x").exists()


def test_the_registry_loads_ours():
    from fat import exports

    assert {"coco", "bop", "hdf5"} <= set(exports.names())
    for name in ("coco", "bop", "hdf5"):
        plugin = exports.load(name)
        assert plugin.help and callable(plugin.run)
