"""Environment maps for image-based lighting: mapping, irradiance, sun, prefiltering, BRDF table,
loading and caching."""

from __future__ import annotations

import importlib.util
import math
import time
from pathlib import Path

import numpy as np
import pytest

from fat.scene import environment as env, map_files
from fat.errors import ConfigError
from fat.scene.scenes import scenes_folder

from .conftest import SHARED

HDRI = SHARED / "assets" / "hdri"


def fibonacci_sphere(n: int) -> np.ndarray:
    i = np.arange(n) + 0.5
    z = 1 - 2 * i / n
    phi = math.pi * (1 + 5**0.5) * i
    r = np.sqrt(1 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=-1)


def angle_deg(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return math.degrees(math.acos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))


def patch_map(direction, radius_deg=2.0, value=2000.0, background=0.05, size=(128, 256)) -> np.ndarray:
    h, w = size
    dirs = env.pixel_directions(h, w)
    img = np.full((h, w, 3), background, np.float32)
    img[dirs @ np.asarray(direction) >= math.cos(math.radians(radius_deg))] = value
    return img


# ------------------------------------------------------------------ mapping
def test_uv_direction_round_trip_and_axes():
    d = fibonacci_sphere(500)
    assert np.allclose(env.uv_to_direction(env.direction_to_uv(d)), d, atol=1e-9)
    uv = np.random.default_rng(1).uniform([0, 0.01], [1, 0.99], (300, 2))
    assert np.allclose(env.direction_to_uv(env.uv_to_direction(uv)), uv, atol=1e-9)
    assert np.allclose(env.direction_to_uv([1, 0, 0]), [0.5, 0.5])
    assert np.allclose(env.direction_to_uv([0, 1, 0]), [0.75, 0.5])
    assert np.allclose(env.direction_to_uv([0, -1, 0]), [0.25, 0.5])
    assert env.direction_to_uv([0, 0, 1])[1] == 0 and env.direction_to_uv([0, 0, -1])[1] == 1
    u = env.direction_to_uv(np.array([[-1, 0, 0], [-1, -1e-12, 0], [-1, 1e-12, 0]]))[:, 0]
    assert np.all((u >= 0) & (u < 1))
    assert np.allclose(env.uv_to_direction([0.5, 0.5]), [1, 0, 0])
    # the image's centre column looks along +X, row 0 is the top
    dirs = env.pixel_directions(8, 16)
    assert dirs[0, 0, 2] > 0.9 and dirs[-1, 0, 2] < -0.9
    assert np.allclose(dirs[4, 8], [1, 0, 0], atol=0.3)
    assert env.row_solid_angles(64, 128).sum() * 128 == pytest.approx(4 * math.pi)


# ------------------------------------------------------------------ irradiance
def test_uniform_map_irradiance_is_pi_l():
    L = np.array([0.5, 1.0, 2.0])
    e = env.uniform_environment(L)
    assert e.radiance.shape == (32, 64, 3) and e.radiance.dtype == np.float32
    assert e.sh.shape == (9, 3) and e.sh.dtype == np.float32
    n = fibonacci_sphere(200)
    assert np.allclose(e.irradiance(n), math.pi * L, rtol=2e-3)
    assert e.sun_direction is None and np.all(e.sun_radiance == 0)
    assert np.allclose(e.mean_radiance, L)


def test_sh_matches_brute_force_irradiance():
    """E(n) from the 9 coefficients against the cosine-weighted integral of a smooth map."""
    h, w = 64, 128
    d = env.pixel_directions(h, w)
    img = (1.0 + 0.6 * d[..., 2] + 0.3 * d[..., 0] * d[..., 1])[..., None] * np.array([1.0, 0.5, 0.2])
    e = env.from_radiance("smooth", img)
    omega = env.row_solid_angles(h, w)[:, None]
    for n in fibonacci_sphere(12):
        cos = np.clip(d @ n, 0, None)
        brute = np.einsum("hw,hwc->c", cos * omega, img)
        assert np.allclose(e.irradiance(n), brute, rtol=0.02)  # order 2 SH holds 99 % of a smooth map's irradiance


