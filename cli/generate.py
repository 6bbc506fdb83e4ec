"""``fat generate OUT``: make a FAT-style dataset."""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from pathlib import Path

import click

from fat.errors import ConfigError
from fat.options import Field
from fat.run.estimate import record_rate
from fat.run.plan import locations_of, plan, total_frames
from fat.render import registry
from fat.run.driver import check_output, generate
from fat import randomize
from fat.catalog import Standins, YcbModels
from fat.run.resolve import object_infos, object_set, resolve
from fat.settings import (EXTRA_KEYS, SettingError, config_key, from_values, n_locations, read_config,
                          specs)

from . import START
from .help import SectionedCommand
from .messages import emit
from .options import attach, click_option


def _renderer_help() -> str:
    parts = ["auto: gl where EGL works, else tiny"]
    for name in registry.names()[1:]:
        try:
            doc = (registry.renderer_class(name).__doc__ or "").strip().splitlines()
        except ConfigError:
            doc = []
        first = re.sub(r"^(The|An|A) ", lambda m: m.group(1).lower() + " ", doc[0].rstrip(".")) if doc else ""
        parts.append(f"{name}: {first}" if doc else name)
    return "; ".join(parts) + ". [auto]"


def setting_options(command):
    """The options of every setting with a flag (from the Settings schema) and of every registered
    renderer (from the registry), each stored under its config-file key (:func:`.options.click_option`);
    not given: None, so a config file's value stands."""
    last = n_locations() - 1
    options = []
    for name, spec in specs():
        if spec.flag is None:
            continue
        options.append(click_option(spec, help=_renderer_help() if name == "renderer" else spec.help.format(last=last)))
        if name == "renderer":
            options += [click_option(o) for _, _, o in registry.option_table()]
        if name == "class_names":
            options.append(click_option(Field("frames", "--frames", EXTRA_KEYS["frames"], type="int")))
    return attach(command, options)


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


#: ``fat generate --help``: its options by what they are for.
SECTIONS = (
    ("What to make", ("config_file", "preset", "kind", "scene", "location", "test_location", "object", "frames",
                      "mixed_frames", "single_frames", "dr_frames", "frames_per_drop", "seed")),
    ("Objects", ("object_source", "objects", "units", "align", "class_names")),
    ("Images", ("width", "height", "fov", "jpeg_quality", "camera_effects", "extras")),
    ("Looks", ("hdri", "textures", "randomize_all", "randomizer")),
    ("Renderer", ("renderer", "gl_device", "unrealcv", "unreal_config")),
    ("Running", ("workers", "dask", "overwrite", "repair", "quiet", "dry_run", "help")),
)


@click.command("generate", cls=SectionedCommand, sections=SECTIONS,
               short_help="Make a FAT-style dataset in OUT (drops, stereo RGB-D, FAT JSON).")
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
@click.option("--dry-run", is_flag=True, help="Print the plan (folders, drops, frames, objects), the disk use and an "
              "estimate of the time, and write nothing.")
def generate_cmd(out: Path, config_file, randomize_all, randomizer, workers, dask, overwrite, repair, quiet, dry_run,
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
        settings = resolve(from_values(values))
    except SettingError as e:
        key = config_key(e.setting, values, from_file)
        if key is None:
            raise
        raise ConfigError(f"{config_file}: {key}: {e}") from None
    # what can be refused at once is refused before the progress bar is drawn (generate checks it again)
    if dask:
        from fat.run.executors import check_dask_address

        check_dask_address(dask)
    mode = check_output(out, overwrite, settings)
    folders, drops = plan(settings, object_set(settings))
    emit(f"plan: {plan_line(settings, folders, drops)}; renderer {settings.renderer}"
         f"{f', {workers} workers' if workers > 1 else ''} -> {out}\n")  # standard output: errors stay one line
    if dry_run:
        emit(dry_run_report(settings, folders, drops, out, mode, workers))
        return
    total = total_frames(settings)
    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="frame", desc="generate", file=sys.stderr, dynamic_ncols=True)
    try:
        summary = generate(settings, out, overwrite=overwrite, progress=bar.update if bar else None,
                           notify=lambda m: click.echo(f"fat: {m}", err=True), workers=workers, dask=dask,
                           repair=repair, skipped=(lambda n: _done_before(bar, total, n)) if bar else None)
    finally:
        if bar:
            bar.close()
    if summary["frames"] and not dask:
        if not settings.extras:  # the rate estimates are of FAT's files alone
            record_rate(summary["renderer"], settings.width, settings.height, summary["frames"], summary["seconds"], workers)
    seconds = time.perf_counter() - START  # the whole command, from its start
    rate = summary["frames"] / summary["seconds"] if summary["seconds"] > 0 else float("nan")
    resumed = f", {summary['skipped']} done before" if summary["skipped"] else ""
    making = f"; {rate:.2f} frames/s while making drops" if summary["frames"] else ""
    click.echo(f"wrote {_n(summary['frames'], 'stereo frame')}{resumed} in {_n(summary['folders'], 'folder')} to {out} "
               f"in {seconds:.1f} s (renderer {summary['renderer']}, {_objects_note(settings)}{making})"
               f"{_test_note(settings, folders)}")


