"""What ``fat download`` fetches: YCB models, Poly Haven HDRIs and ambientCG texture sets.

Each kind is a :class:`Source`: where its files are (a base URL and each name's path below it, so
that a mirror holding the same paths can stand in for it), the names it takes and its small
default list, and how a downloaded file becomes what the rest of the project reads:

* ``ycb``: ``<name>_google_16k.tgz`` from the YCB benchmarks' bucket, unpacked to
  ``DEST/<name>/google_16k/textured.obj`` (+ ``textured.mtl``, ``texture_map.png``...), the official
  layout ``--objects DEST`` reads (:mod:`fat.objectsets.ycb`). FAT's 21 objects by default.
* ``hdri``: ``<name>_<res>.hdr`` from Poly Haven, written as ``DEST/<name>.hdr``, a folder of maps
  for ``--hdri DEST`` (:mod:`fat.render.lighting`). Six CC0 maps by default.
* ``textures``: ``<Name>_<RES>-JPG.zip`` from ambientCG, whose colour, normal (OpenGL), roughness
  and metalness maps go to ``DEST/<Name>/<Name>_<RES>_<Map>.jpg``, the layout ``--textures DEST``
  reads (:mod:`fat.scene.texture_sets`). Eleven CC0 sets by default.

Each unpacks into a fresh staging folder; :mod:`fat.download` checks it and renames it into place.
Nothing here reaches the network.
"""

from __future__ import annotations

import os
import re
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, FatError, OutputError, did_you_mean
from ..fileio import make_folder, open_folder, why

#: The most bytes an archive may unpack to (a damaged or hostile archive stops there).
MAX_UNPACKED = 16 << 30
_CHUNK = 1 << 20


class ArchiveError(FatError):
    """A downloaded file that is not what its source publishes (damaged, cut short, or another file)."""


@dataclass(frozen=True)
class Item:
    """One thing to download: ``name`` as the source calls it, ``path`` below the source's base URL
    (also the file name a mirror holds), ``file`` its file name (the partial download is
    ``DEST/.<file>.part``) and ``target`` what it becomes in DEST (a folder or a file)."""

    name: str
    path: str
    file: str
    target: str


class Source:
    """A kind of download. Subclasses set the class attributes and :meth:`names`, :meth:`item` and
    :meth:`unpack`."""

    kind = ""
    what = ""  # "YCB model": what one item is, in messages
    base_url = ""  # the official location; an item's URL is base_url + item.path
    home = ""  # where its names can be looked up
    resolutions: tuple[str, ...] = ()  # those --resolution takes (empty: none)
    resolution = ""  # the default
    defaults: tuple[str, ...] = ()

    def resolve(self, name: str) -> str:
        """``name`` as the source spells it; a one-line ConfigError when it cannot be one."""
        raise NotImplementedError

    def item(self, name: str, resolution: str) -> Item:
        raise NotImplementedError

    def unpack(self, downloaded: Path, staging: Path, item: Item) -> Path:
        """Make ``item.target`` inside the empty folder ``staging`` from the downloaded file, checked
        as the project's readers check it; return it. An ArchiveError when the file is not right."""
        raise NotImplementedError

    def url(self, base: str | None, item: Item) -> str:
        """The URL of ``item`` below ``base`` (a mirror: a folder URL) or the official location."""
        if base:
            return base.rstrip("/") + "/" + item.path
        return self.base_url + item.path

    def hint(self, name: str) -> str:
        """What a 404 for ``name`` adds: the nearest default name and where names are listed (nothing
        for a name of the default list: the server lacks it)."""
        if name in self.defaults:
            return ""
        return f"; {did_you_mean(name, self.defaults)}names are as on {self.home}"

    def check_resolution(self, resolution: str | None) -> str:
        if not resolution:
            return self.resolution
        r = resolution.lower()
        if r not in self.resolutions:
            if not self.resolutions:
                raise ConfigError(f"--resolution does not apply to {self.kind} (each {self.what} comes in one size)")
            raise ConfigError(f"--resolution {resolution}: {self.kind} comes in {', '.join(self.resolutions)}")
        return r


