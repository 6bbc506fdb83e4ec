"""PyBullet's renderers: TinyRenderer (software, any CPU) and the EGL plugin (OpenGL, headless).

The renderer keeps a PyBullet client of its own holding only visual bodies: the location's ground
and props (textured), and one body per scene object (distractors included) whose pose is set before
each view. Of a domain-randomized frame's looks (:class:`fat.looks.Looks`) they draw the first light
(direction, colour, brightness) and the distractors' and targets' flat colours; backgrounds, textures
and patterns are the ``gl`` renderer's.
"""

from __future__ import annotations

import hashlib
import pkgutil
from pathlib import Path

import numpy as np
from .._pybullet import pb

from ..assets.cache import cache_dir
from ..fileio import writing
from ..errors import ConfigError
from ..geometry import Intrinsics, invert_pose, matrix_to_quat
from ..assets.meshes import Mesh, write_obj
from ..scene.scenes import Location, Surface
from ..scene.textures import texture_file
from ..frame import Frame
from . import CV_TO_GL, RenderOutput, opengl_projection, tonemap
from .base import Capabilities, Renderer
from .scenery import location_meshes

# Near plane. EGL's depth precision goes as 1/near (median 0.1 mm at 3 cm, 0.3 mm at 1 cm). A point
# the near plane clips lies within NEAR / cos(angle of the frustum corner) of the camera, under 4 cm
# for FAT's camera, and props keep at least fat.scene.scenes.CAMERA_MARGIN = 4 cm from every camera.
NEAR, FAR = 0.03, 50.0


def view_matrix(T_world_cam: np.ndarray) -> list[float]:
    """PyBullet (column-major OpenGL) view matrix of an OpenCV-axes camera pose."""
    return (CV_TO_GL @ invert_pose(T_world_cam)).T.reshape(-1).tolist()


#: Where each renderer samples pixel (col, row), relative to its centre (col + 0.5, row + 0.5) in
#: FAT's continuous image coordinates. Measured against analytic depth of planes seen at a roll
#: (tests/test_renderers.py): OpenGL samples pixel centres, TinyRenderer the corner (col, row + 1).
SAMPLE_OFFSET = {"egl": (0.0, 0.0), "tiny": (-0.5, 0.5)}


def projection_matrix(K: Intrinsics, near: float = NEAR, far: float = FAR, offset=(0.0, 0.0)) -> list[float]:
    """PyBullet (column-major) form of :func:`fat.render.opengl_projection`."""
    return opengl_projection(K, near, far, offset).T.reshape(-1).tolist()


def mesh_file(mesh: Mesh) -> Path:
    """An OBJ of ``mesh`` in the cache, named by its content (written once)."""
    h = hashlib.sha256()
    for a in (mesh.vertices, mesh.faces, mesh.uvs, mesh.normals):
        h.update(np.ascontiguousarray(a).tobytes())
    path = cache_dir() / "meshes" / f"{h.hexdigest()[:20]}.obj"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        with writing(path) as tmp:
            write_obj(tmp, [mesh])
    return path


def _flat_color(look) -> list[float]:
    """One colour (sRGB, as PyBullet multiplies the texture) standing for a look: its colour, a
    pattern's mean colour, white for a texture set."""
    if look.kind == "texture" or not look.colors:
        return [1.0, 1.0, 1.0]
    return [float(x) for x in tonemap.srgb_encode(np.mean(np.asarray(look.colors, dtype=float), axis=0))]