def test_small_bright_patch_is_the_sun():
    target = env.uv_to_direction([0.62, 0.3])  # azimuth 43 deg, elevation 36 deg
    img = patch_map(target)
    e = env.from_radiance("patch", img)
    assert e.sun_direction is not None and e.sun_direction.shape == (3,)
    assert np.linalg.norm(e.sun_direction) == pytest.approx(1, abs=1e-5)
    assert angle_deg(e.sun_direction, target) < 1.0
    # its irradiance: radiance 2000 over a 2 degree cap, facing it: 2000 * pi sin^2(2 deg) ~ 7.65
    expected = 2000 * math.pi * math.sin(math.radians(2)) ** 2
    assert np.allclose(e.sun_radiance, expected, rtol=0.15)
    # the sun is a light of its own: the image-based light is the rest of the sky, and the two add up
    # to the whole map's irradiance facing the sun (no energy counted twice, none lost)
    h, w = img.shape[:2]
    cos = np.clip(env.pixel_directions(h, w) @ target, 0, None)
    full = np.einsum("hw,hwc->c", cos * env.row_solid_angles(h, w)[:, None], img)  # brute force, the whole map
    assert np.allclose(e.irradiance(target) + e.sun_radiance, full, rtol=0.05)
    assert e.irradiance(target)[1] < 0.2 * full[1]
    assert e.specular[0].max() < 1.0  # the 2000 of the patch is gone from the reflections


def test_sun_across_the_seam_and_no_sun_when_flat():
    target = env.uv_to_direction([0.0, 0.45])  # -X: the patch straddles the image's left and right edges
    e = env.from_radiance("seam", patch_map(target))
    assert angle_deg(e.sun_direction, target) < 1.0
    flat = patch_map(target, value=1.0, background=0.5)  # max / mean ~ 2: no clear sun
    e = env.from_radiance("flat", flat)
    assert e.sun_direction is None and np.all(e.sun_radiance == 0)


# ------------------------------------------------------------------ prefiltering
def check_levels(e: env.Environment):
    h0, w0 = e.radiance.shape[:2]
    assert len(e.specular) == 6
    assert np.array_equal(e.specular[0], env.without_sun(e.radiance))  # level 0: the map, its sun a light of its own
    for k, level in enumerate(e.specular):
        assert level.shape == (max(1, h0 >> k), max(1, w0 >> k), 3) and level.dtype == np.float32
        assert np.all(np.isfinite(level)) and level.min() >= 0


def test_uniform_map_stays_uniform():
    e = env.uniform_environment(3.0, size=(64, 128))
    check_levels(e)
    for level in e.specular:
        assert np.allclose(level, 3.0, rtol=1e-4)


def test_prefiltering_conserves_mean_and_blurs():
    img = patch_map(env.uv_to_direction([0.4, 0.6]), radius_deg=4, value=5.0, background=0.2, size=(128, 256))  # no sun
    e = env.from_radiance("patch", img)
    check_levels(e)
    means = [env.sphere_mean(level)[0] for level in e.specular]
    assert np.allclose(means, means[0], rtol=0.03), means
    peaks = [level.max() for level in e.specular]
    assert all(a > b for a, b in zip(peaks, peaks[1:])), peaks  # rougher: wider, dimmer highlight
    # the highlight stays where the patch is
    for level in e.specular[1:4]:
        r, c = np.unravel_index(np.argmax(level[..., 0]), level.shape[:2])
        centre = env.uv_to_direction([(c + 0.5) / level.shape[1], (r + 0.5) / level.shape[0]])
        assert angle_deg(centre, env.uv_to_direction([0.4, 0.6])) < 8


# ------------------------------------------------------------------ BRDF table
def split_sum_brute_force(n_dot_v: float, roughness: float, n: int = 1200) -> tuple[float, float]:
    """(scale, bias) = integral over the hemisphere of ((1 - Fc), Fc) * D G / (4 N.V) dOmega_l by
    midpoint quadrature in (theta, phi) of l, with N = +Z and V in the XZ plane."""
    alpha = roughness * roughness
    k = alpha / 2
    theta = (np.arange(n) + 0.5) / n * (math.pi / 2)
    phi = (np.arange(2 * n) + 0.5) / (2 * n) * 2 * math.pi
    t, p = np.meshgrid(theta, phi, indexing="ij")
    lx, ly, lz = np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)
    v = np.array([math.sqrt(1 - n_dot_v**2), 0, n_dot_v])
    hx, hy, hz = lx + v[0], ly, lz + v[2]
    norm = np.sqrt(hx * hx + hy * hy + hz * hz)
    hz, v_dot_h = hz / norm, (hx * v[0] + hz * v[2]) / norm
    d = alpha**2 / (math.pi * (hz * hz * (alpha**2 - 1) + 1) ** 2)
    g = (n_dot_v / (n_dot_v * (1 - k) + k)) * (lz / (lz * (1 - k) + k))
    fc = (1 - v_dot_h) ** 5
    f = d * g / (4 * n_dot_v) * np.sin(t) * (math.pi / 2 / n) * (2 * math.pi / (2 * n))
    return float(((1 - fc) * f).sum()), float((fc * f).sum())


