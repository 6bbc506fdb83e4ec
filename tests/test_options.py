"""One option schema (fat.options) and one registry helper (fat.plugins.Registry): settings,
renderer options, randomizer options, export options and object-source options are the same
kind of field; the command line makes its flags from them in one place (fat.cli.options); every
registry is a Registry whose own plugins are fat/plugins.ini's; a bad value is one line naming the
key and the value."""

import ast
import dataclasses
from pathlib import Path

import click
import pytest

from fat import exports, objectsets, options, plugins, randomize, settings
from fat.errors import ConfigError
from fat.render import registry

ROOT = Path(__file__).resolve().parents[1]


def _fat_help(*args) -> str:
    from click.testing import CliRunner

    from fat.cli.main import cli

    return CliRunner().invoke(cli, [*args, "--help"], terminal_width=200).output


def test_every_option_is_a_field_of_the_one_schema():
    kinds = {
        "settings": [spec for _, spec in settings.specs()],
        "renderers": [spec for _, _, spec in registry.option_table()],
        "randomizers": [p for _, _, p, _ in randomize.option_help()],
        "exports": [spec for name in ("coco", "bop", "hdf5") for _, spec in options.fields(exports.load(name).options)],
        "object sources": [spec for _, spec in options.fields(objectsets.Options)],
    }
    for what, specs in kinds.items():
        assert specs or what == "exports", what
        assert all(isinstance(s, options.Field) and s.key for s in specs), what
    # the aliases the guides use are the schema's
    assert settings.Spec is options.Field and randomize.Param is options.Field
    from fat.render.base import OptionError, OptionSpec, option

    assert OptionSpec is options.Field and OptionError is options.OptionError
    assert dataclasses.fields(options.NoOptions) == ()
    f = dataclasses.fields(dataclasses.make_dataclass("R", [("gain", float, option("dim_gain", default=1.0))]))[0]
    assert f.metadata[options.META].flag == "--dim-gain"


def test_the_same_flags_and_keys_everywhere():
    """Each flag of the schema is on the command line, each key is a config key."""
    generate = _fat_help("generate")
    keys = settings.config_keys()
    for name, spec in settings.specs():
        assert keys[spec.key] == name
        if spec.flag:
            assert spec.flag in generate, spec.flag
    for _, _, spec in registry.option_table():
        assert spec.flag in generate and keys[spec.key] == spec.key
    bop = _fat_help("export", "bop")
    for _, spec in options.fields(exports.load("bop").options):
        assert spec.flag in bop
    assert "[default: auto]" in bop


def test_one_function_makes_the_click_options():
    from fat.cli.options import click_option, click_options

    flag = click_option(options.Field("camera_effects", "--camera-effects", "x", type="flag"))
    assert flag.opts == ["--camera-effects"] and flag.secondary_opts == ["--no-camera-effects"]
    assert flag.name == "camera_effects" and flag.default is None
    ranged = click_option(options.Field("q", "--q", type="range", bounds=lambda: (1, 100)))
    assert isinstance(ranged.type, click.IntRange) and (ranged.type.min, ranged.type.max) == (1, 100)
    f = click_option(options.Field("unreal_config", "--unreal-config", type="file"))
    assert isinstance(f.type, click.Path) and not f.type.dir_okay
    bop = click_options(exports.load("bop").options, with_defaults=True)
    assert [o.opts for o in bop] == [["--objects"], ["--renderer"]]
    assert [o.name for o in bop] == ["objects_dir", "renderer"] and bop[1].default == "auto"
    assert list(bop[1].type.choices) == list(registry.names())


def test_no_module_under_fat_imports_click():
    """The library's options are data; only the command line (cli/) knows click."""
    for path in (ROOT / "fat").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n == "click" or n.startswith("click.") for n in names), path


def test_our_plugins_are_listed_once_and_installed_from_that_list():
    """Catches: a second list of the project's own plugins (pyproject.toml's entry-point tables
    beside fat/plugins.ini), or an install whose recorded entry points differ from the list."""
    from importlib.metadata import entry_points

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "entry-points" not in project["project"] and "entry-points" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["entry-points"] == {"file": ["fat/plugins.ini"]}
    assert plugins.OURS == plugins.read_plugins(ROOT / "fat" / "plugins.ini") and plugins.OURS
    for group, ours in plugins.OURS.items():  # this environment's install (the README's) recorded them
        installed = {ep.name: ep.value for ep in entry_points(group=group) if ep.value.startswith("fat.")}
        assert installed == ours, group


def test_every_registry_is_a_registry_listing_every_plugin_of_ours():
    table = plugins.read_plugins(ROOT / "fat" / "plugins.ini")
    regs = {"fat.renderers": registry.REGISTRY, "fat.exports": exports.REGISTRY,
            "fat.object_sources": objectsets.REGISTRY, "fat.randomizers": randomize.REGISTRY}
    assert set(regs) == set(table)
    for group, reg in regs.items():
        assert isinstance(reg, plugins.Registry) and reg.group == group
        assert set(table[group]) <= set(reg.names())
        for name, value in table[group].items():
            assert reg.value(name) == value
    assert registry.names()[:5] == ("auto", *table["fat.renderers"])
    assert randomize.names()[:6] == tuple(table["fat.randomizers"])
    assert [n for n, _ in objectsets.sources()][-1] == "meshes"
    assert exports.names()[:3] == sorted(table["fat.exports"])
    for name in table["fat.renderers"]:
        assert registry.renderer_class(name).name == name
    for name in table["fat.randomizers"]:
        assert randomize.randomizer_class(name).name == name


