"""Inputs bounded in time and memory and checked before a run starts: environment maps, texture sets,
meshes and object-set files. Each bad input is refused by ``fat generate`` in one line before the
output folder exists; large ones are read in bounded memory (peak resident memory of a process of
its own, from ``/proc/PID/status``'s VmHWM). The large files are written compactly: a constant-colour map as its
run-length encoded scanlines, a constant-grey JPEG as the repeated bits of its blocks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import gl_available
from fat.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
FAT = shutil.which("fat") or str(Path(sys.executable).with_name("fat"))
SKY = REPO / "scenes" / "environments" / "sky.hdr"
SMALL = ["--kind", "single", "--scene", "kitchen", "--object", "banana", "--frames", "2", "--frames-per-drop", "2",
         "--width", "160", "--height", "90", "--quiet"]
#: A process's peak resident memory above which a large input was held whole (MB): reading the test
#: files whole takes at least 1,600 MB (the map's floats) and 2,400 MB (the texture and its copies).
BOUND_MB = 1300


def measured(args, timeout: float = 300, env: dict | None = None) -> tuple[int, str, str, float, float]:
    """(exit code, stdout, stderr, peak resident memory in MB, seconds) of a command."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        p = subprocess.Popen([str(a) for a in args], stdout=out, stderr=err, env={**os.environ, **(env or {})})
        peak_kb = 0
        while True:
            peak_kb = max(peak_kb, _hwm_kb(p.pid))
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout:
                p.kill()
                os.wait4(p.pid, 0)
                p.returncode = -9
                pytest.fail(f"{' '.join(map(str, args))} still runs after {timeout:g} s")
            time.sleep(0.02)
        seconds = time.monotonic() - start
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read().decode(), err.read().decode(), peak_kb / 1024, seconds


def _hwm_kb(pid: int) -> int:
    """The process's peak resident memory since its exec (``VmHWM``), kB; 0 once it has ended. (The
    rusage of a child counts the parent's memory it was forked with: a test run's, not the command's.)"""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def refused(tmp_path: Path, *args) -> str:
    """The one line of ``fat generate OUT ARGS``'s refusal; fails unless it exits 1 with one line of
    error and no output folder."""
    out = tmp_path / "out"
    r = subprocess.run([FAT, "generate", str(out), *map(str, args)], capture_output=True, text=True, timeout=300)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1, r.stderr
    assert lines[0].startswith("fat: error: "), r.stderr
    assert not out.exists(), "the output folder was made before the refusal"
    return lines[0]


