"""``fat generate OUT``: make a FAT-style dataset."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import click

from fat.errors import ConfigError
from fat.meshes import MeshWarning
from fat.pipeline import FAT_PRESET, KINDS, Settings, SettingError, check_output, generate, total_frames, validate
from fat.scene import SCENES

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    tomllib = None

# config-file key -> Settings field (and how to convert the value)
CONFIG_KEYS = {
    "kind": "kinds", "scene": "scenes", "location": "locations", "object": "objects", "objects": "ycb_dir",
    "frames": None, "mixed_frames": "mixed_frames", "single_frames": "single_frames",
    "frames_per_drop": "frames_per_drop", "capture_interval": "capture_interval", "seed": "seed",
    "renderer": "renderer", "jpeg_quality": "jpeg_quality", "width": "width", "height": "height", "fov": "fov",
    "baseline": "baseline", "azimuth": "azimuth", "elevation": "elevation", "distance": "distance",
    "mixed_count": "mixed_count", "test_location": "test_location", "texture_size": "texture_size",
    "unrealcv": "unrealcv", "unreal_config": "unreal_config", "gl_device": "gl_device", "preset": None,
}


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
    for k in doc:
        if k.replace("-", "_") not in CONFIG_KEYS:
            raise ConfigError(f"{path}: unknown setting {k!r}; known: {', '.join(sorted(CONFIG_KEYS))}")
    return {k.replace("-", "_"): v for k, v in doc.items()}


def _kinds(v):
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, (list, tuple)):
        return v  # validate() names the wrong type
    out = []
    for k in v:
        out += list(KINDS) if k == "both" else [k]
    return tuple(out)


def _listed(v):
    """A list of values as a tuple, one value as a 1-tuple; anything else as it is, for validate()."""
    if isinstance(v, (list, tuple)):
        return tuple(v)
    return (v,) if isinstance(v, str) else v


def build_settings(values: dict) -> Settings:
    """Settings from merged config-file and command-line values (command line wins). Values are
    passed on as given: :func:`fat.pipeline.validate` checks their types and ranges."""
    fields = {}
    if values.get("preset") == "fat":
        fields.update(FAT_PRESET)
    elif values.get("preset") not in (None, "fat"):
        raise ConfigError(f"unknown preset {values['preset']!r}; known: fat")
    for key, v in values.items():
        if v is None or key == "preset":
            continue
        if key == "frames":
            fields["mixed_frames"] = fields["single_frames"] = v
            continue
        name = CONFIG_KEYS[key]
        if name == "kinds":
            v = _kinds(v)
        elif name in ("scenes", "objects", "locations"):
            v = _listed(v)
        elif name == "ycb_dir" and isinstance(v, (str, Path)):
            v = str(Path(v).expanduser())
        fields[name] = v
    if "frames" in values and values["frames"] is not None:
        for k in ("mixed_frames", "single_frames"):
            if values.get(k) is not None:
                fields[k] = values[k]
    return Settings(**fields)


def _config_key(setting: str, values: dict, from_file: set[str]) -> str | None:
    """The config-file key that gave the value of ``setting``, if it came from the file."""
    if setting in ("mixed_frames", "single_frames") and values.get(setting) is None:
        keys = ["frames"]
    else:
        keys = [k for k, name in CONFIG_KEYS.items() if name == setting]
    for k in keys:
        if values.get(k) is not None:
            return k if k in from_file else None
    return None


@click.command("generate")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON or TOML file of settings (keys as the long options); options given here win.")
@click.option("--preset", type=click.Choice(["fat"]), help="fat: FAT's full plan, 61,500 stereo frames.")
@click.option("--kind", type=click.Choice(["single", "mixed", "both"]), help="Drops of one object, of 2-10, or both. [mixed]")
@click.option("--scene", multiple=True, type=click.Choice(SCENES), help="Repeatable. [all three]")
@click.option("--location", multiple=True, type=click.IntRange(0, 4), help="Repeatable, 0..4. [0]")
@click.option("--object", "object_", multiple=True, metavar="NAME",
              help="Repeatable: FAT class, YCB name or short name (banana, 011). [all 21]")
@click.option("--objects", "objects_dir", type=click.Path(path_type=Path),
              help="Folder of real YCB models (google_16k layout or one folder per object). [procedural stand-ins]")
@click.option("--frames", type=int, help="Frames per leaf folder (FAT: 2000 mixed, 100 single). [20]")
@click.option("--mixed-frames", type=int, help="Frames per mixed folder (overrides --frames).")
@click.option("--single-frames", type=int, help="Frames per single-object folder (overrides --frames).")
@click.option("--frames-per-drop", type=int, help="Frames captured during one drop. [20]")
@click.option("--seed", type=int, help="Random seed; the same seed and settings give the same bytes. [0]")
@click.option("--renderer", type=click.Choice(["auto", "gl", "tiny", "egl", "unrealcv"]),
              help="auto: gl where EGL works, else tiny; gl: the OpenGL renderer (fast); tiny: PyBullet TinyRenderer; "
                   "egl: PyBullet's EGL plugin; unrealcv: an Unreal Engine 4 game. [auto]")
@click.option("--gl-device", metavar="N", help="EGL device index for --renderer gl (or FAT_EGL_DEVICE), e.g. a GPU.")
@click.option("--unrealcv", "unrealcv", metavar="HOST:PORT", help="The game's UnrealCV server (with --renderer unrealcv).")
@click.option("--unreal-config", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON file mapping classes to the game's actors and locations to its levels (see docs/unreal.md).")
@click.option("--jpeg-quality", type=click.IntRange(1, 100), help="JPEG quality of the RGB images. [95]")
@click.option("--width", type=int, help="Image width in pixels. [960]")
@click.option("--height", type=int, help="Image height in pixels. [540]")
@click.option("--fov", type=float, help="Horizontal field of view in degrees. [64]")
@click.option("--test-location", type=click.IntRange(0, 4), help="Location index held out as test in every scene. [4]")
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Local processes making drops in parallel (the bytes do not depend on it).")
@click.option("--dask", "dask", metavar="ADDRESS", help="Send the drops to this Dask scheduler (workers must see OUT).")
@click.option("--overwrite", is_flag=True, help="Replace an existing dataset made by fat in OUT (otherwise a rerun with "
              "the same settings finishes what is missing).")
@click.option("--repair", is_flag=True, help="On a rerun, also check the sha256 of every finished drop's files against "
              "manifest.jsonl and make again the drops whose files changed (a plain rerun remakes those with files missing).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def generate_cmd(out: Path, config_file, preset, kind, scene, location, object_, objects_dir, frames, mixed_frames,
                 single_frames, frames_per_drop, seed, renderer, gl_device, unrealcv, unreal_config, jpeg_quality, width,
                 height, fov, test_location, workers, dask, overwrite, repair, quiet) -> None:
    """Generate a FAT-style dataset in OUT: drops in PyBullet, stereo RGB, depth, segmentation, FAT JSON.

    \b
    Example:
      fat generate out --kind mixed --scene kitchen --scene temple --location 0 \\
          --frames 20 --seed 1 --objects ~/ycb --renderer tiny
    """
    values = read_config(config_file) if config_file else {}
    from_file = set(values)
    given = {
        "preset": preset, "kind": kind, "scene": scene or None, "location": location or None,
        "object": object_ or None, "objects": objects_dir, "frames": frames, "mixed_frames": mixed_frames,
        "single_frames": single_frames, "frames_per_drop": frames_per_drop, "seed": seed, "renderer": renderer,
        "jpeg_quality": jpeg_quality, "width": width, "height": height, "fov": fov, "test_location": test_location,
        "unrealcv": unrealcv, "unreal_config": str(unreal_config) if unreal_config else None, "gl_device": gl_device,
    }
    values.update({k: v for k, v in given.items() if v is not None})
    from_file -= {k for k, v in given.items() if v is not None}
    if "preset" in from_file and values["preset"] not in (None, "fat"):
        raise ConfigError(f"{config_file}: preset: unknown preset {values['preset']!r}; known: fat")
    try:
        settings = validate(build_settings(values))
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
        with warnings.catch_warnings():
            shown = warnings.showwarning

            def show(message, category, *args, **kwargs):  # a damaged-looking mesh: one line, as errors are
                if issubclass(category, MeshWarning):
                    click.echo(f"fat: warning: {message}", err=True)
                else:
                    shown(message, category, *args, **kwargs)

            warnings.showwarning = show
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
               f"{'YCB models' if settings.ycb_dir else 'stand-in objects'})")
