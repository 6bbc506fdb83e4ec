"""The targets' own materials (off by default): a flat colour, a pattern or a texture set instead of their texture."""

from __future__ import annotations

from dataclasses import dataclass

from . import Draft, draw
from .surfaces import SurfaceOptions, Surfaces, set_folders


@dataclass(frozen=True)
class TargetOptions(SurfaceOptions):
    pass


class Targets(Surfaces):
    """Per frame, each target with the probability: a random material (off unless enabled)."""

    name = "targets"
    Options = TargetOptions
    enabled_by_default = False

    def apply(self, rng, draft: Draft) -> None:
        o = self.options
        sets = set_folders(o.textures or draft.textures, "randomize.targets.textures")
        for looks in draft.looks:
            drawn = []
            for _ in draft.targets:
                on = rng.uniform() < o.probability
                look = draw.look(rng, o.kinds, sets, o.roughness, o.metallic)
                drawn.append(look if on else None)
            if any(x is not None for x in drawn):
                looks["targets"] = tuple(drawn)
