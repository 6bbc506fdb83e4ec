"""Lights: 1-4 distant lights of random direction, colour temperature and intensity, and a random
strength of the image-based light: very dim to very bright."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..looks import LightSource
from . import Draft, Options, Randomizer, draw, param


@dataclass(frozen=True)
class LightOptions(Options):
    count: tuple = param((1, 4), "count_range", "Number of lights (the first, the brightest, casts the shadows).",
                         low=1, high=4)
    temperature: tuple = param((2000.0, 10000.0), "range", "Colour temperature, kelvin.", low=1000.0, high=40000.0)
    intensity: tuple = param((0.05, 4.0), "range", "Each light's irradiance, times the location's sun (log-uniform).",
                             low=1e-4, high=100.0)
    elevation: tuple = param((10.0, 90.0), "range", "Elevation above the horizon, degrees.", low=0.0, high=90.0)
    ambient: tuple = param((0.1, 1.5), "range", "Image-based light, times the location's (log-uniform).",
                           low=0.0, high=100.0)


class Lights(Randomizer):
    """Per frame, with its probability: the lights replace the location's sun."""

    name = "lights"
    Options = LightOptions

    def apply(self, rng, draft: Draft) -> None:
        o = self.options
        for looks in draft.looks:
            on = rng.uniform() < o.probability
            n = int(rng.integers(o.count[0], o.count[1] + 1))
            lights = []
            for _ in range(4):  # always four draws: the stream does not depend on the count
                az = rng.uniform(0.0, 2 * math.pi)
                el = math.radians(rng.uniform(*o.elevation))
                d = (math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el))
                lights.append(LightSource(d, draw.temperature_rgb(rng.uniform(*o.temperature)),
                                          draw.log_uniform(rng, max(o.intensity[0], 1e-6), max(o.intensity[1], 1e-6))))
            ambient = draw.log_uniform(rng, max(o.ambient[0], 1e-4), max(o.ambient[1], 1e-4))
            if on:
                looks["lights"] = tuple(sorted(lights[:n], key=lambda s: -s.intensity))
                looks["ambient"] = ambient
