"""Camera effects (``--camera-effects``): each effect on synthetic images, their random streams, and
datasets: off changes no byte, on changes the RGB images only, the same seed gives the same bytes
with any number of workers."""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from fat.render import camera_effects as ce
from fat.geometry import Intrinsics, look_at, make_pose
from fat.run.driver import check_output, generate
from fat.settings import Settings, SettingError
from fat.run.resolve import resolve

from fat_cli import error_line, run_fat

SMALL = dict(kinds=("mixed", "single"), scenes=("kitchen",), objects=("banana",), mixed_frames=4, single_frames=2,
             frames_per_drop=2, seed=7, width=160, height=120, renderer="tiny")
NONE = dict(defocus_sigma=0.0, motion_length=0.0, motion_direction=None, shot=0.0, read=0.0)


def files(root: Path) -> dict[str, bytes]:
    """Every file's bytes; manifest.jsonl as its sorted lines (it lists the drops in the order they
    finished, which with several workers is the order they happened to end in)."""
    out = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
           if p.is_file() and not p.name.startswith(".")}
    if "manifest.jsonl" in out:
        out["manifest.jsonl"] = b"".join(sorted(out["manifest.jsonl"].splitlines(keepends=True)))
    return out


def make(tmp_path, name, workers=1, **changes) -> dict[str, bytes]:
    out = tmp_path / name
    generate(Settings(**{**SMALL, **changes}), out, workers=workers, notify=lambda m: None)
    return files(out)


# ----------------------------------------------------------------------------- datasets
@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fx")
    return {"default": make(tmp, "default"), "off": make(tmp, "off", camera_effects=False),
            "on": make(tmp, "on", camera_effects=True), "on again": make(tmp, "again", camera_effects=True)}


@pytest.mark.slow
def test_off_changes_no_byte(datasets):
    assert datasets["off"] == datasets["default"]
    assert "camera_effects" not in json.loads(datasets["off"]["fat_dataset.json"])["settings"]


def test_on_changes_the_rgb_images_only(datasets):
    off, on = datasets["off"], datasets["on"]
    assert sorted(off) == sorted(on)
    rgb = [k for k in off if k.endswith(".jpg")]
    assert len(rgb) == 2 * 6  # 4 mixed + 2 single frames, two eyes
    assert all(off[k] != on[k] for k in rgb)
    same = [k for k in off if not k.endswith(".jpg") and k not in ("fat_dataset.json", "manifest.jsonl")]
    assert any(k.endswith(".depth.png") for k in same) and any(k.endswith(".instance.png") for k in same)
    assert any(k.endswith(".seg.png") for k in same) and any(k.endswith(".left.json") for k in same)
    assert [k for k in same if off[k] != on[k]] == []
    record = json.loads(on["fat_dataset.json"])["settings"]
    assert record["camera_effects"] is True
    assert {**record, "camera_effects": False} == {**json.loads(off["fat_dataset.json"])["settings"],
                                                   "camera_effects": False}


def test_the_images_stay_close_to_the_rendering(datasets):
    import cv2

    for k in [k for k in datasets["off"] if k.endswith(".jpg")]:
        a = cv2.imdecode(np.frombuffer(datasets["off"][k], np.uint8), cv2.IMREAD_COLOR).astype(float)
        b = cv2.imdecode(np.frombuffer(datasets["on"][k], np.uint8), cv2.IMREAD_COLOR).astype(float)
        assert 0.5 < np.abs(a - b).mean() < 40, k


@pytest.mark.slow
def test_same_seed_same_bytes_whatever_the_workers(datasets, tmp_path):
    assert datasets["on again"] == datasets["on"]
    assert make(tmp_path, "two", workers=2, camera_effects=True) == datasets["on"]


def test_a_rerun_with_the_effects_switched_is_refused(datasets, tmp_path):
    from fat.errors import OutputError

    out = tmp_path / "out"
    out.mkdir()
    for name, data in datasets["off"].items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    assert check_output(out, False, resolve(Settings(**SMALL))) == "resume"
    with pytest.raises(OutputError, match="camera_effects None -> True"):
        check_output(out, False, resolve(Settings(**SMALL, camera_effects=True)))


# ----------------------------------------------------------------------------- the setting
def test_the_setting_is_a_boolean():
    assert Settings().camera_effects is False and resolve(Settings(camera_effects=True)).camera_effects is True
    for bad in (1, "true", None):
        with pytest.raises(SettingError, match="camera effects must be true or false") as e:
            resolve(Settings(camera_effects=bad))
        assert e.value.setting == "camera_effects"
    assert Settings.from_json(Settings(camera_effects=True).to_json()).camera_effects is True
    assert "camera_effects" not in Settings().to_json()


