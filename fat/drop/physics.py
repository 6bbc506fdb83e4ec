"""PyBullet physics of one drop: ground and props as static bodies, objects falling under gravity.

The simulation knows nothing about cameras or files. Each drop starts from a reset world, so its
result depends only on its inputs.

Overlapping starts are staggered in time: objects are released one after another, each at its
sampled start pose as soon as nothing occupies it (the objects released before it fall out of the
way within a fraction of a second). A start that waiting cannot free (a prop or the ground is in
the way, or the pile of objects already at rest reaches into it) is lifted straight up in 1 cm
steps until clear. So no body ever starts inside
another, and the physics never has to push interpenetrating bodies apart.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from .._pybullet import mesh_shapes, pb, triangle_mesh_bodies

from ..assets.objects import ObjectAsset
from ..errors import FatError
from ..geometry import make_pose, matrix_to_quat, quat_to_matrix
from ..objectsets.build import too_large
from ..scene.props import PROP_SHAPES, Collision
from ..scene.scenes import Location

TIME_STEP = 1.0 / 240.0
LIFT_STEP = 0.01
MAX_LIFT = 2.0
WAIT_STEPS = 6  # 1/40 s between two checks of a waiting start
MAX_WAIT_STEPS = 480  # 2 s: after that, lift instead of waiting
SETTLED_SPEED = 0.05  # m/s: below this everything has come to rest
SETTLE_MIN_STEPS = 60  # 0.25 s: an object released more recently may still be about to fall


#: A glTF scene's pieces farther than this from the drop point (metres) are left out of the physics.
SCENE_REACH = 3.0
#: A scene piece of at most this many triangles that is convex collides as its convex hull.
SMALL_PIECE = 512


def _convex(vertices: np.ndarray, faces: np.ndarray, tol: float = 1e-3) -> bool:
    """Whether a closed mesh is convex: no vertex lies more than ``tol`` in front of a face's plane
    (an open mesh, or one whose faces point inwards, is not)."""
    if len(faces) < 4:
        return False
    _, weld = np.unique(np.round(vertices, 6), axis=0, return_inverse=True)  # split vertices (seams) made one
    faces = weld.reshape(-1)[faces]
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    if not (counts == 2).all():
        return False
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    n = np.cross(b - a, c - a)
    keep = np.linalg.norm(n, axis=1) > 1e-12
    n = n[keep] / np.linalg.norm(n[keep], axis=1, keepdims=True)
    ahead = np.einsum("fk,fvk->fv", n, vertices[None, :, :] - a[keep][:, None, :])
    return bool(ahead.max() <= tol)


def _near(lo: np.ndarray, hi: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Whether each box (rows of low and high corners) comes within :data:`SCENE_REACH` of ``point``."""
    return np.linalg.norm(np.maximum(np.maximum(lo - point, point - hi), 0), axis=-1) <= SCENE_REACH


@functools.lru_cache(maxsize=2)
def scene_collision(asset: str, fixation: tuple) -> tuple[list[list], list[tuple[list, list]]]:
    """The collision geometry of a glTF scene around a drop point, as the lists PyBullet takes: the
    vertices of each small convex piece (at most :data:`SMALL_PIECE` triangles, closed and convex:
    its convex hull collides), and the triangle-mesh shapes (:func:`fat._pybullet.mesh_shapes`) of
    every other triangle whose box comes within :data:`SCENE_REACH` of the drop point, welded:
    the vertices that flat normals or seams split are joined, so the shapes hold each corner once."""
    from ..scene.gltf_scene import load_gltf_scene

    point = np.asarray(fixation, dtype=float)
    hulls, tris = [], []
    for piece in load_gltf_scene(asset).pieces:
        if not _near(piece.vertices.min(0), piece.vertices.max(0), point):
            continue
        if len(piece.faces) <= SMALL_PIECE and _convex(piece.vertices, piece.faces):
            hulls.append(piece.vertices.tolist())
            continue
        t = piece.vertices[piece.faces]
        tris.append(t[_near(t.min(1), t.max(1), point)])
    if not tris or not sum(len(t) for t in tris):
        return hulls, []
    corners = np.concatenate(tris).reshape(-1, 3)
    vertices, faces = np.unique(np.round(corners, 6), axis=0, return_inverse=True)
    faces = faces.reshape(-1, 3)
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 2] != faces[:, 0])]
    return hulls, mesh_shapes(vertices, faces)


@dataclass
class DropObject:
    asset: ObjectAsset
    start: np.ndarray  # 4x4 world pose at release
    release_step: int  # simulation step at which it was released