class PyBulletRenderer(Renderer):
    """PyBullet's ``getCameraImage``: ``kind`` "tiny" (TinyRenderer) or "egl" (the EGL plugin)."""

    capabilities = Capabilities(instance_ids=True, shadows=True, randomization=True)

    def __init__(self, kind: str = "tiny"):
        self.name = kind
        self.near, self.far = NEAR, FAR
        self.client = pb.connect(pb.DIRECT)
        self._plugin = None
        if kind == "egl":
            egl = pkgutil.get_loader("eglRenderer")
            plugin = -1
            if egl is not None:
                plugin = pb.loadPlugin(egl.get_filename(), "_eglRendererPlugin", physicsClientId=self.client)
            if plugin < 0:
                self.close()
                raise ConfigError("--renderer egl: PyBullet's EGL plugin could not start "
                                  "(needs libEGL and a Mesa or NVIDIA EGL driver: on Debian, libegl1 libegl-mesa0 libgl1-mesa-dri libgl1)")
            self._plugin = plugin
        self._location: Location | None = None
        self._shapes: dict[str, int] = {}
        self._bodies: list[int] = []
        self._body_assets: list[str] = []
        self._colors: list = []
        self._light = None

    def close(self) -> None:
        if self.client is not None and pb.isConnected(self.client):
            if self._plugin is not None:
                pb.unloadPlugin(self._plugin, physicsClientId=self.client)
            pb.disconnect(self.client)
        self.client = None

    # --------------------------------------------------------------------- scene building
    def _textured_body(self, mesh: Mesh, surface: Surface) -> int:
        c = self.client
        # from a file: PyBullet's EGL plugin cannot take a mesh given as arrays
        vs = pb.createVisualShape(pb.GEOM_MESH, fileName=str(mesh_file(mesh)), physicsClientId=c)
        body = pb.createMultiBody(0, -1, vs, physicsClientId=c)
        tex = texture_file(str(cache_dir() / "textures"), surface.texture, surface.colors)
        tid = pb.loadTexture(str(tex), physicsClientId=c)
        pb.changeVisualShape(body, -1, textureUniqueId=tid, rgbaColor=[1, 1, 1, 1], physicsClientId=c)
        return body

    def _set_location(self, loc: Location) -> None:
        if self._location is loc:
            return
        pb.resetSimulation(physicsClientId=self.client)
        self._shapes, self._bodies, self._body_assets = {}, [], []
        for mesh, surface in location_meshes(loc):
            self._textured_body(mesh, surface)
        self._location = loc
        self._light = loc.light

    def _set_objects(self, frame: Frame) -> None:
        names = [o.asset.folder.as_posix() for o in frame.drawn]
        if names != self._body_assets:
            c = self.client
            for b in self._bodies:
                pb.removeBody(b, physicsClientId=c)
            self._bodies = []
            for o in frame.drawn:
                key = o.asset.folder.as_posix()
                if key not in self._shapes:
                    self._shapes[key] = pb.createVisualShape(pb.GEOM_MESH, fileName=str(o.asset.visual), physicsClientId=c)
                self._bodies.append(pb.createMultiBody(0, -1, self._shapes[key], physicsClientId=c))
            self._body_assets = names
            self._colors = [None] * len(self._bodies)
        looks = frame.looks
        own = (looks.targets if looks else None) or (None,) * len(frame.objects)
        extra = (looks.distractors if looks else None) or (None,) * len(frame.distractors)
        for k, look in enumerate((*own, *extra)):
            rgba = [1.0, 1.0, 1.0, 1.0] if look is None else [*_flat_color(look), 1.0]
            if rgba != self._colors[k]:  # the texture times this colour
                pb.changeVisualShape(self._bodies[k], -1, rgbaColor=rgba, physicsClientId=self.client)
                self._colors[k] = rgba

    # --------------------------------------------------------------------- rendering
    def render(self, frame: Frame, eye: str = "left") -> RenderOutput:
        c = self.client
        T_world_cam, K = frame.rig.pose(eye), frame.rig.intrinsics
        self._set_location(frame.location)
        self._set_objects(frame)
        for b, o in zip(self._bodies, frame.drawn):
            T = o.pose
            pb.resetBasePositionAndOrientation(b, T[:3, 3].tolist(), matrix_to_quat(T[:3, :3]).tolist(), physicsClientId=c)
        light = self._light
        direction, color = light.direction, list(light.color)
        if frame.looks is not None and frame.looks.lights:
            first = frame.looks.lights[0]
            direction = np.asarray(first.direction, dtype=float)
            color = [float(min(x * first.intensity, 1.0)) for x in first.color]
        _, _, rgba, zbuf, seg = pb.getCameraImage(
            K.width, K.height, view_matrix(T_world_cam), projection_matrix(K, self.near, self.far, SAMPLE_OFFSET[self.name]),
            lightDirection=(direction * 10.0).tolist(), lightColor=color, lightDistance=10.0,
            shadow=int(light.shadows), lightAmbientCoeff=light.ambient, lightDiffuseCoeff=light.diffuse,
            lightSpecularCoeff=light.specular,
            renderer=pb.ER_TINY_RENDERER if self.name == "tiny" else pb.ER_BULLET_HARDWARE_OPENGL,
            physicsClientId=c,
        )
        rgb = np.asarray(rgba, dtype=np.uint8).reshape(K.height, K.width, 4)[:, :, :3].copy()
        seg = np.asarray(seg, dtype=np.int64).reshape(K.height, K.width)
        zbuf = np.asarray(zbuf, dtype=np.float64).reshape(K.height, K.width)
        n, f = self.near, self.far
        depth = (f * n / (f - (f - n) * zbuf)).astype(np.float32)
        depth[(seg < 0) | (zbuf >= 1.0)] = 0.0
        lookup = np.zeros(max(self._bodies + [0]) + 2, dtype=np.int32)
        for k, b in enumerate(self._bodies):
            lookup[b] = k + 1
        body = np.where(seg >= 0, seg & ((1 << 24) - 1), len(lookup) - 1)
        instance = lookup[np.clip(body, 0, len(lookup) - 1)]
        return RenderOutput(rgb, depth, instance)


class TinyRenderer(PyBulletRenderer):
    """PyBullet TinyRenderer (software, any CPU)."""

    name = "tiny"

    def __init__(self):
        super().__init__("tiny")


class EGLRenderer(PyBulletRenderer):
    """PyBullet's EGL plugin (OpenGL, headless)."""

    name = "egl"

    def __init__(self):
        super().__init__("egl")