def _done_before(bar, total: int, n: int) -> None:
    """The bar counts the frames to make: those made before are not speed."""
    bar.reset(total=total - n)
    bar.set_description(f"generate ({n:,} done before)")


def _test_note(s, folders) -> str:
    """Says so when the plan has no test folder (no location of the held-out index)."""
    if any(f.location.endswith(f"_{s.test_location}") for f in folders):
        return ""
    return (f"; no test split: the held-out location {s.test_location} is not in the plan "
            f"(--location {s.test_location} adds it, --test-location picks another)")


def plan_line(s, folders, drops) -> str:
    """The plan in one line: folders and frames by kind, drops, objects, image size."""
    kinds = ", ".join(f"{kind} {n}" for kind, n in Counter(f.kind for f in folders).items())
    frames = sum(d.n_frames for d in drops)
    return (f"{_n(len(folders), 'folder')} ({kinds}), {_n(len(drops), 'drop')}, {_n(frames, 'stereo frame')} at "
            f"{s.width}x{s.height}, {_n(len(object_infos(s)), 'object')}, {_n(len(locations_of(s)), 'location')}")


def _n(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def dry_run_report(s, folders, drops, out: Path, mode: str, workers: int) -> str:
    """What ``--dry-run`` prints: per kind folders, drops and frames; disk use; time."""
    from fat.run.estimate import estimate, human_bytes, human_seconds

    lines = [f"{'kind':<8}{'folders':>9}{'drops':>10}{'frames':>12}"]
    total = 0
    for kind in s.kinds:
        fk = [f for f in folders if f.kind == kind]
        dk = [d for d in drops if d.kind == kind]
        n = sum(d.n_frames for d in dk)
        total += n
        lines.append(f"{kind:<8}{len(fk):>9,}{len(dk):>10,}{n:>12,}")
    lines.append(f"{'total':<8}{len(folders):>9,}{len(drops):>10,}{total:>12,}  stereo frames "
                 f"({2 * total:,} images of {s.width}x{s.height})")
    names = [o.name for o in object_infos(s)]
    lines.append(f"objects: {len(names)} ({', '.join(names[:6])}{', ...' if len(names) > 6 else ''})")
    lines.append(f"locations: {', '.join(locations_of(s))} (test: location {s.test_location})")
    done = 0
    if mode == "resume":
        from fat.run import manifest

        finished = manifest.load(out)
        done = sum(d.n_frames for d in drops if manifest.drop_id(d.folder, d.index) in finished)
        lines.append(f"{out} holds {done:,} of these frames already: a run makes the other {total - done:,}")
    elif mode == "replace":
        lines.append(f"{out} holds another dataset of fat: --overwrite replaces it")
    renderer = s.renderer
    if renderer == registry.AUTO:
        from fat.render.gl.renderer import available

        why = available(s.renderer_options.get("gl_device"))
        renderer = "gl" if why is None else "tiny"
    lo, hi = s.mixed_count
    per_frame = sum((1 if d.kind == "single" else (lo + hi) / 2) * d.n_frames for d in drops) / max(1, total)
    e = estimate(total - done, per_frame, s.width, s.height, renderer, workers)
    lines.append(f"disk: about {human_bytes(e.bytes)}")
    time_text = f"about {human_seconds(e.seconds)}" if e.seconds is not None else "unknown"
    lines.append(f"time: {time_text} with renderer {renderer} and {workers} worker{'s' if workers > 1 else ''} "
                 f"({e.source})")
    lines.append("nothing written (--dry-run)")
    return "\n".join(lines) + "\n"


def _objects_note(s) -> str:
    objects = object_set(s)
    if isinstance(objects.meshes, Standins):
        return "stand-in objects"
    return "YCB models" if isinstance(objects.meshes, YcbModels) else f"{len(s.objects)} objects of {objects.name}"