@pytest.mark.slow
def test_flag_and_config_key(capfd, tmp_path):
    args = ["--scene", "kitchen", "--frames", "1", "--width", "64", "--height", "48", "--renderer", "tiny", "--quiet"]

    def recorded(out):
        return json.loads((out / "fat_dataset.json").read_text())["settings"].get("camera_effects")

    rc, _, err = run_fat(capfd, "generate", tmp_path / "flag", "--camera-effects", *args)
    assert rc == 0, err
    assert recorded(tmp_path / "flag") is True
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"camera_effects": True}))
    rc, _, err = run_fat(capfd, "generate", tmp_path / "json", "--config", cfg, *args)
    assert rc == 0 and recorded(tmp_path / "json") is True
    rc, _, err = run_fat(capfd, "generate", tmp_path / "no", "--config", cfg, "--no-camera-effects", *args)
    assert rc == 0 and recorded(tmp_path / "no") is None
    if sys.version_info >= (3, 11):
        toml = tmp_path / "cfg.toml"
        toml.write_text("camera_effects = true\n")
        rc, _, err = run_fat(capfd, "generate", tmp_path / "toml", "--config", toml, *args)
        assert rc == 0 and recorded(tmp_path / "toml") is True
    cfg.write_text(json.dumps({"camera_effects": 1}))
    rc, out, err = run_fat(capfd, "generate", tmp_path / "bad", "--config", cfg, *args)
    assert rc == 1 and not (tmp_path / "bad").exists()
    assert error_line(err).endswith("cfg.json: camera_effects: camera effects must be true or false, got 1")


# ----------------------------------------------------------------------------- random streams
def test_streams_are_keyed_by_seed_drop_frame_and_eye():
    key = (1, 2, 3)
    draw = lambda *a: ce.stream(*a).random()  # noqa: E731
    assert draw(0, key, 5, 0) == draw(0, key, 5, 0)
    values = {draw(0, key, 5, 0), draw(1, key, 5, 0), draw(0, (1, 2, 4), 5, 0), draw(0, key, 6, 0),
              ce.eye_stream(0, key, 5, "left").random(), ce.eye_stream(0, key, 5, "right").random()}
    assert len(values) == 6


def test_both_eyes_share_the_frame_draws_and_have_their_own_noise():
    fx = ce.CameraEffects(3)
    K = Intrinsics.from_fov(960, 540, 64)
    prev, cur = look_at([1, 0, 0.5], [0, 0, 0]), look_at([0, 1, 0.5], [0, 0, 0])
    e = fx.frame((4, 5), 1, prev, cur, K)
    assert e == fx.frame((4, 5), 1, prev, cur, K)
    assert fx.frame((4, 5), 0, None, cur, K).motion_length == 0  # a drop's first frame: no motion blur
    grey = np.full((54, 96, 3), 128, np.uint8)
    left, right = fx.apply(grey, e, (4, 5), 1, "left"), fx.apply(grey, e, (4, 5), 1, "right")
    assert not np.array_equal(left, right)
    assert np.array_equal(left, fx.apply(grey, e, (4, 5), 1, "left"))
    assert abs(ce.decode(left).mean() - ce.decode(right).mean()) < 0.01  # the same exposure


def test_draws_stay_in_their_ranges():
    gains, radii, lengths = [], [], []
    for i in range(300):
        e = ce.draw_frame(ce.stream(0, (9,), i, 0), 1920, (1.0, 0.0))
        gains.append(e.gain), radii.append(2 * e.defocus_sigma), lengths.append(e.motion_length)
        assert ce.SHOT_NOISE[0] <= e.shot <= ce.SHOT_NOISE[1] and ce.READ_NOISE[0] <= e.read <= ce.READ_NOISE[1]
    assert 2 ** -0.5 <= min(gains) < 0.75 and 1.35 < max(gains) <= 2 ** 0.5
    assert 0.4 <= min(radii) < 0.6 and 2.8 < max(radii) <= 3.0  # scaled with the width: 2x at 1920
    assert 0 <= min(lengths) < 0.3 and 5.5 < max(lengths) <= 6.0


