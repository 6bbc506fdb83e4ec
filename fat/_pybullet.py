"""Import pybullet without the "pybullet build time" banner its C module prints when loaded."""

from __future__ import annotations

import os
import sys


def _quiet_import():
    fds = []
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
            fds.append(stream.fileno())
        except (AttributeError, ValueError, OSError):  # no real file behind the stream
            pass
    saved = [os.dup(fd) for fd in fds]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in fds:
            os.dup2(null, fd)
        import pybullet
    finally:
        for fd, s in zip(fds, saved):
            os.dup2(s, fd)
            os.close(s)
        os.close(null)
    return pybullet


pb = _quiet_import()


#: Triangles of one PyBullet triangle-mesh shape at most (PyBullet refuses meshes of more than
#: 131,072 vertices; a larger mesh is made of several shapes).
MESH_TRIANGLES = 40_000


def mesh_shapes(vertices, faces) -> list[tuple[list, list]]:
    """The triangles ``faces`` of ``vertices`` cut into shapes of :data:`MESH_TRIANGLES` at most,
    each as the (vertices, indices) lists ``createCollisionShape`` takes."""
    import numpy as np

    out = []
    for k in range(0, len(faces), MESH_TRIANGLES):
        part = faces[k:k + MESH_TRIANGLES]
        used, local = np.unique(part.reshape(-1), return_inverse=True)
        out.append((vertices[used].tolist(), local.reshape(-1).tolist()))
    return out


def triangle_mesh_bodies(client: int, vertices=None, faces=None, shapes=None) -> list[int]:
    """Static bodies (mass 0) holding the triangles ``faces`` of ``vertices`` (world coordinates) as
    concave triangle meshes, :data:`MESH_TRIANGLES` at most each; or the ``shapes`` of
    :func:`mesh_shapes` made before."""
    bodies = []
    for v, i in mesh_shapes(vertices, faces) if shapes is None else shapes:
        shape = pb.createCollisionShape(pb.GEOM_MESH, vertices=v, indices=i, flags=pb.GEOM_FORCE_CONCAVE_TRIMESH,
                                        physicsClientId=client)
        bodies.append(pb.createMultiBody(0, shape, physicsClientId=client))
    return bodies
