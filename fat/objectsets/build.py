"""From mesh files to an :class:`~fat.catalog.ObjectSet`: units, the FAT-aligned frame and cuboid,
masses, segmentation ids, class names.

The FAT-aligned frame of a mesh is made the way NDDS makes it: the cuboid is the mesh's
axis-aligned bounding box in its own frame (after the set's optional ``transform``), and the frame's
origin is moved to the box's centre (``--align aabb``, the default). ``--align obb`` takes the
smallest oriented box instead (trimesh's ``oriented_bounds``), for meshes modelled at an angle.
Either way the object's ``model_transform`` maps the mesh file's coordinates (its own units) into
the aligned frame in metres; ``_object_settings.json`` writes it as ``fixed_model_transform``.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..catalog import ALIGNMENTS, UNITS, MeshFiles, ObjectInfo, ObjectSet, parse_units, units_scale  # noqa: F401 - units named here too
from ..errors import ConfigError
from ..assets.mesh_reading import METRE_SUFFIXES, mesh_warning, probe_mesh, read_mesh_file, warn_quality
from ..drop.sampling import REFERENCE_RADIUS

#: Density (kg/m^3) of an object whose mass is not given: mass = volume x density. FAT's 21 YCB
#: objects average about 400 (boxes and cans hold air), solid plastic is about 1,000.
DEFAULT_DENSITY = 500.0
#: Objects in one set at most: segmentation ids are 8-bit, 0 is the background.
MAX_OBJECTS = 255
#: A mesh longer than this (metres, its longest side) is warned about while the set is read, naming
#: its size and a smaller unit to try: FAT's drop and cameras are made for objects up to about this
#: size (twice :data:`fat.drop.sampling.REFERENCE_RADIUS`, the bounding radius up to which they stay
#: FAT's); a larger one makes the drop and the camera distances grow with it, and is often a mesh in
#: other units.
LARGEST = 2 * REFERENCE_RADIUS
#: A mesh shorter than this (metres, its longest side) is warned about: its units are likely wrong.
SMALLEST = 0.005
#: A mesh larger than this (metres, its longest side) is refused while the set is read (its units are
#: surely wrong); smaller ones that no location has room for are refused by the settings' check.
LARGEST_REFUSED = 10_000.0
#: Class names become folder names (``single/<class>/``) and JSON strings.
CLASS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")


@dataclass
class Entry:
    """One object of a set before the set numbers it: where its mesh is and how to read it."""

    name: str
    mesh: Path
    where: str  # what an error names: the file (and field) the entry comes from
    scale: float = 1.0  # metres per unit of the mesh file
    align: str = "aabb"
    transform: np.ndarray | None = None  # 4x4 (metres) applied before the box is taken
    class_name: str = ""
    mass: float | None = None
    segmentation_id: int | None = None
    collision: Path | None = None
    symmetry: dict | None = None
    material: object = None  # fat.render.materials.Material
    material_keys: tuple[str, ...] = ()  # the material's values the set file gives (they override the mesh file's)


def check_class_name(name, where: str) -> str:
    if not isinstance(name, str) or not CLASS_NAME.match(name) or name in (".", ".."):
        raise ConfigError(f"{where}: class name {name!r} must be 1-100 letters, digits, '.', '_', '+' or '-', "
                          "starting with a letter or digit (it names the object's single-object folder)")
    return name


@dataclass(frozen=True)
class Aligned:
    transform: np.ndarray  # (4, 4) file units -> FAT-aligned frame, metres
    dimensions: np.ndarray  # (3,) metres
    volume: float  # m^3: the closed mesh's, else its convex hull's


@functools.lru_cache(maxsize=512)
def _aligned(path: str, size: int, mtime: int, scale: float, align: str, transform: bytes | None) -> Aligned:
    import trimesh

    mf = read_mesh_file(path)
    S = np.diag([scale, scale, scale, 1.0])
    if transform is not None:
        S = np.frombuffer(transform).reshape(4, 4) @ S
    v = mf.mesh.vertices @ S[:3, :3].T + S[:3, 3]
    # a mesh without volume, before anything takes its hull (trimesh's hull of a plane fails in networkx)
    where, extent = mf.path, np.ptp(v, axis=0)
    if np.min(extent) <= 0:
        raise ConfigError(f"{where}: the mesh is flat ({np.round(extent, 6).tolist()} m): an object needs a volume")
    if np.max(extent) > LARGEST_REFUSED:
        raise ConfigError(f"{where}: {np.max(extent):.4g} m across at {scale:g} m per unit, more than the "
                          f"{LARGEST_REFUSED:,.0f} m an object may be; are its units right? (--units or the set file's units)")
    if mf.closed:
        f = mf.mesh.faces
        volume = abs(float(np.einsum("ij,ij->i", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])).sum())) / 6
        if not volume > 1e-9 * float(np.prod(extent)):
            raise ConfigError(f"{where}: the closed mesh encloses no volume (its surface folds back onto itself)")
    else:
        volume = _hull_volume(v)
        if not volume > 1e-9 * float(np.prod(extent)):
            raise ConfigError(f"{where}: the mesh is flat (its vertices lie in one plane): an object needs a volume")
    if align == "obb":
        to_box, extents = trimesh.bounds.oriented_bounds(v)
        A = np.asarray(to_box, dtype=np.float64)
    else:
        A = np.eye(4)
    p = v @ A[:3, :3].T + A[:3, 3]
    lo, hi = p.min(0), p.max(0)
    A[:3, 3] -= (lo + hi) / 2
    T = A @ S
    dims = hi - lo
    T.setflags(write=False)
    dims.setflags(write=False)
    return Aligned(T, dims, volume)


def _hull_volume(points: np.ndarray) -> float:
    """The volume of the points' convex hull (SciPy's Qhull); 0 for points in a plane or a line."""
    from scipy.spatial import ConvexHull, QhullError

    try:
        return float(ConvexHull(points).volume)
    except (QhullError, ValueError):
        return 0.0


def aligned(e: Entry) -> Aligned:
    """The FAT-aligned frame, cuboid and volume of entry ``e``'s mesh (read once per process)."""
    mf = read_mesh_file(e.mesh)
    st = e.mesh.stat()
    scale = 1.0 if e.mesh.suffix.lower() in METRE_SUFFIXES else e.scale
    a = _aligned(str(mf.path.resolve()), st.st_size, st.st_mtime_ns, scale, e.align,
                 None if e.transform is None else np.ascontiguousarray(e.transform, dtype=np.float64).tobytes())
    path = mf.path  # resolved: every mesh message names its file the same way
    longest = float(np.max(a.dimensions))
    if longest > LARGEST or longest < SMALLEST:
        large = f", larger than the {LARGEST:g} m that FAT's drop and cameras are made for" if longest > LARGEST else ""
        if e.mesh.suffix.lower() in METRE_SUFFIXES:
            how = "scale it in the file or with the set file's transform" if e.transform is None else "check the set file's transform"
            mesh_warning(f"{path}: {longest:.4g} m across{large}; is the model's scale right? (glTF is in metres, "
                         f"--units does not apply: {how})")
        elif longest > LARGEST:
            unit, size = smaller_unit(longest, scale)
            mesh_warning(f"{path}: {longest:.4g} m across at {scale:g} m per unit{large}; are its units right? "
                         f"(--units {unit} makes it {_length(size)}; use --units or the set file's units)")
        else:
            mesh_warning(f"{path}: {longest:.4g} m across at {scale:g} m per unit; are its units right? "
                         f"(for a larger unit: cm or m, use --units or the set file's units)")
    return a


