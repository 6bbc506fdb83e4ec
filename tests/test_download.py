"""``fat download``: YCB archives, HDRIs and texture-set zips from a local HTTP server standing in for
the official locations (``--mirror`` / ``FAT_DOWNLOAD_URL``), unpacked into the layouts the project
reads; resume, size and checksum checks, offline errors, nothing replaced or half-written. No test
reaches the internet."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import re
import socket
import tarfile
import threading
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from fat import catalog
from fat.assets.objects import ycb_assets
from fat.scene.environment import load_environment
from fat.render.lighting import check_environments
from fat.scene.texture_sets import check_texture_sets
from fat_cli import error_line, run_fat


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """Requests to the local server go straight to it, whatever proxy the machine sets."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("FAT_DOWNLOAD_URL", raising=False)


# ----------------------------------------------------------------------------- the local server
class Mirror(http.server.ThreadingHTTPServer):
    """Serves ``files`` (URL path -> bytes) with HTTP ranges; logs (path, Range header) of each GET.
    ``ranges`` False: Range ignored (the whole file, 200). ``cut[path] = n``: announce the whole
    length but send ``n`` bytes and close. ``html``: paths answered with a web page."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.log: list[tuple[str, str | None]] = []
        self.ranges = True
        self.cut: dict[str, int] = {}
        self.html: set[str] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        srv: Mirror = self.server
        path = self.path.split("?", 1)[0]
        srv.log.append((path, self.headers.get("Range")))
        if path in srv.html:
            body = b"<html><body>Not here</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        data = srv.files.get(path)
        if data is None:
            self.send_error(404, "Not Found")
            return
        m = re.match(r"bytes=(\d+)-$", self.headers.get("Range") or "")
        start = int(m.group(1)) if m and srv.ranges else 0
        if start >= len(data) and start:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(206 if start else 200)
        self.send_header("Content-Type", "application/octet-stream")
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:start + srv.cut[path]] if path in srv.cut else data[start:])


@pytest.fixture
def mirror():
    srv = Mirror()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def closed_port() -> int:
    """A local port nothing listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ----------------------------------------------------------------------------- archives as published
def png(h=16, w=16, value=(40, 160, 220)) -> bytes:
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = value
    img[::4] = 255
    return cv2.imencode(".png", img)[1].tobytes()


def jpg(value) -> bytes:
    img = np.full((16, 16, 3), value, np.uint8)
    img[::3, ::2] = 30
    return cv2.imencode(".jpg", img)[1].tobytes()


def banana_obj() -> bytes:
    """A textured box that fills FAT's banana cuboid once moved by its fixed_model_transform, as a
    YCB scan of the banana does."""
    o = catalog.fat_objects().get("banana")
    R, t = o.model_transform[:3, :3], o.model_transform[:3, 3]
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]) * o.dimensions / 2
    v = (corners - t) @ R  # inverse of p = R v + t
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    lines = ["mtllib textured.mtl", "usemtl material_0"]
    lines += [f"v {a:.6f} {b:.6f} {c:.6f}" for a, b, c in v]
    lines += ["vt 0.1 0.1", "vt 0.9 0.1", "vt 0.9 0.9", "vt 0.1 0.9"]
    for a, b, c, d in quads:
        lines += [f"f {a + 1}/1 {b + 1}/2 {c + 1}/3", f"f {a + 1}/1 {c + 1}/3 {d + 1}/4"]
    return ("\n".join(lines) + "\n").encode()


def tgz(members: dict[str, bytes], links: dict[str, str] = {}) -> bytes:  # noqa: B006 - read only
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        dirs = sorted({str(Path(n).parents[i]) for n in members for i in range(len(Path(n).parts) - 1)})
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, to in links.items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = to
            tar.addfile(info)
    return buf.getvalue()


def ycb_tgz(name="011_banana") -> bytes:
    """A google_16k archive as the YCB bucket publishes it: ``<name>/google_16k/...``."""
    d = f"{name}/google_16k/"
    return tgz({d + "textured.obj": banana_obj(),
                d + "textured.mtl": b"newmtl material_0\nKd 1 1 1\nmap_Kd texture_map.png\n",
                d + "texture_map.png": png(),
                d + "kinbody.xml": b"<KinBody/>\n"})