class Physics:
    """One PyBullet DIRECT client, reused for every drop of a worker."""

    def __init__(self):
        self.client = pb.connect(pb.DIRECT)
        self.bodies: list[int] = []
        self.static: list[int] = []
        self.released: list[int] = []  # step at which each body was released
        self.steps = 0  # simulation steps since reset

    def close(self) -> None:
        if self.client is not None and pb.isConnected(self.client):
            pb.disconnect(self.client)
        self.client = None

    def _static_body(self, shape: int, pose: np.ndarray) -> int:
        return pb.createMultiBody(0, shape, -1, pose[:3, 3].tolist(), matrix_to_quat(pose[:3, :3]).tolist(),
                                  physicsClientId=self.client)

    def _collision_shape(self, col: Collision) -> int:
        c = self.client
        if col.kind == "box":
            return pb.createCollisionShape(pb.GEOM_BOX, halfExtents=list(col.half_extents), physicsClientId=c)
        if col.kind == "cylinder":
            return pb.createCollisionShape(pb.GEOM_CYLINDER, radius=col.radius, height=col.height, physicsClientId=c)
        return pb.createCollisionShape(pb.GEOM_MESH, vertices=col.vertices.tolist(), physicsClientId=c)

    def reset(self, loc: Location) -> None:
        c = self.client
        pb.resetSimulation(physicsClientId=c)
        pb.setGravity(0, 0, -9.81, physicsClientId=c)
        pb.setTimeStep(TIME_STEP, physicsClientId=c)
        pb.setPhysicsEngineParameter(deterministicOverlappingPairs=1, numSolverIterations=50, physicsClientId=c)
        plane = pb.createCollisionShape(pb.GEOM_PLANE, physicsClientId=c)
        self.static = [self._static_body(plane, make_pose(np.eye(3), [0, 0, loc.ground_z]))]
        for prop in loc.props:
            shape = self._collision_shape(PROP_SHAPES[prop.shape].collision(prop.size))
            self.static.append(self._static_body(shape, prop.pose))
        if loc.asset:
            self.static += self._scene_bodies(loc)
        for b in self.static:
            pb.changeDynamics(b, -1, lateralFriction=0.8, restitution=0.1, physicsClientId=c)
        self.bodies, self.released, self.steps = [], [], 0

    def _scene_bodies(self, loc: Location) -> list[int]:
        """A glTF scene's triangles within :data:`SCENE_REACH` of the drop point as static bodies (see
        :func:`scene_collision`); the shapes are made again at each drop, which starts from a reset
        world, from arrays prepared once per location."""
        c, out = self.client, []
        hulls, shapes = scene_collision(loc.asset, tuple(np.asarray(loc.fixation, dtype=float)))
        for v in hulls:
            shape = pb.createCollisionShape(pb.GEOM_MESH, vertices=v, physicsClientId=c)
            out.append(pb.createMultiBody(0, shape, physicsClientId=c))
        return out + triangle_mesh_bodies(c, shapes=shapes)

    def _at_rest(self) -> bool:
        """Every released object has fallen for a while and now barely moves: waiting frees nothing."""
        fell = all(self.steps - r >= SETTLE_MIN_STEPS for r in self.released)
        return fell and self.speeds().max() < SETTLED_SPEED

    def _blocked(self, shape: int, pos, q, others: list[int]) -> bool:
        """Whether the collision shape at (pos, q) would touch any of ``others``."""
        return any(pb.getClosestPoints(-1, o, 0.0, collisionShapeA=shape, collisionShapePositionA=list(pos),
                                       collisionShapeOrientationA=list(q), physicsClientId=self.client) for o in others)

    def spawn(self, assets: list[ObjectAsset], starts: list[np.ndarray], scale: float = 1.0) -> list[DropObject]:
        """Release the objects one after another (see the module text). Simulation time advances
        while a start waits; ``self.steps`` counts the steps taken. ``scale`` (the settings'
        ``size_scale``) grows the lift's steps and its limit with the objects."""
        c = self.client
        step, limit = LIFT_STEP * scale, MAX_LIFT * scale
        out = []
        for asset, T in zip(assets, starts):
            shape = pb.createCollisionShape(pb.GEOM_MESH, fileName=str(asset.collision), physicsClientId=c)
            pos, q = T[:3, 3].copy(), matrix_to_quat(T[:3, :3])
            waited = 0
            while self.bodies and waited < MAX_WAIT_STEPS and not self._at_rest() and self._blocked(shape, pos, q, self.bodies):
                self.step(WAIT_STEPS)
                waited += WAIT_STEPS
            lifted = 0.0
            while self._blocked(shape, pos, q, self.static + self.bodies):
                lifted += step
                if lifted > limit:
                    why = too_large(asset.info.name, asset.info.dimensions) or "a prop above the drop point?"
                    raise FatError(f"{asset.info.name}: no free start position within {limit:g} m above the drop "
                                   f"cylinder ({why})")
                pos[2] += step
            body = pb.createMultiBody(asset.info.mass, shape, -1, pos.tolist(), q.tolist(), physicsClientId=c)
            pb.changeDynamics(body, -1, lateralFriction=0.6, restitution=0.15, rollingFriction=0.0005,
                              spinningFriction=0.001, physicsClientId=c)
            self.bodies.append(body)
            self.released.append(self.steps)
            out.append(DropObject(asset, make_pose(T[:3, :3], pos), self.steps))
        return out

    def step(self, n: int) -> None:
        for _ in range(n):
            pb.stepSimulation(physicsClientId=self.client)
        self.steps += n

    def poses(self) -> list[np.ndarray]:
        """World poses (4x4) of the falling objects, in spawn order."""
        out = []
        for b in self.bodies:
            p, q = pb.getBasePositionAndOrientation(b, physicsClientId=self.client)
            out.append(make_pose(quat_to_matrix(q), p))
        return out

    def speeds(self) -> np.ndarray:
        return np.array([np.linalg.norm(pb.getBaseVelocity(b, physicsClientId=self.client)[0]) for b in self.bodies])