@pytest.mark.slow
def test_brdf_lut():
    t = time.perf_counter()
    lut = env.brdf_lut(64)
    assert time.perf_counter() - t < 5
    assert lut.shape == (64, 64, 2) and lut.dtype == np.float32
    assert np.array_equal(lut, env.brdf_lut(64))  # deterministic (and cached)
    total = lut.sum(axis=-1)
    assert lut.min() >= 0 and total.max() <= 1 + 1e-3
    assert total[0, -1] == pytest.approx(1, abs=0.01)  # N.V ~ 1, roughness ~ 0: a mirror reflects all
    assert lut[0, -1, 1] < 0.01  # ... and F0 alone
    assert lut[-1, -1].sum() < lut[-1, 32].sum() + 0.2  # rough: energy lost to shadowing
    size = 64
    for i, j in [(31, 31), (47, 20), (12, 40), (56, 56)]:  # columns: N.V, rows: roughness
        n_dot_v, rough = (i + 0.5) / size, (j + 0.5) / size
        scale, bias = split_sum_brute_force(n_dot_v, rough)
        assert lut[j, i, 0] == pytest.approx(scale, abs=0.015), (i, j)
        assert lut[j, i, 1] == pytest.approx(bias, abs=0.01), (i, j)


# ------------------------------------------------------------------ loading
def real_map() -> Path:
    maps = sorted(HDRI.glob("*.hdr"))
    if not maps:
        pytest.skip(f"no environment maps at {HDRI} (set FAT_SHARED to the shared folder)")
    return HDRI / "sky.hdr" if (HDRI / "sky.hdr").is_file() else maps[0]


def test_real_map_loads_and_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("FAT_CACHE_DIR", str(tmp_path / "cache"))
    src = real_map()
    t = time.perf_counter()
    e = env.load_environment(src, max_width=256)
    first = time.perf_counter() - t
    assert e.name == src.stem
    assert e.radiance.shape == (128, 256, 3) and e.radiance.min() >= 0
    check_levels(e)
    means = [env.sphere_mean(level) for level in e.specular]
    assert np.allclose(means, means[0], rtol=0.05)
    cached = list((tmp_path / "cache" / "environments").glob("*.npz"))
    assert len(cached) == 1
    mtime = cached[0].stat().st_mtime_ns
    t = time.perf_counter()
    again = env.load_environment(src, max_width=256)
    second = time.perf_counter() - t
    assert cached[0].stat().st_mtime_ns == mtime
    assert second < first
    assert np.array_equal(again.radiance, e.radiance) and np.array_equal(again.sh, e.sh)
    assert all(np.array_equal(a, b) for a, b in zip(again.specular, e.specular))
    assert (again.sun_direction is None) == (e.sun_direction is None)
    # another size is another cache entry
    env.load_environment(src, max_width=128)
    assert len(list((tmp_path / "cache" / "environments").glob("*.npz"))) == 2


@pytest.mark.slow
def test_sunny_real_maps_have_a_sun(tmp_path, monkeypatch):
    monkeypatch.setenv("FAT_CACHE_DIR", str(tmp_path / "cache"))
    src = real_map()
    if src.stem != "sky":
        pytest.skip("sky.hdr is not among the shared environment maps")
    e = env.load_environment(src)
    assert e.sun_direction is not None and e.sun_direction[2] > 0  # above the horizon
    assert e.sun_radiance.min() > 0
    if (HDRI / "venice.hdr").is_file():  # overcast: no clear sun
        assert env.load_environment(HDRI / "venice.hdr").sun_direction is None


def test_damaged_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("FAT_CACHE_DIR", str(tmp_path / "cache"))
    src = real_map()
    env.load_environment(src, max_width=64)
    (cached,) = (tmp_path / "cache" / "environments").glob("*.npz")
    cached.write_bytes(b"not a zip")
    e = env.load_environment(src, max_width=64)
    assert e.radiance.shape == (32, 64, 3)
    assert cached.read_bytes()[:2] == b"PK"


