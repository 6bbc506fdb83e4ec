"""Milliseconds per view of each renderer on the same views.

    python benchmarks/render.py [--views N] [--objects DIR | --standins] [--renderers gl,egl,tiny]
                                [--location NAME] [--scene FILE.glb]

Builds mixed drops (2-10 objects) at kitchen_0 with PyBullet, keeps their poses and camera samples,
then renders the same views with every renderer: 960 x 540, RGB + depth + instance ids read back.
``--scene FILE.glb`` makes a glTF scene's locations known (named after the file: ``--scene
big.glb --location big_0``).
Uses real YCB scans from ../shared/ycb when present and --objects is not given.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from fat import catalog
from fat.assets.objects import load_assets
from fat.errors import ConfigError
from fat.geometry import FAT_INTRINSICS, right_eye_pose
from fat.drop.physics import TIME_STEP, Physics
from fat.frame import Frame
from fat.render import make_renderer
from fat.drop.sampling import drop_rng, sample_camera, sample_objects, sample_start_poses
from fat.scene.scenes import CameraRanges, get_location, scene_name

from generate import machine


def views(assets, n: int, location: str):
    loc = get_location(location)
    phys = Physics()
    out = []
    d = 0
    while len(out) < n:
        rng = drop_rng(0, (9, d))
        infos = sample_objects(rng, list(catalog.fat_objects()), "mixed")
        starts = sample_start_poses(rng, loc, len(infos))
        phys.reset(loc)
        phys.spawn([assets[o.name] for o in infos], starts)
        phys.step(int(1.0 / TIME_STEP))
        objects = list(zip([assets[o.name] for o in infos], phys.poses()))
        for _ in range(5):
            cam = sample_camera(rng, loc, CameraRanges()).pose
            out += [Frame.view(loc, objects, cam, FAT_INTRINSICS), Frame.view(loc, objects, right_eye_pose(cam), FAT_INTRINSICS)]
        d += 1
    phys.close()
    return out[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--views", type=int, default=40)
    ap.add_argument("--objects")
    ap.add_argument("--standins", action="store_true")
    ap.add_argument("--location", default="kitchen_0")
    ap.add_argument("--renderers", default="gl,egl,tiny")
    ap.add_argument("--scene", help="a glTF scene or scene file whose locations --location may name")
    a = ap.parse_args()
    if a.scene:
        scene_name(a.scene)
    ycb = a.objects
    shared = Path(__file__).resolve().parents[2] / "shared" / "ycb"
    if ycb is None and not a.standins and shared.is_dir():
        ycb = str(shared)
    assets = load_assets(list(catalog.fat_objects()), ycb)
    vs = views(assets, a.views, a.location)
    print(f"machine : {machine()}")
    print(f"views   : {len(vs)} at {a.location}, 960x540, mixed drops of {'YCB scans' if ycb else 'stand-ins'}")
    for name in a.renderers.split(","):
        try:
            r = make_renderer(name)
        except ConfigError as e:
            print(f"{name:5s}: not available ({e})")
            continue
        r.render(vs[0])  # uploads, first-use costs
        t = time.perf_counter()
        for frame in vs:
            r.render(frame)
        dt = (time.perf_counter() - t) / len(vs)
        print(f"{name:5s}: {1000 * dt:7.1f} ms per view  ({getattr(r, 'device', 'PyBullet ' + name)})")
        r.close()


if __name__ == "__main__":
    main()
