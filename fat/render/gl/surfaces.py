"""What one draw needs: a mesh on the GPU (:class:`Geometry`: its buffers and vertex arrays) and a
:class:`Surface` (the geometry with its textures, its material and how its colour is made)."""

from __future__ import annotations

from dataclasses import dataclass

from ..materials import Material

#: Texture repeats per metre of a randomized look on an object (a pattern's period about 12 cm).
BOX_UV_SCALE = 8.0


class Geometry:
    """A mesh on the GPU: its buffers, the shadow pass's vertex array and one per surface program."""

    def __init__(self, ctx, vbo, ibo, shadow, n_culled: int, n_two_sided: int):
        self.ctx, self.vbo, self.ibo, self.shadow = ctx, vbo, ibo, shadow
        self.n_culled, self.n_two_sided = n_culled, n_two_sided
        self._vaos: dict[int, object] = {}

    def release(self) -> None:
        for obj in (*self._vaos.values(), self.shadow, self.vbo, self.ibo):
            obj.release()
        self._vaos = {}

    def masked_shadow(self, prog):
        """The shadow pass's vertex array for a surface with an alpha mask (positions and texture coordinates)."""
        key = ("shadow", id(prog))
        if key not in self._vaos:
            self._vaos[key] = self.ctx.vertex_array(prog, [(self.vbo, "3f 12x 2f", "in_pos", "in_uv")], self.ibo)
        return self._vaos[key]

    def vao(self, prog):
        key = id(prog)
        if key not in self._vaos:
            # the attributes the program reads (a box-mapped look reads no texture coordinates)
            fmt, names = zip(*[("3f", "in_pos"), ("3f", "in_normal"), ("2f", "in_uv")])
            used = [prog.get(n, None) is not None for n in names]
            layout = " ".join(f if u else f"{f[0]}x4" for f, u in zip(fmt, used))
            self._vaos[key] = self.ctx.vertex_array(prog, [(self.vbo, layout, *[n for n, u in zip(names, used) if u])], self.ibo)
        return self._vaos[key]


@dataclass(frozen=True)
class Surface:
    """What one draw needs: geometry (None: a texture set's maps waiting for one), the colour
    texture, the material, the texture set's maps ((normal + roughness, metalness, (palette, set
    mean)), None for a plain texture), and how the colour is made (texture x scale + offset)."""

    geometry: Geometry | None
    tex: object
    material: Material
    maps: tuple | None = None
    metal: bool = False  # the maps hold a metalness map
    scale: tuple = (1.0, 1.0, 1.0)
    offset: tuple = (0.0, 0.0, 0.0)
    is_object: bool = False  # an object (a randomized look's texture coordinates come from its shape)
    box: bool = False  # texture coordinates from the model-space position (BOX_UV_SCALE repeats a metre)
    look: bool = False  # a randomized look: the colour is texture x scale + offset
    reflective: bool = False  # reflections from the prefiltered map (else irradiance / pi)
    # an object's own maps (a glTF file's): roughness (g) and metalness (b), their share against the
    # material's values (map_weight), the alpha mask (a), the emission and its scale
    pbr: object = None
    map_weight: tuple = (0.0, 0.0)
    mask: object = None
    emission: object = None
    emission_scale: float = 0.0
    # a glTF scene material's normal map and its scale, its occlusion strength (the map: pbr's r)
    normal: object = None
    normal_scale: float = 1.0
    occlusion: float = 0.0
