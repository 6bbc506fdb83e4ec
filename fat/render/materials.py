"""Metallic-roughness materials (glTF 2.0's model) of the objects and of the scenery.

Objects are dielectric; what is shiny in life is smoother here: cans, the pitcher, the mug and the
bowl more than cardboard boxes, fruit and wood. An object-set file may give an object's
``roughness`` and ``metallic``. Scenery surfaces take their roughness from their texture kind.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Material:
    roughness: float = 0.6
    metallic: float = 0.0
    specular: float = 1.0  # 1: dielectric reflectance F0 = 0.04; 0: none (a Lambertian surface)


#: By a word of the class name (FAT's YCB classes): the first that matches.
OBJECT_MATERIALS = (
    ("can", Material(0.3)), ("pitcher", Material(0.25)), ("mug", Material(0.2)), ("bowl", Material(0.25)),
    ("bottle", Material(0.35)), ("bleach", Material(0.35)), ("drill", Material(0.4)), ("clamp", Material(0.4)),
    ("scissors", Material(0.35)), ("marker", Material(0.35)), ("box", Material(0.65)), ("brick", Material(0.9)),
    ("block", Material(0.6)), ("banana", Material(0.5)),
)
DEFAULT_OBJECT = Material(0.5)

#: By the scenery texture kind (fat.scene.textures); with a PBR texture set, the least roughness of its map.
SURFACE_MATERIALS = {
    "tiles": Material(0.3), "marble": Material(0.45), "stone": Material(0.6), "wood": Material(0.55),
    "plaster": Material(0.9), "plain": Material(0.5), "rock": Material(0.8), "bark": Material(0.9),
    "grass": Material(0.95), "gravel": Material(0.9), "leaves": Material(0.85), "sand": Material(0.95),
}


def object_material(info) -> Material:
    given = getattr(info, "material", None)
    if given is not None:
        return given
    name = info.class_name.lower()
    return next((m for word, m in OBJECT_MATERIALS if word in name), DEFAULT_OBJECT)


def surface_material(kind: str) -> Material:
    return SURFACE_MATERIALS.get(kind, Material(0.7))