# ----------------------------------------------------------------------------- YCB
class Ycb(Source):
    kind = "ycb"
    what = "YCB model"
    # the official download script's location (ycb_downloader.py): data/google/<name>_google_16k.tgz
    base_url = "http://ycb-benchmarks.s3-website-us-east-1.amazonaws.com/data/google/"
    home = "https://www.ycbbenchmarks.com"

    @property
    def defaults(self) -> tuple[str, ...]:
        from ..catalog import fat_objects

        return fat_objects().names

    def resolve(self, name: str) -> str:
        from ..catalog import fat_objects

        objects = fat_objects()
        found = objects.find(name)
        if found is None:
            known = [o.name for o in objects.objects] + [o.short_name for o in objects.objects]
            raise ConfigError(f"unknown YCB object {name!r}; {did_you_mean(name, known)}fat download ycb takes "
                              f"FAT's 21: {', '.join(objects.names)}")
        return found.name

    def item(self, name: str, resolution: str) -> Item:
        file = f"{name}_google_16k.tgz"
        return Item(name, file, file, name)

    def unpack(self, downloaded: Path, staging: Path, item: Item) -> Path:
        prefix = item.name + "/"
        total = 0
        try:
            with tarfile.open(downloaded, "r:gz") as tar:
                for m in tar:
                    rel = (m.name[2:] if m.name.startswith("./") else m.name).rstrip("/")
                    if not rel and m.isdir():  # the archive's own "./"
                        continue
                    if rel.startswith("/") or ".." in Path(rel).parts or not (rel + "/").startswith(prefix):
                        raise ArchiveError(f"the archive holds {m.name!r}, outside {prefix}; not a YCB {item.name} "
                                           "archive")
                    if m.isdir():
                        make_folder(staging, rel)
                        continue
                    if not m.isfile():
                        raise ArchiveError(f"the archive's {m.name} is a link or special file; refusing to unpack it")
                    total += m.size
                    if total > MAX_UNPACKED:
                        raise ArchiveError(f"the archive unpacks to more than {MAX_UNPACKED >> 30} GiB; refusing it")
                    _copy_out(tar.extractfile(m), staging, rel)
        except (tarfile.TarError, EOFError, OSError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
            raise ArchiveError(f"not a readable .tgz archive ({_reason(e)}); is it damaged?") from None
        mesh = staging / item.name / "google_16k" / "textured.obj"
        if not mesh.is_file():
            raise ArchiveError(f"the archive holds no {item.name}/google_16k/textured.obj; not a YCB google_16k "
                               "archive")
        return staging / item.name


# ----------------------------------------------------------------------------- Poly Haven
_SLUG = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")


class PolyHaven(Source):
    kind = "hdri"
    what = "HDRI"
    base_url = "https://dl.polyhaven.org/file/ph-assets/HDRIs/hdr/"
    home = "https://polyhaven.com/hdris (venice_sunset for https://polyhaven.com/a/venice_sunset)"
    resolutions = ("1k", "2k", "4k", "8k")
    resolution = "2k"
    # CC0 Poly Haven originals of Blender's studio-light worlds: indoor, garden, courtyard, low sun,
    # sunset, open city ground
    defaults = ("hotel_room", "ninomaru_teien", "courtyard", "spruit_sunrise", "venice_sunset", "portland_landing_pad")

    def resolve(self, name: str) -> str:
        if not _SLUG.match(name):
            guess = re.sub(r"_+", "_", re.sub(r"[^a-z0-9]", "_", name.lower())).strip("_")
            guess = re.sub(r"_(1k|2k|4k|8k|16k)(_hdr|_exr)?$", "", guess)
            hint = f"did you mean {guess}? " if guess and _SLUG.match(guess) else ""
            raise ConfigError(f"{name!r} is not a Poly Haven HDRI name; {hint}names are lower-case words joined by _, "
                              f"as on {self.home}")
        return name

    def item(self, name: str, resolution: str) -> Item:
        file = f"{name}_{resolution}.hdr"
        return Item(name, f"{resolution}/{file}", file, f"{name}.hdr")

    def unpack(self, downloaded: Path, staging: Path, item: Item) -> Path:
        from ..scene.environment import probe_environment

        out = staging / item.target
        os.replace(downloaded, out)  # the probe reads it by its .hdr name
        try:
            probe_environment(out)
        except ConfigError as e:
            raise ArchiveError(str(e).removeprefix(f"{out}: ")) from None
        return out


# ----------------------------------------------------------------------------- ambientCG
_ASSET = re.compile(r"^[A-Za-z0-9]+$")
#: The maps of a texture set the project reads (fat.scene.texture_sets), as ambientCG names them.
_MAPS = ("Color", "NormalGL", "Normal", "Roughness", "Metalness")
_MAP_FILE = re.compile(r"^.+_(?P<map>Color|NormalGL|Normal|Roughness|Metalness)\.(?P<ext>jpe?g|png)$", re.I)


class AmbientCg(Source):
    kind = "textures"
    what = "texture set"
    base_url = "https://ambientcg.com/get?file="
    home = "https://ambientcg.com (Tiles107 for https://ambientcg.com/a/Tiles107)"
    resolutions = ("1k", "2k", "4k", "8k")
    resolution = "2k"
    # the CC0 sets of shared/assets (tiles, marble, stone, ground, rock, walls, metals)
    defaults = ("Tiles107", "Tiles074", "Marble006", "Onyx003", "Ground054", "Rock053", "Rock058", "Bricks102",
                "Metal055A", "Metal053C", "Metal049A")

    def resolve(self, name: str) -> str:
        if not _ASSET.match(name):
            guess = re.sub(r"[^A-Za-z0-9]", "", name.split("_")[0])
            hint = did_you_mean(guess, self.defaults) or (f"did you mean {guess}? " if guess else "")
            raise ConfigError(f"{name!r} is not an ambientCG asset name; {hint}names are letters and digits, as on "
                              f"{self.home}")
        return name

    def item(self, name: str, resolution: str) -> Item:
        file = f"{name}_{resolution.upper()}-JPG.zip"
        return Item(name, file, file, name)

    def unpack(self, downloaded: Path, staging: Path, item: Item) -> Path:
        from ..scene.texture_sets import probe_image

        res = item.file[len(item.name) + 1:].split("-", 1)[0]  # "2K"
        out = make_folder(staging, item.name)
        chosen: dict[str, zipfile.ZipInfo] = {}
        try:
            with zipfile.ZipFile(downloaded) as z:
                infos = z.infolist()
                if sum(i.file_size for i in infos) > MAX_UNPACKED:
                    raise ArchiveError(f"the archive unpacks to more than {MAX_UNPACKED >> 30} GiB; refusing it")
                for info in sorted(infos, key=lambda i: i.filename):
                    m = _MAP_FILE.match(info.filename.rsplit("/", 1)[-1])
                    if m and not info.is_dir():
                        kind = next(k for k in _MAPS if k.lower() == m.group("map").lower())
                        chosen.setdefault(kind, info)
                if "Color" not in chosen:
                    raise ArchiveError("the archive holds no ..._Color.jpg map; not an ambientCG texture set")
                if "NormalGL" in chosen:
                    chosen.pop("Normal", None)
                for kind, info in chosen.items():
                    ext = info.filename.rsplit(".", 1)[-1].lower()
                    name = f"{item.name}_{res}_{kind}.{ext}"
                    with z.open(info) as f:
                        _copy_out(f, staging, f"{item.name}/{name}")
                    probe_image(out / name)
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as e:
            raise ArchiveError(f"not a readable .zip archive ({_reason(e)}); is it damaged?") from None
        except ConfigError as e:
            raise ArchiveError(str(e).removeprefix(f"{out}{os.sep}")) from None
        return out


def _reason(e: BaseException) -> str:
    return why(e) if isinstance(e, OSError) and e.errno else (str(e) or type(e).__name__)


def _copy_out(f, staging: Path, rel: str) -> None:
    """Write the archive member ``f`` as ``staging/rel``: a new file, its folders reached without
    following a symbolic link (:func:`fat.fileio.open_folder`)."""
    parent, _, name = rel.rpartition("/")
    with open_folder(staging, parent, create=True) as fd:
        try:
            out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=fd)
        except FileExistsError:
            raise ArchiveError(f"the archive holds {rel} twice") from None
        except OSError as e:
            raise OutputError(f"{staging / rel}: cannot write: {why(e)}") from None
        with os.fdopen(out, "wb") as w:
            while chunk := f.read(_CHUNK):  # a damaged archive raises here: the caller's ArchiveError
                try:
                    w.write(chunk)
                except OSError as e:
                    raise OutputError(f"{staging / rel}: cannot write: {why(e)}") from None


SOURCES: dict[str, Source] = {s.kind: s for s in (Ycb(), PolyHaven(), AmbientCg())}


def source(kind: str) -> Source:
    try:
        return SOURCES[kind]
    except KeyError:
        raise ConfigError(f"unknown kind of download {kind!r}; {did_you_mean(kind, SOURCES)}known: "
                          f"{', '.join(SOURCES)}") from None


def is_present(dest: Path, item: Item) -> bool:
    """Whether DEST already has something (a file, folder or link) where ``item`` would go."""
    try:
        os.stat(dest / item.target, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True

