"""``fat generate OUT``: make a FAT-style dataset."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from fat.errors import ConfigError
from fat.plan import total_frames
from fat.render import registry
from fat.run import check_output, generate
from fat import randomize
from fat.settings import EXTRA_KEYS, SettingError, config_keys, from_values, n_locations, specs, validate


try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    tomllib = None


def read_config(path: Path) -> dict:
    """A JSON or TOML file of settings, keys as the long options (``jpeg_quality``, ``scene``...)."""
    try:
        text = path.read_text("utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the config file: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start})") from None
    try:
        if path.suffix == ".toml":
            if tomllib is None:
                raise ConfigError(f"{path}: TOML needs Python 3.11; use a .json config")
            doc = tomllib.loads(text)
        else:
            doc = json.loads(text)
    except (ValueError, getattr(tomllib, "TOMLDecodeError", ValueError)) as e:
        raise ConfigError(f"{path}: not valid {'TOML' if path.suffix == '.toml' else 'JSON'}: "
                          f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a config file") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a table of settings")
    known = config_keys()
    for k in doc:
        if k.replace("-", "_") not in known:
            raise ConfigError(f"{path}: unknown setting {k!r}; known: {', '.join(sorted(known))}")
    return {k.replace("-", "_"): v for k, v in doc.items()}


def _config_key(setting: str, values: dict, from_file: set[str]) -> str | None:
    """The config-file key that gave the value of ``setting``, if it came from the file."""
    if setting in ("mixed_frames", "single_frames") and values.get(setting) is None:
        keys = ["frames"]
    else:
        keys = [k for k, name in config_keys().items() if name == setting]
    for k in keys:
        if values.get(k) is not None:
            return k if k in from_file else None
    return None


def _click_type(spec):
    if spec.type == "int":
        return int
    if spec.type == "float":
        return float
    if spec.type == "path":
        return click.Path(path_type=Path)
    if spec.type == "choice":
        return click.Choice(list(spec.choices()))
    if spec.type == "range":
        return click.IntRange(*spec.bounds())
    return None


def _renderer_help() -> str:
    parts = ["auto: gl where EGL works, else tiny"]
    for name in registry.names()[1:]:
        try:
            doc = (registry.renderer_class(name).__doc__ or "").strip().splitlines()
        except ConfigError:
            doc = []
        parts.append(f"{name}: {doc[0].rstrip('.')}" if doc else name)
    return "; ".join(parts) + ". [auto]"


def setting_options(command):
    """The options of every setting with a flag (from the Settings schema) and of every registered
    renderer (from the registry), each stored under its config-file key."""
    last = n_locations() - 1
    options = []
    for name, spec in specs():
        if spec.flag is None:
            continue
        if spec.type == "flag":  # --x / --no-x; not given: None, so a config file's value stands
            options.append(click.option(f"{spec.flag}/--no-{spec.flag[2:]}", spec.key, default=None,
                                        help=spec.help.format(last=last)))
            continue
        options.append(click.option(spec.flag, spec.key, type=_click_type(spec), multiple=spec.multiple,
                                    metavar=spec.metavar, help=_renderer_help() if name == "renderer" else
                                    spec.help.format(last=last)))
        if name == "renderer":
            for _, _, o in registry.option_table():
                kind = click.Path(dir_okay=False, path_type=Path) if o.file else None
                options.append(click.option(o.flag, o.key, type=kind, metavar=o.metavar, help=o.help))
        if name == "class_names":
            options.append(click.option("--frames", "frames", type=int, help=EXTRA_KEYS["frames"]))
    for option in reversed(options):
        command = option(command)
    return command


def _given(values: dict) -> dict:
    """Command-line values by config key; None for not given."""
    out = {}
    for key, v in values.items():
        if isinstance(v, tuple):
            v = v or None
        elif isinstance(v, Path):
            v = str(v)
        out[key] = v
    return out


@click.command("generate")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON or TOML file of settings (keys as the long options); options given here win.")
@click.option("--preset", type=click.Choice(["fat"]), help=EXTRA_KEYS["preset"])
@setting_options
@click.option("--randomize/--no-randomize", "randomize_all", default=None,
              help="Domain-randomize the frames of every kind (the randomize table's all); --kind dr makes a dr/ "
                   "folder of randomized frames beside photoreal ones.")
@click.option("--randomizer", "randomizer", multiple=True, metavar="NAME.OPTION=VALUE",
              help="Repeatable: set a randomizer's option (lights.count=[1,2], distractors.meshes=DIR) or switch one "
                   "off or on (background=off, targets=on). Randomizers: " + ", ".join(randomize.names()) + ".")
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Local processes making drops in parallel (the bytes do not depend on it).")
@click.option("--dask", "dask", metavar="ADDRESS", help="Send the drops to this Dask scheduler (workers must see OUT).")
@click.option("--overwrite", is_flag=True, help="Replace an existing dataset made by fat in OUT (otherwise a rerun with "
              "the same settings finishes what is missing).")
@click.option("--repair", is_flag=True, help="On a rerun, also check the sha256 of every finished drop's files against "
              "manifest.jsonl and make again the drops whose files changed (a plain rerun remakes those with files missing).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def generate_cmd(out: Path, config_file, randomize_all, randomizer, workers, dask, overwrite, repair, quiet,
                 **settings_given) -> None:
    """Generate a FAT-style dataset in OUT: drops in PyBullet, stereo RGB, depth, segmentation, FAT JSON.

    \b
    Example:
      fat generate out --kind mixed --scene kitchen --scene temple --location 0 \\
          --frames 20 --seed 1 --objects ~/ycb --renderer tiny
    """
    values = read_config(config_file) if config_file else {}
    from_file = set(values)
    given = _given(settings_given)
    values.update({k: v for k, v in given.items() if v is not None})
    from_file -= {k for k, v in given.items() if v is not None}
    if randomize_all is not None or randomizer:  # the command line's on top of the file's table
        values["randomize"] = randomize.merged(values.get("randomize"), randomize_all, randomizer)
        from_file.discard("randomize")
    if "preset" in from_file and values["preset"] not in (None, "fat"):
        raise ConfigError(f"{config_file}: preset: unknown preset {values['preset']!r}; known: fat")
    try:
        settings = validate(from_values(values))
    except SettingError as e:
        key = _config_key(e.setting, values, from_file)
        if key is None:
            raise
        raise ConfigError(f"{config_file}: {key}: {e}") from None
    # what can be refused at once is refused before the progress bar is drawn (generate checks it again)
    if dask:
        from fat.executors import check_dask_address

        check_dask_address(dask)
    check_output(out, overwrite, settings)
    total = total_frames(settings)
    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="frame", desc="generate", file=sys.stderr, dynamic_ncols=True)
    try:
        summary = generate(settings, out, overwrite=overwrite, progress=bar.update if bar else None,
                           notify=lambda m: click.echo(f"fat: {m}", err=True), workers=workers, dask=dask,
                           repair=repair)
    finally:
        if bar:
            bar.close()
    rate = summary["frames"] / summary["seconds"] if summary["seconds"] > 0 else float("nan")
    resumed = f", {summary['skipped']} done before" if summary["skipped"] else ""
    click.echo(f"wrote {summary['frames']} stereo frames{resumed} in {summary['folders']} folders to {out} "
               f"in {summary['seconds']:.1f} s ({rate:.2f} frames/s, renderer {summary['renderer']}, "
               f"{_objects_note(settings)})")


def _objects_note(s) -> str:
    objects = s.object_set()
    if objects.meshes == "standins":
        return "stand-in objects"
    return "YCB models" if objects.meshes != "files" else f"{len(s.objects)} objects of {objects.name}"