@pytest.mark.parametrize("name, content, words", [
    ("broken.hdr", b"#?RADIANCE\ngarbage", "not a readable"),
    ("missing.hdr", None, "cannot read"),
    ("picture.png", b"\x89PNG", "expected a .hdr or .exr"),
])
def test_bad_files_fail_in_one_line(tmp_path, monkeypatch, name, content, words):
    monkeypatch.setenv("FAT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError) as err:
        env.load_environment(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and words in msg


def test_not_two_to_one_fails(tmp_path, monkeypatch):
    import cv2

    monkeypatch.setenv("FAT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "square.hdr"
    assert cv2.imwrite(str(path), np.ones((16, 16, 3), np.float32))
    with pytest.raises(ConfigError, match=r"square\.hdr: 16x16 pixels is not an equirectangular"):
        env.load_environment(path)


def test_exr_without_openexr_says_to_convert(tmp_path, monkeypatch):
    exrs = sorted(HDRI.glob("*.exr"))
    if not exrs:
        pytest.skip(f"no OpenEXR maps at {HDRI}")
    monkeypatch.setenv("FAT_CACHE_DIR", str(tmp_path / "cache"))
    if importlib.util.find_spec("OpenEXR") is None:
        with pytest.raises(ConfigError) as err:
            env.load_environment(exrs[0])
        assert "\n" not in str(err.value) and str(exrs[0]) in str(err.value) and ".hdr" in str(err.value)
    else:  # the OpenEXR package is installed
        e = env.load_environment(exrs[0])
        assert e.radiance.min() >= 0  # the lossy compression's negative values are clamped
        hdr = exrs[0].with_suffix(".hdr")
        if hdr.is_file():
            assert np.allclose(e.mean_radiance, env.load_environment(hdr).mean_radiance, rtol=0.02)


@pytest.mark.parametrize("size, compression, max_width", [
    ((256, 512), "rle", 512),  # as it is, no averaging
    ((300, 600), "rle", 512),  # averaged down by 600/512: rows straddle strips and output rows
    ((64, 128), "none", 512),  # flat RGBE scanlines
    ((96, 192), "none", 64),
])
def test_maps_read_in_strips_equal_a_whole_decode(tmp_path, monkeypatch, size, compression, max_width):
    """Catches: strip reading that drops, repeats or misweighs rows at the strips' edges, or misreads
    scanlines written without run-length encoding: the strips (7 rows each here) must give what
    OpenCV's decode of the whole file and INTER_AREA give."""
    import cv2

    h, w = size
    rng = np.random.default_rng(h)
    img = (rng.random((h, w, 3)) ** 3 * 50).astype(np.float32)
    path = tmp_path / "map.hdr"
    flag = cv2.IMWRITE_HDR_COMPRESSION_RLE if compression == "rle" else cv2.IMWRITE_HDR_COMPRESSION_NONE
    assert cv2.imwrite(str(path), img, [cv2.IMWRITE_HDR_COMPRESSION, flag])
    whole = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1]
    if w > max_width:
        whole = cv2.resize(np.ascontiguousarray(whole), (max_width, max_width // 2), interpolation=cv2.INTER_AREA)
    monkeypatch.setattr(map_files, "STRIP_BYTES", 12 * w * 7)
    monkeypatch.setenv("FAT_CACHE_DIR", str(tmp_path / "cache"))
    got = env.read_map(env.probe_environment(path), max_width)
    assert got.shape == whole.shape
    assert np.allclose(got, whole, rtol=1e-5, atol=1e-6 * float(whole.max()))


def test_header_only_and_cut_maps_fail_in_one_line(tmp_path, monkeypatch):
    """Catches: a map whose header promises more than its data holds passed to OpenCV (which fails
    with its own traceback or greys the rest) instead of refused by the walk of its scanlines."""
    monkeypatch.setenv("FAT_CACHE_DIR", str(tmp_path / "cache"))
    src = (scenes_folder() / "environments" / "forest.hdr").read_bytes()
    for name, data, words in (
            ("head.hdr", src[:src.index(b"+X 512\n") + 7], "the data ends in scanline 1 of 256"),
            ("cut.hdr", src[:-1], "the data ends in scanline 256 of 256"),
            ("flipped.hdr", src.replace(b"-Y 256 +X 512", b"+Y 256 +X 512"), "resolution line '+Y 256 +X 512'"),
            ("xyze.hdr", src.replace(b"32-bit_rle_rgbe", b"32-bit_rle_xyze"), "pixel format '32-bit_rle_xyze'")):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ConfigError) as err:
            env.load_environment(path)
        msg = str(err.value)
        assert "\n" not in msg and msg.startswith(f"{path}: not a readable Radiance .hdr image (") and words in msg, msg