def hdr(width=64, seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    img = (rng.random((width // 2, width, 3)) * 4).astype(np.float32)
    ok, buf = cv2.imencode(".hdr", img)
    assert ok
    return buf.tobytes()


def texture_zip(name="Tiles107", res="2K") -> bytes:
    """A texture-set zip as ambientCG publishes it: flat, ``<Name>_<RES>-JPG_<Map>.jpg`` and more."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for m, value in (("Color", (200, 180, 150)), ("NormalGL", (255, 128, 128)), ("NormalDX", (255, 128, 128)),
                         ("Roughness", (128, 128, 128)), ("Displacement", (90, 90, 90))):
            z.writestr(f"{name}_{res}-JPG_{m}.jpg", jpg(value))
        z.writestr(f"{name}.png", png())
        z.writestr(f"{name}_{res}-JPG.mtlx", "<materialx/>")
    return buf.getvalue()


def contents(folder: Path) -> dict[str, bytes | str]:
    """Every entry below ``folder`` (hidden ones included): file bytes, or ``->target`` for a link."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = f"->{os.readlink(p)}" if p.is_symlink() else p.read_bytes() if p.is_file() else "dir"
    return out


# ----------------------------------------------------------------------------- end to end
@pytest.mark.filterwarnings("ignore::fat.assets.meshes.MeshWarning")
def test_ycb_archive_unpacks_to_the_layout_the_ycb_reader_loads(tmp_path, mirror, capfd):
    """Catches: an archive unpacked one folder too deep or too shallow, or with its files renamed, so
    that ``--objects DEST`` does not find or cannot build the model; a staging folder or the
    downloaded archive left in DEST."""
    mirror.files["/011_banana_google_16k.tgz"] = ycb_tgz()
    dest = tmp_path / "ycb"
    rc, out, err = run_fat(capfd, "download", "ycb", dest, "banana", "--mirror", mirror.url)
    assert rc == 0, err
    assert mirror.log == [("/011_banana_google_16k.tgz", None)]
    assert sorted(os.listdir(dest)) == ["011_banana"]  # nothing hidden left: no lock, part or staging folder
    assert sorted(os.listdir(dest / "011_banana" / "google_16k")) == ["kinbody.xml", "texture_map.png", "textured.mtl",
                                                                     "textured.obj"]
    assert "downloaded 1 YCB model" in out
    banana = catalog.fat_objects().get("banana")
    asset = ycb_assets(dest, [banana], texture_size=64)[banana.name]
    assert np.allclose(np.ptp(asset.hull, axis=0), banana.dimensions, atol=1e-4)
    rc, out, err = run_fat(capfd, "objects", "--objects", dest)
    assert rc == 0, err
    assert str(dest) in out


def test_hdri_is_written_as_a_map_the_environment_reader_loads(tmp_path, mirror, capfd, monkeypatch):
    """Catches: a map saved under its download name (``_1k.hdr``) or a path the ``--hdri DIR`` folder
    does not list; a resolution not in the URL; FAT_DOWNLOAD_URL not taking the mirror's place."""
    data = hdr()
    mirror.files["/1k/venice_sunset_1k.hdr"] = data
    monkeypatch.setenv("FAT_DOWNLOAD_URL", mirror.url + "/")
    dest = tmp_path / "hdri"
    rc, out, err = run_fat(capfd, "download", "hdri", dest, "venice_sunset", "--resolution", "1k")
    assert rc == 0, err
    assert (dest / "venice_sunset.hdr").read_bytes() == data
    assert check_environments(dest) == [dest / "venice_sunset.hdr"]
    env = load_environment(dest / "venice_sunset.hdr")
    assert env.name and np.isfinite(np.asarray(env.radiance)).all()


def test_texture_zip_becomes_a_set_the_texture_reader_reads(tmp_path, mirror, capfd):
    """Catches: maps unpacked under names ``--textures`` does not match, the DirectX normal map
    taken for the OpenGL one, a zip's extra files (previews, displacement) taken as maps."""
    mirror.files["/Tiles107_2K-JPG.zip"] = texture_zip()
    dest = tmp_path / "cc"
    rc, out, err = run_fat(capfd, "download", "textures", dest, "Tiles107", "--mirror", mirror.url, "--quiet")
    assert rc == 0, err
    assert sorted(os.listdir(dest / "Tiles107")) == ["Tiles107_2K_Color.jpg", "Tiles107_2K_NormalGL.jpg",
                                                     "Tiles107_2K_Roughness.jpg"]
    with zipfile.ZipFile(io.BytesIO(texture_zip())) as z:
        assert (dest / "Tiles107" / "Tiles107_2K_NormalGL.jpg").read_bytes() == z.read("Tiles107_2K-JPG_NormalGL.jpg")
    (s,) = check_texture_sets(str(dest))
    assert s.name == "Tiles107" and s.normal.name == "Tiles107_2K_NormalGL.jpg" and s.roughness is not None
    assert s.metalness is None


def test_the_default_list_and_a_rerun_that_downloads_nothing(tmp_path, mirror, capfd):
    """Catches: no default list, or one naming maps the source does not have under those paths; a
    rerun after a finished download that fetches again (or even asks the server)."""
    from fat.download.sources import SOURCES

    names = SOURCES["hdri"].defaults
    assert len(names) >= 4
    for i, n in enumerate(names):
        mirror.files[f"/2k/{n}_2k.hdr"] = hdr(seed=i)
    dest = tmp_path / "hdri"
    rc, out, err = run_fat(capfd, "download", "hdri", dest, "--mirror", mirror.url)
    assert rc == 0, err
    assert sorted(os.listdir(dest)) == sorted(f"{n}.hdr" for n in names)
    assert len(check_environments(dest)) == len(names)
    asked = len(mirror.log)
    rc, out, err = run_fat(capfd, "download", "hdri", dest, "--mirror", mirror.url)
    assert rc == 0, err
    assert len(mirror.log) == asked  # nothing asked
    assert "nothing to download" in out


def test_the_official_locations(tmp_path, capfd):
    """Catches: a wrong URL pattern for a source (the YCB bucket's google/<name>_google_16k.tgz, Poly
    Haven's hdr/<res>/<name>_<res>.hdr, ambientCG's get?file=<Name>_<RES>-JPG.zip). --dry-run reaches
    nothing and creates nothing."""
    dest = tmp_path / "d"
    rc, out, _ = run_fat(capfd, "download", "ycb", dest, "036", "--dry-run")
    assert rc == 0
    assert out.split() == ["http://ycb-benchmarks.s3-website-us-east-1.amazonaws.com/data/google/"
                           "036_wood_block_google_16k.tgz", "->", str(dest / "036_wood_block")]
    rc, out, _ = run_fat(capfd, "download", "hdri", dest, "courtyard", "--resolution", "4K", "--dry-run")
    assert out.split()[0] == "https://dl.polyhaven.org/file/ph-assets/HDRIs/hdr/4k/courtyard_4k.hdr"
    rc, out, _ = run_fat(capfd, "download", "textures", dest, "Metal055A", "--dry-run")
    assert out.split()[0] == "https://ambientcg.com/get?file=Metal055A_2K-JPG.zip"
    rc, out, _ = run_fat(capfd, "download", "ycb", dest, "--dry-run")
    assert len(out.splitlines()) == 21
    assert not dest.exists()


# ----------------------------------------------------------------------------- resume
def test_a_partial_download_is_completed_with_a_range_request(tmp_path, mirror, capfd):
    """Catches: a partial download started again from zero (no Range request), the rest appended at
    the wrong place, or the part left behind; a part that is already whole fetched again or refused."""
    data = hdr(width=256)
    mirror.files["/2k/venice_sunset_2k.hdr"] = data
    dest = tmp_path / "hdri"
    dest.mkdir()
    half = len(data) // 2
    (dest / ".venice_sunset_2k.hdr.part").write_bytes(data[:half])
    rc, out, err = run_fat(capfd, "download", "hdri", dest, "venice_sunset", "--mirror", mirror.url)
    assert rc == 0, err
    assert mirror.log == [("/2k/venice_sunset_2k.hdr", f"bytes={half}-")]
    assert (dest / "venice_sunset.hdr").read_bytes() == data
    assert sorted(os.listdir(dest)) == ["venice_sunset.hdr"]
    # a part that holds the whole file (a run stopped before installing it): the server's 416 says so
    whole = tmp_path / "whole"
    whole.mkdir()
    (whole / ".venice_sunset_2k.hdr.part").write_bytes(data)
    rc, out, err = run_fat(capfd, "download", "hdri", whole, "venice_sunset", "--mirror", mirror.url)
    assert rc == 0, err
    assert mirror.log[-1] == ("/2k/venice_sunset_2k.hdr", f"bytes={len(data)}-")
    assert os.listdir(whole) == ["venice_sunset.hdr"] and (whole / "venice_sunset.hdr").read_bytes() == data


def test_a_transfer_cut_short_is_kept_and_resumed_by_a_rerun(tmp_path, mirror, capfd):
    """Catches: a transfer that ends early taken as complete (no size check against Content-Length),
    an error that is not one line or does not say a rerun resumes, the received bytes thrown away,
    a server that ignores Range corrupting the part."""
    data = ycb_tgz()
    path = "/011_banana_google_16k.tgz"
    mirror.files[path] = data
    mirror.cut[path] = 300
    dest = tmp_path / "ycb"
    rc, out, err = run_fat(capfd, "download", "ycb", dest, "011_banana", "--mirror", mirror.url, "--quiet")
    assert rc == 1
    line = error_line(err)
    assert line.startswith(f"fat: error: {mirror.url}{path}: the transfer stopped after 300 bytes of ")
    assert "run the same command again to resume" in line
    assert os.listdir(dest) == [".011_banana_google_16k.tgz.part"]  # nothing installed, the part kept
    del mirror.cut[path]
    rc, out, err = run_fat(capfd, "download", "ycb", dest, "011_banana", "--mirror", mirror.url, "--quiet")
    assert rc == 0, err
    assert mirror.log[-1] == (path, "bytes=300-")
    assert (dest / "011_banana" / "google_16k" / "textured.obj").read_bytes() == banana_obj()
    # a server that ignores Range: the whole file replaces the part
    dest2 = tmp_path / "ycb2"
    dest2.mkdir()
    (dest2 / ".011_banana_google_16k.tgz.part").write_bytes(data[:300])
    mirror.ranges = False
    rc, out, err = run_fat(capfd, "download", "ycb", dest2, "011_banana", "--mirror", mirror.url, "--quiet")
    assert rc == 0, err
    assert os.listdir(dest2) == ["011_banana"]


# ----------------------------------------------------------------------------- checks
def test_a_checksum_mismatch_is_refused_and_leaves_nothing(tmp_path, mirror, capfd):
    """Catches: a file whose sha256 is not the listed one installed anyway, or its bytes left in DEST
    (a rerun would resume a wrong file); a listed file that matches refused."""
    data = hdr()
    mirror.files["/2k/courtyard_2k.hdr"] = data
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"{'0' * 64}  2k/courtyard_2k.hdr\n")
    dest = tmp_path / "hdri"
    rc, out, err = run_fat(capfd, "download", "hdri", dest, "courtyard", "--mirror", mirror.url, "--checksums", sums,
                           "--quiet")
    assert rc == 1
    line = error_line(err)
    assert f"sha256 {hashlib.sha256(data).hexdigest()} is not the listed {'0' * 64}" in line
    assert not dest.exists()  # made by the command, removed again: nothing left
    sums.write_text(f"# made with sha256sum\n{hashlib.sha256(data).hexdigest()} *courtyard_2k.hdr\n")
    rc, out, err = run_fat(capfd, "download", "hdri", dest, "courtyard", "--mirror", mirror.url, "--checksums", sums,
                           "--quiet")
    assert rc == 0, err
    assert (dest / "courtyard.hdr").read_bytes() == data


def test_a_damaged_file_of_the_right_size_is_refused_and_deleted(tmp_path, mirror, capfd):
    """Catches: a damaged archive or map (right size, wrong bytes) unpacked or installed half, or its
    download kept so that every rerun fails on it; DEST changed by a refused download."""
    mirror.files["/011_banana_google_16k.tgz"] = ycb_tgz()[:-200] + b"\0" * 200  # gzip data damaged at the end
    mirror.files["/2k/venice_sunset_2k.hdr"] = hdr(width=256)[:-500] + b"\0" * 500  # run-length data broken
    mirror.files["/Tiles107_2K-JPG.zip"] = b"PK\x03\x04" + b"\0" * 500
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "mine.txt").write_text("mine")
    before = contents(dest)
    for kind, name, says in (("ycb", "011_banana", "not a readable .tgz archive"),
                             ("hdri", "venice_sunset", "venice_sunset_2k.hdr: not a readable Radiance .hdr image ("),
                             ("textures", "Tiles107", "not a readable .zip archive")):
        rc, out, err = run_fat(capfd, "download", kind, dest, name, "--mirror", mirror.url, "--quiet")
        assert rc == 1, (kind, out)
        line = error_line(err)
        assert says in line and line.endswith("(deleted it)"), line
        assert contents(dest) == before, kind


def test_an_archive_with_a_link_or_a_path_outside_is_refused(tmp_path, mirror, capfd):
    """Catches: a tar member that is a symbolic link, or whose path leaves the object's folder,
    written (a file could be put anywhere through it)."""
    outside = tmp_path / "outside.txt"
    outside.write_text("theirs")
    d = "011_banana/google_16k/"
    mirror.files["/011_banana_google_16k.tgz"] = tgz({d + "textured.obj": banana_obj()},
                                                     {d + "texture_map.png": str(outside)})
    mirror.files["/024_bowl_google_16k.tgz"] = tgz({"024_bowl/google_16k/textured.obj": b"v 0 0 0\n",
                                                    "024_bowl/../../escaped.txt": b"x"})
    dest = tmp_path / "ycb"
    for name, says in (("011_banana", "is a link or special file"), ("024_bowl", "outside 024_bowl/")):
        rc, out, err = run_fat(capfd, "download", "ycb", dest, name, "--mirror", mirror.url, "--quiet")
        assert rc == 1
        assert says in error_line(err)
        assert not dest.exists()
    assert outside.read_text() == "theirs" and not (tmp_path / "escaped.txt").exists()


# ----------------------------------------------------------------------------- errors offline
def test_an_unreachable_server_is_one_line_and_changes_nothing(tmp_path, capfd):
    """Catches: a traceback or several lines when the network is down, exit status 0, a DEST created
    or changed by a download that never started."""
    url = f"http://127.0.0.1:{closed_port()}"
    dest = tmp_path / "hdri"
    dest.mkdir()
    (dest / "mine.hdr").write_bytes(b"mine")
    before = contents(dest)
    rc, out, err = run_fat(capfd, "download", "hdri", dest, "venice_sunset", "--mirror", url)  # no --quiet
    assert rc == 1
    assert error_line(err) == (f"fat: error: cannot reach {url}/2k/venice_sunset_2k.hdr: Connection refused")
    assert contents(dest) == before
    fresh = tmp_path / "fresh"
    rc, out, err = run_fat(capfd, "download", "ycb", fresh, "--mirror", url)
    assert rc == 1 and error_line(err).startswith("fat: error: cannot reach ")
    assert not fresh.exists()


def test_an_unknown_name_is_one_line_with_the_nearest_name(tmp_path, mirror, capfd):
    """Catches: an unknown name that ends in a traceback, a bare 404, or without a did-you-mean;
    a name with a path in it reaching the file system."""
    dest = tmp_path / "d"
    rc, out, err = run_fat(capfd, "download", "ycb", dest, "bananna", "--mirror", mirror.url)
    assert rc == 1
    assert "unknown YCB object 'bananna'; did you mean banana?" in error_line(err)
    rc, out, err = run_fat(capfd, "download", "hdri", dest, "venice_sunsett", "--mirror", mirror.url)
    assert rc == 1
    assert error_line(err) == (f"fat: error: no HDRI 'venice_sunsett' at {mirror.url}/2k/venice_sunsett_2k.hdr "
                               "(HTTP 404 Not Found); did you mean venice_sunset? names are as on "
                               "https://polyhaven.com/hdris (venice_sunset for https://polyhaven.com/a/venice_sunset)")
    rc, out, err = run_fat(capfd, "download", "textures", dest, "../Tiles107", "--mirror", mirror.url)
    assert rc == 1
    assert "did you mean Tiles107?" in error_line(err)
    mirror.html.add("/Marble06_2K-JPG.zip")  # a site that answers an unknown name with a page
    rc, out, err = run_fat(capfd, "download", "textures", dest, "Marble06", "--mirror", mirror.url)
    assert rc == 1
    assert "the server sent a web page, not the texture set file; did you mean Marble006?" in error_line(err)
    assert not dest.exists()


# ----------------------------------------------------------------------------- the user's files
def test_what_dest_has_is_not_replaced_without_overwrite(tmp_path, mirror, capfd):
    """Catches: a user's own map or model folder replaced (or even downloaded for) without
    --overwrite; --overwrite not replacing it."""
    mirror.files["/2k/venice_sunset_2k.hdr"] = data = hdr()
    mirror.files["/011_banana_google_16k.tgz"] = ycb_tgz()
    dest = tmp_path / "d"
    dest.mkdir()
    (dest / "venice_sunset.hdr").write_bytes(b"my own map")
    (dest / "011_banana").mkdir()
    (dest / "011_banana" / "textured.obj").write_bytes(b"my flat layout")
    before = contents(dest)
    for kind, name in (("hdri", "venice_sunset"), ("ycb", "011_banana")):
        rc, out, err = run_fat(capfd, "download", kind, dest, name, "--mirror", mirror.url)
        assert rc == 0, err
        assert "is in" in out and "--overwrite" in out
    assert contents(dest) == before and mirror.log == []
    for kind, name in (("hdri", "venice_sunset"), ("ycb", "011_banana")):
        rc, out, err = run_fat(capfd, "download", kind, dest, name, "--mirror", mirror.url, "--overwrite", "--quiet")
        assert rc == 0, err
    assert (dest / "venice_sunset.hdr").read_bytes() == data
    assert sorted(os.listdir(dest / "011_banana")) == ["google_16k"]
    assert sorted(os.listdir(dest)) == ["011_banana", "venice_sunset.hdr"]


def test_nothing_is_written_through_a_symbolic_link(tmp_path, mirror, capfd):
    """Catches: a partial download that is a link to another file appended to (the file it leads to
    changed); --overwrite of a linked map writing into the file the link leads to."""
    mirror.files["/2k/venice_sunset_2k.hdr"] = data = hdr()
    theirs = tmp_path / "theirs.hdr"
    theirs.write_bytes(b"not yours")
    dest = tmp_path / "d"
    dest.mkdir()
    (dest / ".venice_sunset_2k.hdr.part").symlink_to(theirs)
    rc, out, err = run_fat(capfd, "download", "hdri", dest, "venice_sunset", "--mirror", mirror.url, "--quiet")
    assert rc == 1
    assert "is a symbolic link" in error_line(err)
    assert theirs.read_bytes() == b"not yours" and mirror.log == []
    (dest / ".venice_sunset_2k.hdr.part").unlink()
    (dest / "venice_sunset.hdr").symlink_to(theirs)
    rc, out, err = run_fat(capfd, "download", "hdri", dest, "venice_sunset", "--mirror", mirror.url, "--overwrite",
                           "--quiet")
    assert rc == 0, err
    assert theirs.read_bytes() == b"not yours"
    assert not (dest / "venice_sunset.hdr").is_symlink() and (dest / "venice_sunset.hdr").read_bytes() == data
