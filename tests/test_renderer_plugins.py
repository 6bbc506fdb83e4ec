"""A renderer from another package, registered the way a third-party package registers it: a
module and its distribution's ``entry_points.txt`` (group ``fat.renderers``) on the path. ``fat
generate`` offers it, its options and config keys, and makes a FAT-valid dataset with it."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from plugin_examples import install

from fat.errors import ConfigError
from fat.render import registry
from fat.render.base import Capabilities, Renderer, option_specs



@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory):
    """The plugin of docs/renderers.md ("Writing a renderer plugin"), exactly, installed."""
    return install(tmp_path_factory.mktemp("plugin"), "fat_dim_renderer", ["fat_dim_renderer"])


def fat(plugin_path, *args, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_path), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "fat.cli.main", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


SMALL = ["--scene", "kitchen", "--object", "banana", "--object", "mug", "--frames", "2", "--frames-per-drop", "2",
         "--width", "96", "--height", "64", "--seed", "5", "--quiet"]


@pytest.mark.slow
def test_a_plugin_renderer_makes_a_fat_valid_dataset(plugin_path, tmp_path):
    r = fat(plugin_path, "generate", "--help", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "dim: TinyRenderer's images, dimmed" in " ".join(r.stdout.split()) and "--dim-gain X" in r.stdout
    r = fat(plugin_path, "generate", "out", "--renderer", "dim", "--dim-gain", "0.5", *SMALL, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "renderer dim" in r.stdout
    record = json.loads((tmp_path / "out" / "fat_dataset.json").read_text())
    assert record["renderer"] == "dim" and record["settings"]["renderer_options"] == {"dim_gain": 0.5}
    assert record["settings_version"] == 2
    r = fat(plugin_path, "validate", "out", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    # the same run again finishes nothing new: the settings, options included, are the dataset's
    r = fat(plugin_path, "generate", "out", "--renderer", "dim", "--dim-gain", "0.5", *SMALL, cwd=tmp_path)
    assert r.returncode == 0 and "wrote 0 stereo frames, 2 done before" in r.stdout, r.stderr


def test_a_plugins_options_are_config_keys_checked_by_the_plugin(plugin_path, tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"renderer": "dim", "dim_gain": 7}))
    r = fat(plugin_path, "generate", "out", "--config", cfg, *SMALL, cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.strip() == f"fat: error: {cfg}: dim_gain: dim gain must be in (0, 1], got 7.0"
    r = fat(plugin_path, "generate", "out", "--dim-gain", "0.5", *SMALL, cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.strip() == "fat: error: --dim-gain goes with --renderer dim"
    assert not (tmp_path / "out").exists()


def test_ours_are_registered_with_their_capabilities_and_options():
    assert registry.names()[:5] == ("auto", "gl", "tiny", "egl", "unrealcv")
    for name in ("gl", "tiny", "egl", "unrealcv"):
        cls = registry.renderer_class(name)
        assert issubclass(cls, Renderer) and cls.name == name and isinstance(cls.capabilities, Capabilities)
    assert registry.renderer_class("unrealcv").capabilities.needs_game
    keys = {name: [spec.key for _, spec in option_specs(registry.options_type(name))]
            for name in ("auto", "gl", "tiny", "egl", "unrealcv")}
    assert keys == {"auto": ["gl_device", "hdri", "textures"], "gl": ["gl_device", "hdri", "textures"], "tiny": [], "egl": [],
                    "unrealcv": ["unrealcv", "unreal_config"]}
    with pytest.raises(ConfigError, match="unknown renderer 'vulkan'; choose from auto, gl, tiny, egl, unrealcv"):
        registry.make("vulkan")


def test_a_renderer_must_implement_the_interface():
    class Half(Renderer):
        name = "half"

        def close(self):
            pass

    with pytest.raises(TypeError, match="render"):
        Half()
    assert textwrap.dedent(Renderer.__doc__).startswith("Base of every renderer")
