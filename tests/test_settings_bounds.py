"""Bad settings, on the command line or in a config file, are refused in one line before anything
is planned or written; every bound is documented in docs/generating.md."""

import json

import pytest

from fat.run import driver as run
from fat.errors import ConfigError
from fat.settings import MAX_DROPS, MAX_IMAGE_SIDE, MAX_MIXED_COUNT, Settings, SettingError
from fat.run.resolve import resolve

from fat_cli import error_line, run_fat

SMALL = ["--scene", "kitchen", "--frames", "1", "--width", "64", "--height", "48", "--renderer", "tiny", "--quiet"]


@pytest.fixture
def no_planning(monkeypatch):
    """Make planning fail loudly: a refusal must come before the plan is made."""
    def plan(s, objects, K=None):
        raise AssertionError("plan() was called before the settings were refused")

    monkeypatch.setattr(run, "plan", plan)


def refused(capfd, tmp_path, *args) -> str:
    rc, out, err = run_fat(capfd, "generate", tmp_path / "out", *args)
    assert rc == 1 and all(line.startswith("plan: ") for line in out.splitlines())  # at most the plan line
    assert not (tmp_path / "out").exists(), "files were written before the refusal"
    return error_line(err)


def config(tmp_path, doc) -> str:
    p = tmp_path / "cfg.json"
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(p)


def test_negative_seed_is_refused_before_any_file(capfd, tmp_path, no_planning):
    """A negative seed used to reach numpy's SeedSequence after the output folder was made: a
    traceback, five files left behind, and a later ``--seed 0`` refused for other settings."""
    line = refused(capfd, tmp_path, *SMALL, "--seed", "-1")
    assert "seed must be an integer >= 0, got -1" in line
    line = refused(capfd, tmp_path, "--config", config(tmp_path, {"seed": -3}), *SMALL)
    assert "cfg.json: seed: seed must be an integer >= 0, got -3" in line


def test_image_larger_than_the_renderers_can_allocate_is_refused(capfd, tmp_path, no_planning):
    """``--width 100000`` used to crash in moderngl (an incomplete framebuffer) after the dataset's
    files were written; the documented bound is checked before any renderer starts."""
    line = refused(capfd, tmp_path, *SMALL, "--width", "100000")
    assert f"width must be at most {MAX_IMAGE_SIDE:,} pixels, got 100000" in line
    line = refused(capfd, tmp_path, "--config", config(tmp_path, {"height": MAX_IMAGE_SIDE + 1}), "--quiet")
    assert f"cfg.json: height: height must be at most {MAX_IMAGE_SIDE:,} pixels, got {MAX_IMAGE_SIDE + 1}" in line


def test_gl_renderer_refuses_a_size_beyond_its_render_targets():
    """An OpenGL implementation with smaller render targets than the documented bound refuses the
    size in one line when it starts, not with a moderngl error at the first frame."""
    from fat.render.gl.renderer import GLRenderer

    try:
        r = GLRenderer()
    except ConfigError as e:
        pytest.skip(f"renderer gl is not available here: {e}")
    limit = int(r.ctx.info["GL_MAX_RENDERBUFFER_SIZE"])
    r.close()
    with pytest.raises(ConfigError, match=rf"{limit + 1} x 64 pixels is more than .* \(at most \d+ pixels a side\)"):
        GLRenderer(size=(limit + 1, 64))


def test_a_plan_too_large_for_memory_is_refused_without_planning(capfd, tmp_path, no_planning):
    """A million frames per folder in drops of one frame used to build a plan of 66 million drops in
    memory (gigabytes, silently); the number of drops is counted first and bounded."""
    line = refused(capfd, tmp_path, "--kind", "both", "--frames", "1000000", "--frames-per-drop", "1", "--quiet")
    assert f"the plan would hold 66,000,000 drops, more than {MAX_DROPS:,}" in line
    line = refused(capfd, tmp_path, "--config", config(tmp_path, {"frames": 1e12}), "--quiet")
    assert "cfg.json: frames: mixed frames must be at most 1,000,000 (frame files have six digits)" in line


@pytest.mark.parametrize("doc, expected", [
    ({"frames": "abc"}, "cfg.json: frames: mixed frames must be an integer, got 'abc'"),
    ({"azimuth": 5}, "cfg.json: azimuth: camera azimuth must be two numbers [min, max], got 5"),
    ({"object": 5}, "cfg.json: object: object must be a name or a list of names, got 5"),
    ({"baseline": "wide"}, "cfg.json: baseline: stereo baseline must be a finite number, got 'wide'"),
    ({"location": ["1"]}, "cfg.json: location: location must be an integer, got '1'"),
    ({"seed": True}, "cfg.json: seed: seed must be an integer, got True"),
    ('{"scene": "kitchen", "seed": "\xff"}', "cfg.json: not UTF-8 text (byte 0xff at offset"),
])
def test_config_values_of_the_wrong_type_name_file_key_and_value(capfd, tmp_path, no_planning, doc, expected):
    """Values of the wrong type in a config file used to end in TypeError/ValueError tracebacks
    (``len()`` of an int, ``tuple()`` of an int, a string baseline) or a UnicodeDecodeError."""
    path = config(tmp_path, doc) if not isinstance(doc, str) else None
    if path is None:
        path = tmp_path / "cfg.json"
        path.write_bytes(doc.encode("latin-1"))
    line = refused(capfd, tmp_path, "--config", path, "--quiet")
    assert expected in line