def smaller_unit(longest: float, scale: float) -> tuple[str, float]:
    """The unit to try for a mesh ``longest`` metres across at ``scale`` metres per unit that is
    larger than :data:`LARGEST`: the largest tenth, hundredth, thousandth ... of ``scale`` that
    brings it within :data:`LARGEST`, as ``--units`` takes it (mm, cm or a number), and the size it
    gives (metres)."""
    n = max(1, math.ceil(math.log10(longest / LARGEST) - 1e-9))
    unit = scale / 10**n
    name = next((k for k, v in UNITS.items() if math.isclose(v, unit, rel_tol=1e-9)), f"{unit:.6g}")
    return name, longest / 10**n


def _length(metres: float) -> str:
    return f"{metres * 100:.3g} cm" if metres < 1 else f"{metres:.3g} m"


def too_large(name: str, dimensions) -> str | None:
    """What to say of an object whose start cannot be freed, when it is larger than
    :data:`LARGEST` (a mesh in other units, most likely); None for an object of FAT's sizes."""
    longest = float(np.max(dimensions))
    if longest <= LARGEST:
        return None
    return (f"{name} is {longest:.3g} m across, larger than the {LARGEST:g} m that FAT's drop is made for: are its "
            "units right? (--units, or units in an object-set file)")