@dataclasses.dataclass(frozen=True)
class _Gain:
    gain: float = options.option(1.0, key="my_gain", flag="--my-gain", type="float", kind="number", low=0.0, high=1.0)
    name: str | None = options.option(None, check=lambda k, v: v.strip() if isinstance(v, str) else v)
    weights: dict = options.option({"a": 1.0}, kind="weights", names=("a", "b"))

    def check(self):
        if self.name == "dark" and self.gain > 0.5:
            raise options.OptionError("my_gain", f"my_gain must be at most 0.5 for dark, got {self.gain}")


def test_build_checks_each_field_then_the_options_own_check():
    assert options.build(_Gain, {"my_gain": 0.25, "name": " x "}) == _Gain(0.25, "x")
    assert options.build(_Gain, {}).weights == {"a": 1.0}
    assert options.build(_Gain, {}).weights is not options.build(_Gain, {}).weights  # a dict default is copied
    assert options.keys(_Gain) == {"my_gain": "gain", "name": "name", "weights": "weights"}
    assert options.values(_Gain()) == {"my_gain": 1.0, "name": None, "weights": {"a": 1.0}}
    assert [row["key"] for row in options.describe(_Gain)] == ["my_gain", "name", "weights"]
    with pytest.raises(options.OptionError, match=r"^my_gain must be at most 0.5 for dark, got 0.75$"):
        options.build(_Gain, {"my_gain": 0.75, "name": "dark"})


@pytest.mark.parametrize("given, message", [
    ({"my_gain": "loud"}, "my_gain: must be a finite number, got 'loud'"),
    ({"my_gain": 3}, "my_gain: must be within [0, 1], got 3"),
    ({"weights": {"c": 1}}, "weights: unknown name 'c'; known: a, b"),
    ({"gian": 1}, "gian: unknown option; known: my_gain, name, weights"),
])
def test_a_bad_value_is_one_line_naming_the_key_and_the_value(given, message):
    with pytest.raises(ConfigError) as e:
        options.build(_Gain, given)
    assert str(e.value) == message and "\n" not in str(e.value) and e.value.key == next(iter(given))


def test_each_kind_of_option_names_its_key_and_value():
    from fat.catalog import fat_objects

    with pytest.raises(ConfigError, match=r"^unrealcv must be text, got 5$") as e:
        registry.check_options("unrealcv", {"unrealcv": 5}, fat_objects())
    assert e.value.key == "unrealcv"
    with pytest.raises(ConfigError, match=r"^--renderer unrealcv needs --unrealcv HOST:PORT$"):
        registry.check_options("unrealcv", {}, fat_objects())
    with pytest.raises(randomize.RandomizeError, match=r"^randomize\.lights\.count: must be two integers"):
        randomize.check_table({"lights": {"count": [1, "x"]}})
    with pytest.raises(ConfigError, match=r"^--renderer unrealcv: the BOP export renders each object alone"):
        exports.options(exports.load("bop"), {"renderer": "unrealcv"})
    assert exports.options(exports.load("bop"), {}) == {"objects_dir": None, "renderer": "auto"}


def test_a_plugin_that_is_not_one_is_refused_in_one_line(monkeypatch):
    reg = plugins.Registry("fat.test_nothing", "export plugin", needs=("help", "run"), calls=("run",),
                           not_plugin="{what} {name} ({value}) is not an export: it lacks {lacks}")
    monkeypatch.setitem(plugins.OURS, "fat.test_nothing", {"odd": "fat.options:NoOptions", "gone": "fat.nothing_here:X"})
    assert reg.names() == ("odd", "gone")
    with pytest.raises(ConfigError, match=r"^export plugin odd \(fat.options:NoOptions\) is not an export: it lacks help, run$"):
        reg.load("odd")
    with pytest.raises(ConfigError, match=r"^export plugin gone: cannot load fat.nothing_here:X \(ModuleNotFoundError"):
        reg.load("gone")


def test_the_docs_tables_name_every_option_of_the_schema():
    """Catches: a setting, a renderer option or a randomizer option added to the schema (and so to
    the command line and the config keys) without its row in the user's tables."""
    docs = ROOT / "docs"
    generating = (docs / "generating.md").read_text()
    renderers = generating + (docs / "renderers.md").read_text() + (docs / "looks.md").read_text()
    rows = [line for line in (docs / "randomization.md").read_text().splitlines() if line.startswith("| `")]
    missing = [spec.flag for _, spec in settings.specs() if spec.flag and spec.flag not in generating]
    missing += [spec.flag for name, _, spec in registry.option_table() if spec.flag not in renderers]
    missing += [f"{r}.{key}" for r, key, _, _ in randomize.option_help() if key not in ("enabled", "probability")
                and not any(line.startswith(f"| `{r}` |") and f"`{key}`" in line.split("|")[2] for line in rows)]
    assert not missing, f"options without a row in docs/: {missing}"


def test_the_object_sources_options_are_one_schema_for_generate_objects_and_the_library():
    """Catches: ``--units``, ``--align`` and ``--class-names`` described three times (the object
    sources' Options, the settings, ``fat objects``), drifting apart in key, flag or help."""
    from fat.cli.objects import objects_cmd

    source = dict(options.fields(objectsets.Options))
    setting = dict(settings.specs())
    flags = {p.opts[0]: p for p in objects_cmd.params if isinstance(p, click.Option)}
    for name in ("units", "align", "class_names"):
        s, o = setting[name], source[name]
        assert (s.key, s.flag, s.help) == (o.key, o.flag, o.help), name
        assert flags[o.flag].help == o.help and flags[o.flag].name == o.key
