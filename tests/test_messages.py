"""What the command line and the library say: near misses named, summaries whole, useful reprs,
the empty test split said."""

from __future__ import annotations

import pytest

from fat import Dataset
from fat.catalog import fat_objects
from fat.errors import ConfigError
from fat.randomize import check_table
from fat.settings import from_values
from fat_cli import run_fat


def test_a_misspelt_config_key_or_randomizer_names_the_nearest():
    """Catches an unknown-name error that lists 36 keys but not the one meant."""
    with pytest.raises(ConfigError, match=r"unknown setting 'seeed'; did you mean 'seed'\?"):
        from_values({"seeed": 1})
    with pytest.raises(ConfigError, match=r"unknown randomizer; did you mean lights\?"):
        check_table({"lightz": {"count": 2}})
    with pytest.raises(ConfigError, match=r"unknown option; did you mean count\?"):
        check_table({"lights": {"cont": 2}})


def test_fat_help_gives_each_command_a_whole_summary(capfd):
    """Catches summaries cut mid-phrase ("drops in PyBullet,...")."""
    rc, out, _ = run_fat(capfd, "--help")
    from fat.cli.main import cli

    commands = out.split("Commands:")[1].strip().splitlines()
    assert rc == 0 and len(commands) == len(cli.commands) >= 7
    assert all(not line.rstrip().endswith("...") for line in commands), out


def test_reprs_say_what_a_dataset_and_an_object_set_hold(tmp_path, capfd):
    """Catches the default reprs (an object's address; a page of ObjectInfo fields)."""
    rc, out, _ = run_fat(capfd, "generate", tmp_path / "ds", "--scene", "kitchen", "--frames", "2", "--width", "96",
                         "--height", "64", "--renderer", "tiny", "--quiet")
    assert rc == 0
    assert "no test split: the held-out location 4 is not in the plan" in out.splitlines()[-1]
    d = Dataset(tmp_path / "ds")
    assert repr(d) == (f"Dataset({str(tmp_path / 'ds')!r}: 2 items (left) from 2 frames in 1 folders (mixed 1); "
                       "21 objects; fields rgb, depth, seg, annotations)")
    assert repr(fat_objects()).startswith("ObjectSet('fat': 21 objects (002_master_chef_can, 003_cracker_box, ")
    rc, out, _ = run_fat(capfd, "generate", tmp_path / "ds4", "--scene", "kitchen", "--location", "4", "--frames", "2",
                         "--width", "96", "--height", "64", "--renderer", "tiny", "--quiet")
    assert rc == 0 and "test split" not in out


def test_generate_help_groups_every_option_once_with_one_style_of_default(capfd):
    """Catches: `fat generate --help` as one long list, an option missing from its groups or listed
    twice, and defaults written two ways ("[20]" beside "[default: 1]")."""
    import re

    from fat.cli.generate import SECTIONS, generate_cmd

    rc, out, _ = run_fat(capfd, "generate", "--help")
    assert rc == 0
    headings = [h for h, _ in SECTIONS]
    found = re.findall(r"^(\S[^:\n]*):$", out, re.M)
    assert found == headings, found  # every option is in a group: no "Other options"
    flags = re.findall(r"^  (--[a-z-]+)", out, re.M)
    params = [p for p in generate_cmd.params if p.param_type_name == "option"]
    assert sorted(flags) == sorted(p.opts[0] for p in params if p.opts[0].startswith("--"))
    text = re.sub(r"\s+", " ", out)
    assert "[default: mixed]" in text and "[default: 95; 1<=x<=100]" in text and "[default: 1; 1<=x<=256]" in text
    assert not re.search(r"\.\s+\[(?!default: |\d+<=x)[^\]|]+\]", text), text