def segmentation_ids(n: int, given: dict[int, int]) -> list[int]:
    """Mixed-folder segmentation ids of ``n`` objects, spread over 1..255: object ``i`` (0-based)
    gets ``(i + 1) * (255 // n)`` (FAT's 21 objects: 12, 24, ... 252). ``given`` (object -> id)
    overrides; an object whose id is taken by a given one moves to the nearest free id."""
    if n > MAX_OBJECTS:
        raise ConfigError(f"{n} objects, more than {MAX_OBJECTS}: segmentation ids are 8-bit")
    step = 255 // max(n, 1)
    ids = [given.get(i, (i + 1) * step) for i in range(n)]
    taken = set(given.values())
    used = set(taken)
    for i in range(n):
        if i in given:
            continue
        want = ids[i]
        for d in range(256):
            for c in (want + d, want - d):
                if 1 <= c <= 255 and c not in used:
                    ids[i] = c
                    break
            else:
                continue
            break
        used.add(ids[i])
    return ids


def make_set(name: str, entries: list[Entry], supercategory: str, about: str, where: str) -> ObjectSet:
    """The :class:`ObjectSet` of ``entries``, in their order."""
    if not entries:
        raise ConfigError(f"{where}: no object found")
    if len(entries) > MAX_OBJECTS:
        raise ConfigError(f"{where}: {len(entries)} objects, more than {MAX_OBJECTS} (segmentation ids are 8-bit)")
    seen: dict[str, str] = {}
    given = {}
    for i, e in enumerate(entries):
        cls = check_class_name(e.class_name or e.name, e.where)
        if cls.lower() in seen:
            raise ConfigError(f"{e.where}: class {cls!r} is also the class of {seen[cls.lower()]}")
        seen[cls.lower()] = e.where
        if e.segmentation_id is not None:
            sid = e.segmentation_id
            if isinstance(sid, bool) or not isinstance(sid, int) or not 1 <= sid <= 255:
                raise ConfigError(f"{e.where}: segmentation_id must be an integer 1..255, got {sid!r}")
            if sid in given.values():
                raise ConfigError(f"{e.where}: segmentation_id {sid} is given to another object too")
            given[i] = sid
    ids = segmentation_ids(len(entries), given)
    objects = []
    for i, (e, sid) in enumerate(zip(entries, ids)):
        a = aligned(e)
        if e.collision is not None:
            probe_mesh(e.collision)  # its size in triangles, before a worker reads it
        mass = e.mass if e.mass is not None else a.volume * DEFAULT_DENSITY
        if isinstance(mass, bool) or not isinstance(mass, (int, float)) or not math.isfinite(mass) or mass <= 0:
            raise ConfigError(f"{e.where}: mass must be a positive number of kg, got {mass!r}")
        objects.append(ObjectInfo(i, e.name, e.class_name or e.name, sid, a.dimensions, a.transform, float(mass),
                                  mesh=str(e.mesh), collision="" if e.collision is None else str(e.collision),
                                  symmetry=e.symmetry, material=e.material,
                                  material_keys=e.material_keys))
    return ObjectSet(name, tuple(objects), supercategory=supercategory, meshes=MeshFiles(), about=about)


def quality_warnings(entries: list[Entry]) -> None:
    for e in entries:
        warn_quality(read_mesh_file(e.mesh), e.mass is not None, e.collision is not None)