# ----------------------------------------------------------------------------- compact large files
def constant_hdr(path: Path, width: int, height: int, mantissas=(64, 128, 255), exponent: int = 129) -> np.ndarray:
    """Write a constant-colour Radiance map as run-length encoded scanlines (8.5 MB for 16384 x 8192);
    returns its radiance as OpenCV decodes RGBE: mantissa * 2^(exponent - 136)."""
    line = bytearray(b"\x02\x02" + width.to_bytes(2, "big"))
    for value in (*mantissas, exponent):
        full, rest = divmod(width, 127)
        line += bytes([0xFF, value]) * full + (bytes([0x80 + rest, value]) if rest else b"")
    with open(path, "wb") as f:
        f.write(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y %d +X %d\n" % (height, width))
        f.write(bytes(line) * height)
    return np.asarray(mantissas, np.float64) * 2.0 ** (exponent - 136)


def constant_jpeg(path: Path, side: int) -> None:
    """Write a ``side`` x ``side`` JPEG of grey 128 (``side`` a multiple of 16): OpenCV's header of a
    16 x 16 one with the size changed, and the scan's bits, the same 6 for every block (DC difference
    0, end of block): 3 bytes per 4 blocks (3 MB for 16384 x 16384)."""
    ok, buf = cv2.imencode(".jpg", np.full((16, 16), 128, np.uint8))
    data = buf.tobytes()
    sof, sos = data.index(b"\xff\xc0"), data.index(b"\xff\xda")
    head = bytearray(data[:sos + 2 + int.from_bytes(data[sos + 2:sos + 4], "big")])
    head[sof + 5:sof + 9] = side.to_bytes(2, "big") + side.to_bytes(2, "big")
    assert data[len(head):] == b"\x28\xa2\x8a\xff\xd9"
    path.write_bytes(bytes(head) + b"\x28\xa2\x8a" * (side * side // 256) + b"\xff\xd9")


def texture_folder(root: Path, color: Path | None = None, name: str = "Plain") -> Path:
    """``root/<name>/<name>_2K_Color.jpg``: ``color`` moved there, or a small grey one."""
    folder = root / name
    folder.mkdir(parents=True)
    target = folder / f"{name}_2K_Color.jpg"
    if color is None:
        cv2.imwrite(str(target), np.full((64, 64, 3), 128, np.uint8))
    else:
        color.rename(target)
    return root


# ----------------------------------------------------------------------------- large inputs, bounded
@pytest.mark.slow
def test_a_16k_environment_map_is_read_in_bounded_memory(tmp_path):
    """Catches: a large map decoded whole before it is shrunk (16384 x 8192 takes 1,600 MB as floats;
    6.95 GB and 80 s at the peak before) instead of in strips averaged down as they come."""
    big = tmp_path / "big.hdr"
    want = constant_hdr(big, 16384, 8192)
    code = ("import sys; from fat.scene.environment import load_environment; e = load_environment(sys.argv[1]); "
            "r = e.radiance.reshape(-1, 3); print(e.radiance.shape, *r.min(0), *r.max(0))")
    rc, out, err, peak, _ = measured([sys.executable, "-c", code, big], env={"FAT_CACHE_DIR": str(tmp_path / "cache")})
    assert rc == 0, err
    words = out.replace("(", "").replace(")", "").replace(",", "").split()
    assert [int(w) for w in words[:3]] == [256, 512, 3]
    values = np.array([float(w) for w in words[3:]]).reshape(2, 3)
    assert np.allclose(values, want, rtol=1e-6), values  # every pixel the map's colour: nothing lost at strip edges
    assert peak < 800, f"{peak:.0f} MB"  # measured about 200 MB


def test_a_huge_jpeg_texture_is_decoded_at_reduced_scale(tmp_path):
    """Catches: a texture decoded at its full size (16384 x 16384: 805 MB of pixels, 2.4 GB with the
    copies made for upload) instead of at 1/8 scale by the JPEG decoder."""
    huge = tmp_path / "huge.jpg"
    constant_jpeg(huge, 16384)
    code = ("import sys; from fat.scene.texture_sets import read_image; img = read_image(sys.argv[1]); "
            "print(*img.shape, img.min(), img.max())")
    rc, out, err, peak, _ = measured([sys.executable, "-c", code, huge])
    assert rc == 0, err
    assert out.split() == ["1024", "1024", "3", "128", "128"]
    assert peak < 400, f"{peak:.0f} MB"  # measured about 110 MB


@pytest.mark.slow
def test_generate_with_a_16k_map_and_a_huge_texture_stays_in_bounded_memory(tmp_path):
    """Catches: the renderer reading either file whole on its way to the GPU (the map: 6.95 GB before;
    the texture: 2.4 GB before the upload), whatever the readers do on their own."""
    why = gl_available()
    if why:
        pytest.skip(f"the gl renderer is not available here: {why}")
    constant_hdr(tmp_path / "big.hdr", 16384, 8192)
    constant_jpeg(tmp_path / "huge.jpg", 16384)
    textures = texture_folder(tmp_path / "sets", tmp_path / "huge.jpg", "Huge")
    rc, out, err, peak, _ = measured([FAT, "generate", tmp_path / "out", *SMALL, "--renderer", "gl",
                                      "--hdri", tmp_path / "big.hdr", "--textures", textures],
                                     env={"FAT_CACHE_DIR": str(tmp_path / "cache")})
    assert rc == 0, err
    assert peak < BOUND_MB, f"{peak:.0f} MB"  # measured 393 MB (357 MB without either file)


@pytest.mark.slow
def test_convex_decomposition_of_a_thin_large_mesh_is_bounded(tmp_path):
    """Catches: V-HACD given a thin mesh as it is. It voxelizes the box's shortest side with 64
    voxels, so this 20 x 20 x 1 cm sheet of 320,000 triangles became 2.1 million voxels and ran past
    300 s (measured); stretched to 2:1 and with merged vertices it takes about 10 s."""
    code = """
import sys, tempfile
from pathlib import Path
import numpy as np
from fat.assets.objects import _vhacd
from fat.assets.meshes import Mesh
n = 400
x, y = np.meshgrid(np.linspace(0, 0.2, n + 1), np.linspace(0, 0.2, n + 1))
z = 0.005 * np.sin(x * 90) * np.cos(y * 70)
v = np.column_stack([x.ravel(), y.ravel(), z.ravel()])
i = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
a, b, c, d = i[:-1, :-1].ravel(), i[:-1, 1:].ravel(), i[1:, 1:].ravel(), i[1:, :-1].ravel()
f = np.concatenate([np.column_stack([a, b, c]), np.column_stack([a, c, d])])
with tempfile.TemporaryDirectory() as folder:
    parts = _vhacd(Mesh(v, f), Path(folder))
p = np.concatenate(parts)
print(len(f), len(parts), *p.min(0), *p.max(0), *v.min(0), *v.max(0))
"""
    rc, out, err, peak, seconds = measured([sys.executable, "-c", code], timeout=240)
    assert rc == 0, err
    words = out.split()
    assert int(words[0]) == 320_000 and int(words[1]) >= 1
    lo, hi, vlo, vhi = np.array([float(w) for w in words[2:]]).reshape(4, 3)
    assert np.allclose(lo, vlo, atol=0.01) and np.allclose(hi, vhi, atol=0.01)  # the parts cover the sheet
    assert seconds < 120, f"{seconds:.0f} s"  # measured 9 s
    assert peak < 1000, f"{peak:.0f} MB"  # measured 160 MB


# ----------------------------------------------------------------------------- refused before the output folder
def _maps(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    sky = SKY.read_bytes()
    (tmp_path / "cut.hdr").write_bytes(sky[:len(sky) // 2])
    (tmp_path / "notes.hdr").write_text("exposure notes for the shoot\n")
    assert cv2.imwrite(str(tmp_path / "dot.hdr"), np.ones((1, 1, 3), np.float32))
    ok, png = cv2.imencode(".png", np.zeros((64, 128, 3), np.uint8))
    (tmp_path / "photo.hdr").write_bytes(png.tobytes())
    (tmp_path / "lying.hdr").write_bytes(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 8192 +X 16384\n\x02\x02\x40\x00"
                                         + b"\x00" * 64)
    (tmp_path / "giant.hdr").write_bytes(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 50000 +X 100000\n")
    return {
        "cut": (tmp_path / "cut.hdr", "the data ends in scanline 121 of 256; is the file cut short?"),
        "text": (tmp_path / "notes.hdr", "not a readable Radiance .hdr image (it does not begin with #?RADIANCE)"),
        "1x1": (tmp_path / "dot.hdr", "1x1 pixels is not an equirectangular map"),
        "png": (tmp_path / "photo.hdr", "not a readable Radiance .hdr image (it is a PNG image)"),
        "malformed": (tmp_path / "lying.hdr", "(scanline 1 of 8192: it holds a run of length 0)"),
        "too large": (tmp_path / "giant.hdr", "100000x50000 pixels is larger than the 32768x16384"),
    }


@pytest.mark.parametrize("case", ["cut", "text", "1x1", "png", "malformed", "too large"])
@pytest.mark.slow
def test_bad_environment_maps_are_refused_in_one_line_before_the_output_folder(tmp_path, case):
    """Catches: a map refused only when a worker loads it (after the output folder is made), used
    half decoded, or failing with an OpenCV traceback (a malformed or too large map)."""
    path, words = _maps(tmp_path)[case]
    line = refused(tmp_path, *SMALL, "--renderer", "gl", "--hdri", path)
    assert line.startswith(f"fat: error: {path}: ") and words in line, line


def test_a_bad_map_in_a_folder_of_maps_is_refused_before_the_output_folder(tmp_path):
    """Catches: only the maps the plan's locations pick being checked (the others fail in a later
    run, or a randomized background picks them mid-run)."""
    folder = tmp_path / "maps"
    folder.mkdir()
    shutil.copy(SKY, folder / "a.hdr")
    sky = SKY.read_bytes()
    (folder / "b.hdr").write_bytes(sky[:len(sky) - 1000])
    line = refused(tmp_path, *SMALL, "--renderer", "gl", "--hdri", folder)
    assert line.startswith(f"fat: error: {folder / 'b.hdr'}: ") and "is the file cut short?" in line


def _textures(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    ok, jpg = cv2.imencode(".jpg", np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8))
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(jpg.tobytes()[:len(jpg) // 2])
    ok, png = cv2.imencode(".png", np.full((64, 64, 3), 90, np.uint8))
    (tmp_path / "cut.png").write_bytes(png.tobytes()[:-12])
    (tmp_path / "notes.jpg").write_text("not an image")
    big = bytearray(png.tobytes())
    big[16:24] = (20000).to_bytes(4, "big") * 2  # IHDR: 20000 x 20000, decoded whole it would take 1.2 GB
    (tmp_path / "big.png").write_bytes(bytes(big))
    return {
        "truncated jpeg": (cut, "truncated JPEG (no end-of-image marker): the file was cut short"),
        "truncated png": (tmp_path / "cut.png", "truncated PNG (no IEND chunk at its end): the file was cut short"),
        "text": (tmp_path / "notes.jpg", "not a JPEG or PNG image"),
        "too large": (tmp_path / "big.png", "20000x20000 pixels is more than a PNG texture may have (8192x8192)"),
    }


@pytest.mark.parametrize("case", ["truncated jpeg", "truncated png", "text", "too large"])
def test_bad_textures_are_refused_in_one_line_before_the_output_folder(tmp_path, case):
    """Catches: a texture cut short used with libjpeg's "Premature end of JPEG file" on the terminal
    (its missing rows grey), a corrupt one failing mid-run, or a huge PNG decoded whole."""
    src, words = _textures(tmp_path)[case]
    folder = tmp_path / "sets" / "Broken"
    folder.mkdir(parents=True)
    path = folder / f"Broken_2K_Color{src.suffix}"
    src.rename(path)
    line = refused(tmp_path, *SMALL, "--renderer", "gl", "--textures", tmp_path / "sets")
    assert line.startswith(f"fat: error: {path}: {words}"), line


def test_randomizers_maps_and_texture_sets_are_checked_before_the_output_folder(tmp_path):
    """Catches: the maps of randomized backgrounds and the texture sets of randomized surfaces left
    unchecked until a frame draws them."""
    sets = tmp_path / "sets" / "Broken"
    sets.mkdir(parents=True)
    src, _ = _textures(tmp_path)["truncated jpeg"]
    src.rename(sets / "Broken_1K_Color.jpg")
    dr = ["--kind", "dr", "--scene", "kitchen", "--object", "banana", "--frames", "2", "--frames-per-drop", "2",
          "--width", "160", "--height", "90", "--quiet", "--renderer", "tiny"]
    line = refused(tmp_path, *dr, "--randomizer", f"surfaces.textures={tmp_path / 'sets'}")
    assert f"{sets / 'Broken_1K_Color.jpg'}: truncated JPEG" in line, line
    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "notes.hdr").write_text("not a map")
    line = refused(tmp_path, *dr, "--randomizer", f"background.environments={maps}")
    assert f"{maps / 'notes.hdr'}: not a readable Radiance .hdr image" in line, line


def _meshes(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    files = {
        "flat.obj": "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nf 1 2 3\nf 2 4 3\n",
        "tilted.obj": "v 0 0 0\nv 0.1 0 0.1\nv 0 0.1 0\nv 0.1 0.1 0.1\nf 1 2 3\nf 2 4 3\n",
        "specks.obj": "v 0 0 0\nv 0.1 0 0\nv 0.2 0 0\nv 0 0.1 0.1\nf 1 2 3\nf 1 1 4\n",
        "folded.obj": "v 0 0 0\nv 0.1 0 0\nv 0 0.1 0\nv 0 0 0.1\nf 1 2 3\nf 1 3 4\nf 1 3 2\nf 1 4 3\n",
        "points.obj": "v 0 0 0\nv 0.1 0 0\nv 0 0.1 0\n",
        "wide.obj": "".join(f"v {x} {y} {z}\n" for x in (0, 50000) for y in (0, 1) for z in (0, 1))
                    + "f 1 2 4\nf 1 4 3\nf 5 7 8\nf 5 8 6\nf 1 5 6\nf 1 6 2\nf 3 4 8\nf 3 8 7\nf 1 3 7\nf 1 7 5\n"
                      "f 2 6 8\nf 2 8 4\n",
        "huge.ply": "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
                    "element face 2000000\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    cut = tmp_path / "cut.ply"
    cut.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 4\nproperty float x\nproperty float y\n"
                    b"property float z\nelement face 4\nproperty list uchar int vertex_indices\nend_header\n"
                    + b"\0" * 60)
    return {
        "flat": (tmp_path / "flat.obj", "the mesh is flat ([1.0, 1.0, 0.0] m): an object needs a volume"),
        "tilted": (tmp_path / "tilted.obj", "the mesh is flat (its vertices lie in one plane): an object needs a volume"),
        "zero area": (tmp_path / "specks.obj", "all 2 triangles of the mesh have zero area: it has no surface"),
        "zero volume": (tmp_path / "folded.obj", "the closed mesh encloses no volume (its surface folds back onto itself)"),
        "no triangle": (tmp_path / "points.obj", "the mesh has no triangles"),
        "too wide": (tmp_path / "wide.obj", "5e+04 m across at 1 m per unit, more than the 10,000 m an object may be"),
        "too many triangles": (tmp_path / "huge.ply", "2,000,000 triangles, more than the 1,500,000 a mesh may have"),
        "cut short": (cut, "a binary PLY of 4 faces takes at least 269 bytes, this file has 229; is it cut short"),
    }


@pytest.mark.parametrize("case", ["flat", "tilted", "zero area", "zero volume", "no triangle", "too wide",
                                  "too many triangles", "cut short"])
@pytest.mark.slow
def test_degenerate_and_oversized_meshes_are_refused_in_one_line_before_the_output_folder(tmp_path, case):
    """Catches: a flat OBJ ending in a networkx traceback (trimesh's hull of a plane), a mesh of no
    volume weighing 0 kg, a mesh too large read whole (and decomposed for minutes) before its count
    is checked, a mesh a kilometre wide refused only during the run."""
    path, words = _meshes(tmp_path)[case]
    line = refused(tmp_path, *SMALL, "--renderer", "tiny", "--objects", path)
    assert line.startswith("fat: error: ") and f"{path.name}: {words}" in line, line


def test_a_zero_symmetry_axis_is_refused(tmp_path):
    """Catches: an object-set file's continuous symmetry about the axis (0, 0, 0), or a discrete
    symmetry that is no rigid transform, accepted and written into a BOP export."""
    (tmp_path / "box.obj").write_text("".join(f"v {x} {y} {z}\n" for x in (0, .1) for y in (0, .1) for z in (0, .1))
                                      + "f 1 2 4\nf 1 4 3\nf 5 7 8\nf 5 8 6\nf 1 5 6\nf 1 6 2\nf 3 4 8\nf 3 8 7\n"
                                        "f 1 3 7\nf 1 7 5\nf 2 6 8\nf 2 8 4\n")
    for symmetry, words in (
            ("{ symmetries_continuous = [{ axis = [0, 0, 0], offset = [0, 0, 0] }] }",
             "objects[0].symmetry.symmetries_continuous[0].axis: expected 3 numbers, not all 0"),
            ("{ symmetries_discrete = [[2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]] }",
             "objects[0].symmetry.symmetries_discrete[0]: not a rigid transform")):
        (tmp_path / "set.toml").write_text(f'[[objects]]\nname = "box"\nmesh = "box.obj"\nsymmetry = {symmetry}\n')
        line = refused(tmp_path, *SMALL, "--renderer", "tiny", "--objects", tmp_path / "set.toml")
        assert line.startswith(f"fat: error: {tmp_path / 'set.toml'}: ") and words in line, line
    (tmp_path / "set.toml").write_text('[[objects]]\nname = "box"\nmesh = "box.obj"\n'
                                       'symmetry = { symmetries_continuous = [{ axis = [0, 0, 1], offset = [0, 0, 0] }] }\n')
    from fat.objectsets import Options, load

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the box has no colour
        objects = load(tmp_path / "set.toml", Options()).objects
    assert objects[0].symmetry["symmetries_continuous"][0]["axis"] == [0, 0, 1]


# ----------------------------------------------------------------------------- the checks stay fast
def test_a_map_is_walked_once_and_again_when_it_changes(tmp_path, monkeypatch):
    """Catches: every start walking every map's data again (seconds for each large map of a folder),
    or a map changed since its check trusted from the record of the check."""
    from fat.scene import map_files as environment

    monkeypatch.setenv("FAT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "sky.hdr"
    shutil.copy(SKY, path)
    assert environment.probe_environment(path).width == 512
    environment._probe_cached.cache_clear()  # a new process: only the record on disk is left
    walked = []
    real = environment._hdr_strips
    monkeypatch.setattr(environment, "_hdr_strips", lambda *a, **k: walked.append(1) or real(*a, **k))
    assert environment.probe_environment(path).width == 512 and not walked
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    with pytest.raises(ConfigError, match="is the file cut short"):
        environment.probe_environment(path)
    assert walked


def test_texture_checks_read_headers_and_ends_only(tmp_path, monkeypatch):
    """Catches: the check of a folder of texture sets decoding every map (a 2K JPEG takes 6 ms even at
    1/8 scale: a start-up of 30 s for BlenderProc's 1,500 sets of 4 maps) instead of reading its
    header and its end."""
    from fat.scene.texture_sets import check_texture_sets, probe_image

    root = tmp_path / "sets"
    for k in range(40):
        folder = root / f"Set{k:02d}"
        folder.mkdir(parents=True)
        constant_jpeg(folder / f"Set{k:02d}_2K_Color.jpg", 4096)

    def no_decoding(*args, **kwargs):
        raise AssertionError("an image was decoded to check it")

    monkeypatch.setattr(cv2, "imread", no_decoding)
    monkeypatch.setattr(cv2, "imdecode", no_decoding)
    start = time.perf_counter()
    assert len(check_texture_sets(str(root))) == 40
    assert time.perf_counter() - start < 1.0  # measured 10 ms
    info = probe_image(root / "Set00" / "Set00_2K_Color.jpg")
    assert (info.format, info.width, info.height, info.progressive) == ("jpeg", 4096, 4096, False)


def test_maps_of_many_sets_are_kept_smaller(tmp_path):
    """Catches: a folder of many texture sets kept at full size: a renderer keeps every set its
    locations' surfaces use (up to 410), 13 MB a set at 1024 texels: 60 sets of 2048 x 2048 maps
    took 1.8 GB at one location and grew with each, where 256 texels for 300 sets keep them under 1 GB."""
    from fat.scene.texture_sets import map_side, read_image

    ok, jpg = cv2.imencode(".jpg", np.full((2048, 2048, 3), 100, np.uint8))
    sides = {}
    for n in (3, 65, 300):
        root = tmp_path / f"n{n}"
        for k in range(n):
            (root / f"S{k}").mkdir(parents=True)
            (root / f"S{k}" / f"S{k}_2K_Color.jpg").write_bytes(jpg.tobytes())
        path = root / "S0" / "S0_2K_Color.jpg"
        sides[n] = (map_side(path), read_image(path).shape[:2])
    assert sides == {3: (1024, (1024, 1024)), 65: (512, (512, 512)), 300: (256, (256, 256))}
