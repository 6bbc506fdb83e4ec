"""The location's scenery on the GPU: each ground and prop surface (or each chunk of a glTF
scene's materials) uploaded once per location, with its box, and which of them may cast a shadow on
the shadow map's area."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from ...assets.cache import cache_dir
from ...assets.meshes import Mesh
from ...scene.scenes import Location
from ...scene.texture_sets import surface_set
from ...scene.textures import texture_file
from ..materials import Material, surface_material
from ..scenery import location_meshes
from .looks import reflective
from .passes import SHADOW_HALF_EXTENT
from .surfaces import Surface


class Scenery:
    """The renderer's part that sets up a location's scenery: ``_scenery`` (its surfaces),
    ``_slots`` (each one's surface of the location, what a randomized look is for), ``_boxes``,
    and ``_casters`` with ``_caster_boxes`` (what the shadow map draws). A mixin of
    :class:`~fat.render.gl.renderer.GLRenderer`."""

    def _set_location(self, loc: Location) -> None:
        if self._location is loc:
            return
        self._scenery, self._casters, self._boxes, self._caster_boxes = [], [], [], []
        self._slots = []  # each scenery item's surface (what a randomized look is drawn for)
        if loc.asset:
            self._set_gltf_location(loc)
            self._location = loc
            return
        for k, (mesh, surface) in enumerate(location_meshes(loc)):
            pbr = surface_set(loc.name, str(k), surface.texture, self.textures)
            geometry = self._upload(mesh)
            if pbr is None:  # the kind's procedural texture
                path = texture_file(str(cache_dir() / "textures"), surface.texture, surface.colors)
                tex = self._texture(str(path), cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
                item = Surface(geometry, tex, surface_material(surface.texture))
            else:
                item = replace(self._set_surface(str(pbr.color.parent), surface.texture, surface.colors), geometry=geometry)
            self._add_scenery(loc, item, mesh, k)
        self._location = loc

    def _add_scenery(self, loc: Location, item: "Surface", mesh: Mesh, slot: int) -> None:
        self._scenery.append(item)
        self._slots.append(slot)
        box = (mesh.vertices.min(0), mesh.vertices.max(0))
        self._boxes.append(box)
        gap = np.maximum(np.maximum(box[0][:2] - loc.fixation[:2], loc.fixation[:2] - box[1][:2]), 0)
        if np.linalg.norm(gap) < SHADOW_HALF_EXTENT * 1.5:  # only what can shade the shadow map's area
            self._casters.append(item)
            self._caster_boxes.append(box)

    def _set_gltf_location(self, loc: Location) -> None:
        """A glTF scene's materials (:mod:`fat.render.gl.scene`), each material's triangles in chunks."""
        from ...scene.gltf_materials import Images
        from ...scene.gltf_scene import load_gltf_scene
        from .scene import chunks, scene_material

        g = load_gltf_scene(loc.asset)
        images = Images(g.gltf)
        for slot, ((mesh, _), batch) in enumerate(zip(location_meshes(loc), g.batches)):
            key = f"gltf:{g.path}|{slot}"
            if key not in self._meshes:
                self._meshes[key] = self._gltf_surfaces(scene_material(g, batch, images), chunks(mesh))
            for item, part in self._meshes[key]:
                self._add_scenery(loc, item, part, slot)

    def _gltf_surfaces(self, m, parts: list) -> list:
        """One material's surfaces (one per chunk, sharing the textures), with their chunks."""
        if m is None:  # cut out whole by its alpha mask
            return []
        tex = self.white if m.base is None else self._make_texture(m.base)
        orm = None if m.orm is None else self._linear_texture(m.orm)
        surface = Surface(None, tex, Material(m.roughness, m.metallic), look=True, scale=m.factor,
                           reflective=reflective(Material(m.roughness, m.metallic)) or m.orm is not None,
                           pbr=orm, map_weight=(1.0, 1.0), mask=orm if m.masked else None,
                           emission=None if m.emission is None else self._make_texture(m.emission),
                           emission_scale=m.emission_scale,
                           normal=None if m.normal is None else self._linear_texture(m.normal),
                           normal_scale=m.normal_scale, occlusion=m.occlusion)
        return [(replace(surface, geometry=self._upload(p, m.double_sided)), p) for p in parts]
