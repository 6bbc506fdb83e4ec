"""Ground and props: each surface gets a random texture set, a flat colour or a two-colour pattern."""

from __future__ import annotations

from dataclasses import dataclass

from ..looks import LOOK_KINDS
from . import Draft, Options, RandomizeError, Randomizer, draw, param


@dataclass(frozen=True)
class SurfaceOptions(Options):
    kinds: dict = param({"texture": 1.0, "color": 1.0, "pattern": 1.0}, "weights",
                        "Weights of texture sets, flat colours and patterns.", names=LOOK_KINDS)
    textures: str | None = param(None, "path", "A folder of PBR texture sets (ambientCG layout). [--textures, "
                                 "else the shipped sets]")
    roughness: tuple = param((0.2, 1.0), "range", "Roughness of colours and patterns.", low=0.0, high=1.0)
    metallic: float = param(0.1, "probability", "Chance that a colour or pattern is a metal.")


def set_folders(folder: str | None, key: str, check: bool = False) -> list[str]:
    """The texture sets' folders of ``folder`` (None: the shipped sets); ``check``: every map checked
    (header, size, complete file) so that a bad one is refused before anything is written."""
    from ..errors import ConfigError
    from ..scene.texture_sets import check_texture_sets, shipped_folder, texture_sets

    try:
        sets = (check_texture_sets if check else texture_sets)(str(folder or shipped_folder()))
    except ConfigError as e:
        raise RandomizeError(key, str(e)) from None
    return [str(s.color.parent) for s in sets]


class Surfaces(Randomizer):
    """Per frame, with its probability: a new material for every ground and prop surface."""

    name = "surfaces"
    Options = SurfaceOptions

    @classmethod
    def check(cls, options) -> None:
        if options.textures is not None:
            set_folders(options.textures, f"randomize.{cls.name}.textures", check=True)

    def apply(self, rng, draft: Draft) -> None:
        o = self.options
        sets = set_folders(o.textures or draft.textures, "randomize.surfaces.textures")
        for looks in draft.looks:
            on = rng.uniform() < o.probability
            surfaces = tuple(draw.look(rng, o.kinds, sets, o.roughness, o.metallic) for _ in range(draft.n_surfaces))
            if on:
                looks["surfaces"] = surfaces