def test_a_float_where_an_integer_belongs_is_refused(capfd, tmp_path, no_planning):
    """``frames 4.7`` used to make 4 frames without a word."""
    line = refused(capfd, tmp_path, "--config", config(tmp_path, {"frames": 4.7}), "--quiet")
    assert "cfg.json: frames: mixed frames must be an integer, got 4.7" in line
    line = refused(capfd, tmp_path, "--config", config(tmp_path, {"frames_per_drop": 2.5, "frames": 5}), "--quiet")
    assert "cfg.json: frames_per_drop: frames per drop must be an integer, got 2.5" in line


@pytest.mark.parametrize("count, expected", [
    ([1000, 1000], f"objects per mixed drop must be at most {MAX_MIXED_COUNT}, got 1000"),
    ([5, 2], "objects per mixed drop must be a range 1 <= min <= max, got [5, 2]"),
    ([0, 3], "objects per mixed drop must be an integer >= 1, got 0"),
    ([3], "objects per mixed drop must be two numbers [min, max], got [3]"),
])
def test_mixed_count_is_a_bounded_range(capfd, tmp_path, no_planning, count, expected):
    """``mixed_count [1000, 1000]`` used to run for ever (each object waits for room to fall)."""
    line = refused(capfd, tmp_path, "--config", config(tmp_path, {"mixed_count": count}), "--quiet")
    assert f"cfg.json: mixed_count: {expected}" in line


def test_command_line_wins_over_a_bad_config_value(capfd, tmp_path):
    """A bad value in the file that the command line replaces is not the error; a bad value the
    command line gives is reported without the file's name."""
    line = refused(capfd, tmp_path, "--config", config(tmp_path, {"seed": "x", "width": 64}), "--seed", "-2", "--quiet")
    assert line == "fat: error: seed must be an integer >= 0, got -2"


@pytest.mark.parametrize("field, value, message", [
    ("seed", -1, "seed must be an integer >= 0, got -1"),
    ("mixed_frames", 4.7, "mixed frames must be an integer, got 4.7"),
    ("mixed_frames", "abc", "mixed frames must be an integer, got 'abc'"),
    ("width", 100000, "width must be at most"),
    ("azimuth", 5, "camera azimuth must be two numbers"),
    ("objects", 5, "object must be a name or a list of names, got 5"),
    ("baseline", "wide", "stereo baseline must be a finite number, got 'wide'"),
    ("mixed_count", (1000, 1000), "objects per mixed drop must be at most"),
    ("texture_size", 10**6, "texture size must be at most"),
])
def test_validate_checks_types_and_bounds_for_api_callers(field, value, message):
    """``fat.run.resolve.resolve`` (after ``fat.settings.check``) is the one check: Python callers get the same refusals, as a
    SettingError naming the field, instead of a TypeError deep in the pipeline."""
    with pytest.raises(SettingError, match=message.replace("[", r"\[").replace("(", r"\(")) as e:
        resolve(Settings(**{field: value}))
    assert e.value.setting == field
    assert resolve(Settings(mixed_frames=4.0)).mixed_frames == 4 and type(resolve(Settings(mixed_frames=4.0)).mixed_frames) is int


def test_load_config_gives_the_settings_the_command_line_reads_from_the_file(tmp_path):
    """Catches: library users' config reading drifting from ``fat generate --config`` (another key
    spelling, ``frames`` not setting every kind's count, a bad value not named with its file and key)."""
    from fat.errors import ConfigError
    from fat.settings import Settings, check, load_config

    cfg = tmp_path / "c.toml"
    cfg.write_text('kind = "both"\nscene = ["kitchen", "temple"]\nframes = 4\nseed = 3\njpeg-quality = 80\n'
                   'extras = ["flow"]\nrenderer = "tiny"\n')
    got = load_config(cfg)
    assert got == check(Settings(kinds=("single", "mixed"), scenes=("kitchen", "temple"), mixed_frames=4,
                                    single_frames=4, dr_frames=4, seed=3, jpeg_quality=80, extras=("flow",),
                                    renderer="tiny"))
    assert resolve(got) == resolve(Settings(kinds=("single", "mixed"), scenes=("kitchen", "temple"), mixed_frames=4,
                                            single_frames=4, dr_frames=4, seed=3, jpeg_quality=80, extras=("flow",),
                                            renderer="tiny"))
    cfg.write_text("frames = 4.7\n")
    with pytest.raises(ConfigError, match=r"c\.toml: frames: mixed frames must be an integer, got 4\.7"):
        load_config(cfg)
    cfg.write_text("colour = 1\n")
    with pytest.raises(ConfigError, match=r"c\.toml: unknown setting 'colour'"):
        load_config(cfg)