def test_image_motion_follows_the_rotation():
    cur = np.eye(4)  # looking along +z, x right, y down
    for angle_axis, expected in (((0, 1, 0), (1, 0)), ((1, 0, 0), (0, -1))):
        import cv2

        R, _ = cv2.Rodrigues(np.array(angle_axis, float) * 0.1)
        d = ce.image_motion(make_pose(R, np.zeros(3)), cur)
        assert np.allclose(d, expected, atol=1e-9)
    assert ce.image_motion(None, cur) is None
    assert ce.image_motion(cur, cur) is None
    assert ce.image_motion(make_pose(np.eye(3), [0.3, 0, 0]), cur) is None  # moved without turning


# ----------------------------------------------------------------------------- the effects
@pytest.mark.parametrize("level", [0.05, 0.5])
def test_noise_standard_deviation_matches_the_model(level):
    shot, read = 1e-3, 2e-3
    x = np.full((400, 400, 3), level, np.float32)
    y = ce.sensor_noise(x.copy(), np.random.default_rng(0), shot, read)
    expected = math.sqrt(shot * level + read ** 2)
    assert abs(y.std() / expected - 1) < 0.02
    assert abs(y.mean() - level) < 0.02 * expected
    assert abs(y.std() - read) > 0.5 * read  # grows with the brightness: not read noise alone


def test_noise_through_8_bit_srgb_matches_the_model():
    shot, read = 2e-3, 1e-3
    grey = np.full((300, 300, 3), 188, np.uint8)  # linear 0.5
    level = float(ce.decode(grey[:1, :1]).item(0))
    e = ce.FrameEffects(gain=1.0, defocus_sigma=0.0, motion_length=0.0, motion_direction=None, shot=shot, read=read)
    out = ce.decode(ce.apply(grey, e, np.random.default_rng(1)))
    assert abs(out.std() / math.sqrt(shot * level + read ** 2) - 1) < 0.05


def test_the_srgb_round_trip_is_exact():
    values = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    assert np.array_equal(ce.encode(ce.decode(values)), values)
    e = ce.FrameEffects(gain=1.0, **NONE)
    assert np.array_equal(ce.apply(values, e, np.random.default_rng(0)), values)


def test_defocus_lowers_high_frequencies_and_keeps_the_mean():
    yy, xx = np.mgrid[:128, :128]
    board = (((yy // 2) + (xx // 2)) % 2).astype(np.float32)[..., None].repeat(3, axis=2) * 0.8 + 0.1

    def high(img):
        f = np.abs(np.fft.fft2(img[..., 0])) ** 2
        k = np.fft.fftfreq(img.shape[0])
        return f[np.hypot(*np.meshgrid(k, k)) > 0.2].sum()

    for sigma, most in ((0.4, 0.9), (0.75, 0.3)):
        out = ce.defocus(board, sigma)
        assert high(out) < most * high(board)
        assert abs(out.mean() - board.mean()) < 1e-3
    assert ce.defocus(board, 0.0) is board


@pytest.mark.parametrize("angle", [0.0, 30.0, 90.0, 135.0])
def test_motion_blur_smears_a_point_along_the_direction(angle):
    d = (math.cos(math.radians(angle)), math.sin(math.radians(angle)))
    img = np.zeros((41, 41, 3), np.float32)
    img[20, 20] = 1.0
    length = 6.0
    out = ce.motion_blur(img, length, d)[..., 0]
    assert abs(out.sum() - 1) < 1e-5
    yy, xx = np.mgrid[:41, :41]
    mx, my = (out * xx).sum(), (out * yy).sum()
    assert abs(mx - 20) < 1e-3 and abs(my - 20) < 1e-3
    along = (xx - mx) * d[0] + (yy - my) * d[1]
    across = -(xx - mx) * d[1] + (yy - my) * d[0]
    var_along, var_across = (out * along ** 2).sum(), (out * across ** 2).sum()
    assert abs(var_along - length ** 2 / 12) < 0.5  # a segment of length L: variance L^2 / 12
    assert var_across < 0.25  # bilinear splatting only
    assert ce.motion_blur(img, 0.0, d) is img and ce.motion_blur(img, length, None) is img


@pytest.mark.parametrize("ev", [-0.5, -0.2, 0.3, 0.5])
def test_exposure_gain_scales_the_linear_mean(ev):
    rng = np.random.default_rng(2)
    img = rng.integers(20, 150, size=(100, 100, 3), dtype=np.uint8)  # no clipping at +0.5 EV
    e = ce.FrameEffects(gain=2.0 ** ev, **NONE)
    out = ce.apply(img, e, np.random.default_rng(0))
    assert abs(ce.decode(out).mean() / ce.decode(img).mean() - 2.0 ** ev) < 0.005 * 2.0 ** ev

