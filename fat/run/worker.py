"""What one process keeps between drops (physics, renderer, loaded assets), and how it runs a drop:
simulate, render, annotate, write."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from ..annotate import extras as extra
from ..annotate.views import annotate_view, listed
from ..assets.objects import ObjectAsset, load_assets
from ..render.camera_effects import CameraEffects
from ..catalog import SINGLE_SEGMENTATION_ID
from ..formats import extras as extrafmt, fat as fatfmt
from ..frame import CameraRig, Frame, FrameObject
from ..geometry import EYES, invert_pose, right_eye_pose
from ..drop.physics import TIME_STEP, Physics
from .plan import Drop
from .resolve import object_infos, object_set
from ..randomize import Draft, Randomization
from ..render import make_renderer
from ..render.scenery import surface_count
from ..drop.sampling import clear_camera, drop_rng, sample_camera, sample_objects, sample_start_poses, scaled_location
from ..scene.scenes import get_location, scene_name
from ..settings import Settings


class Worker:
    """What a process keeps between drops: physics client, renderer, loaded assets.

    ``K`` is the camera the renderer really renders with (a game may render another size or field
    of view than asked), ``note`` the renderer's note (``auto``: what it chose and why)."""

    def __init__(self, s: Settings):
        self.s = s
        for sc in s.scenes:  # scene files given by path: known by name in this process too
            scene_name(sc)
        self.objects = object_set(s)
        self.assets: dict[str, ObjectAsset] = load_assets(object_infos(s), self.objects.meshes, s.texture_size)
        self.physics = Physics()
        self.renderer = make_renderer(s.renderer, s.intrinsics, s.renderer_options, self.objects)
        self.note = self.renderer.note
        if s.extras:
            try:
                self.renderer.draw_extras(s.extras)  # auto may have fallen back to one that cannot
            except Exception:
                self.renderer.close()
                raise
        self.K = self.renderer.intrinsics or s.intrinsics
        self.effects = CameraEffects(s.seed) if s.camera_effects else None
        self.randomization = Randomization(s.randomize, s.seed) if s.randomizes else None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fat-writer")
        self._locations: dict = {}  # location name -> the location with its drop cylinder scaled

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self.physics.close()
        self.renderer.close()

    def scenes(self, drop: Drop) -> Iterator[Frame]:
        """Simulate one drop and yield its frames (:class:`fat.frame.Frame`: index in the folder,
        location, objects with their poses, camera rig; a randomized drop's distractors and looks).
        The physics advances as the caller asks for the next frame."""
        s = self.s
        rng = drop_rng(s.seed, drop.key)
        if drop.location not in self._locations:
            self._locations[drop.location] = scaled_location(get_location(drop.location), s.size_scale)
        loc = self._locations[drop.location]
        pool = [self.objects.get(drop.object_name)] if drop.kind == "single" else object_infos(s)
        infos = sample_objects(rng, pool, drop.kind, s.mixed_count)
        starts = sample_start_poses(rng, loc, len(infos))
        cams = [sample_camera(rng, loc, s.camera) for _ in range(drop.n_frames)]
        K = self.K if drop.intrinsics is None else drop.intrinsics  # the plan's camera of the drop's folder
        draft = None
        if s.randomized(drop.kind):  # each randomizer from its own stream: the drop's draws above are a mixed drop's
            draft = Draft(loc, infos, starts, cams, surface_count(loc), s.renderer_options.get("textures"))
            self.randomization.apply(drop.key, draft)
            cams = draft.cameras
        assets = [self.assets[o.name] for o in infos]
        extra = draft.distractors if draft is not None else []
        self.physics.reset(loc)
        self.physics.spawn(assets + [a for a, _ in extra], starts + [T for _, T in extra], s.size_scale or 1.0)
        single = drop.kind == "single"
        names = [(fatfmt.class_name(o, single), SINGLE_SEGMENTATION_ID if single else o.segmentation_id) for o in infos]
        start = self.physics.steps  # capture begins when the last object is released
        n = len(infos)
        for f, cam in enumerate(cams):
            target = start + int(round(f * s.capture_interval / TIME_STEP))
            self.physics.step(target - self.physics.steps)
            poses = self.physics.poses()
            # a target reaching behind an eye could be drawn but not annotated: such a camera is drawn again
            cam = clear_camera(s.seed, drop.key, f, cam, loc, s.camera, [(o.dimensions, T) for o, T in zip(infos, poses)],
                               K, s.baseline)
            objects = tuple(FrameObject(a, name, seg, o.dimensions, T)
                            for o, a, (name, seg), T in zip(infos, assets, names, poses))
            distractors = tuple(FrameObject(a, "", 0, a.info.dimensions, T) for (a, _), T in zip(extra, poses[n:]))
            rig = CameraRig(cam.pose, right_eye_pose(cam.pose, s.baseline), K)
            yield Frame(loc, objects, rig, drop.first_frame + f, distractors,
                        draft.frame_looks(f) if draft is not None else None)

    def run(self, drop: Drop, root: Path) -> tuple[int, dict[str, str]]:
        """Simulate, render, annotate and write one drop. Returns the number of frames and the sha256
        of every file written, by path relative to ``root``. Annotating, encoding and writing run on
        a second thread while the next frame is simulated and rendered."""
        folder = root / drop.folder
        hashes: dict[str, str] = {}
        pending = previous = None
        key = drop.key
        last = None  # the frame before, and its outputs: the flow between them
        try:
            for frame in self.scenes(drop):
                outs = self.renderer.render_eyes(frame)  # both eyes before any file
                effects = None
                if self.effects is not None:  # drawn here, in frame order; applied on the writer's thread
                    effects = self.effects.frame(key, frame.index, previous, frame.rig.left, frame.rig.intrinsics)
                    previous = frame.rig.left
                if pending is not None:
                    hashes.update(pending.result())
                end = frame.index == drop.first_frame + drop.n_frames - 1
                pending = self._writer.submit(self._write_frame, folder, frame, outs, root, key, effects, last, end)
                last = (frame, outs)
            if pending is not None:
                hashes.update(pending.result())
                pending = None
        finally:
            if pending is not None:
                pending.result()
        return drop.n_frames, hashes

    def _write_frame(self, folder: Path, frame: Frame, outs, root: Path, key=(), effects=None, before=None,
                     end: bool = False) -> dict[str, str]:
        """Annotate, encode and write one frame's files (both eyes), with the extras asked for; with
        flow, also the forward flow of the frame ``before`` it (frame, outputs), now that it can be
        made, and at the drop's ``end`` this frame's (valid nowhere)."""
        K, written = frame.rig.intrinsics, {}
        for (eye, T_cam), out in zip(frame.rig.eyes(), outs):
            if effects is not None:  # the RGB only: depth, instances and annotations see the rendering
                out = replace(out, rgb=self.effects.apply(out.rgb, effects, key, frame.index, eye))
            view, seg, inst = annotate_view(frame.objects, T_cam, K, out.instance)
            files = {}
            if self.s.extras:
                view, files = self._extras(frame, eye, out, view, before, end)
            for p, h in fatfmt.write_view(folder, frame.index, eye, view, out.rgb, out.depth, seg, inst,
                                          self.s.jpeg_quality, root=root).items():
                written[p.relative_to(root).as_posix()] = h
            for index, kinds in files.items():
                for p, h in extrafmt.write_extras(folder, index, eye, kinds, root).items():
                    written[p.relative_to(root).as_posix()] = h
        return written

    def _extras(self, frame: Frame, eye: str, out, view, before, end: bool):
        """The view with its amodal counts, and the extra files to write by frame index (kind -> bytes)."""
        want, K = self.s.extras, frame.rig.intrinsics
        shown = listed(frame.objects, invert_pose(frame.rig.pose(eye)), K)
        mine: dict[str, bytes] = {}
        files = {frame.index: mine}
        if "normals" in want:
            mine["normals"] = extrafmt.encode_normals(out.normals)
        if "coordinates" in want and out.coordinates is not None:  # drawn by the renderer
            mine["coordinates"] = extrafmt.encode_coordinates(extra.on_listed(out.coordinates, out.instance, shown))
        elif "coordinates" in want:
            mine["coordinates"] = extrafmt.encode_coordinates(*extra.coordinates(frame, eye, out.depth, out.instance, shown))
        if "amodal" in want:
            masks = extra.amodal_masks(out.amodal, shown)
            view = extra.with_amodal(view, masks, out.instance, shown)
            mine["amodal"] = extrafmt.encode_amodal(masks)
        if "flow" in want:
            here = _flow_view(frame, eye, out)
            if before is None:
                mine["flow_back"] = extrafmt.no_flow(out.depth.shape)
            else:
                f0, outs0 = before
                there = _flow_view(f0, eye, outs0[EYES.index(eye)])
                mine["flow_back"] = extrafmt.encode_flow(*extra.flow(K, here, there))
                files[f0.index] = {"flow": extrafmt.encode_flow(*extra.flow(K, there, here))}
            if end:
                mine["flow"] = extrafmt.no_flow(out.depth.shape)
        return view, files


def _flow_view(frame: Frame, eye: str, out) -> tuple:
    """What :func:`fat.annotate.extras.flow` takes of one view: camera pose, drawn things' poses, depth, instance ids."""
    return frame.rig.pose(eye), [o.pose for o in frame.drawn], out.depth, out.instance
