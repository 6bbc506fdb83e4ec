"""Backgrounds: a random environment map (which lights the scene too), an image from a folder, or a flat colour."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..looks import BACKGROUND_KINDS, Background
from . import Draft, Options, RandomizeError, Randomizer, draw, param

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class BackgroundOptions(Options):
    kinds: dict = param({"environment": 1.0, "image": 1.0, "color": 1.0}, "weights",
                        "Weights of environment maps, images (only with images) and flat colours.", names=BACKGROUND_KINDS)
    environments: str | None = param(None, "path", "A folder of environment maps (.hdr, .exr). [the shipped maps]")
    images: str | None = param(None, "path", "A folder of images (.jpg, .png), COCO's for example.")


def environment_maps(folder: str | None) -> list[str]:
    from ..render.lighting import environment_files, environment_path

    if folder is None:
        return [str(p) for p in environment_files(environment_path("sky").parent)]
    return [str(p) for p in environment_files(folder)]


def image_files(folder: str) -> list[str]:
    root = Path(folder)
    if not root.is_dir():
        raise RandomizeError("randomize.background.images", f"{folder}: not a folder")
    files = sorted(str(p) for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise RandomizeError("randomize.background.images", f"{folder}: no image ({', '.join(IMAGE_SUFFIXES)}) in the folder")
    return files


class Backgrounds(Randomizer):
    """Per frame, with its probability: the background (and, for a map, the image-based light)."""

    name = "background"
    Options = BackgroundOptions

    @classmethod
    def check(cls, options) -> None:
        from ..scene.environment import probe_environment
        from ..errors import ConfigError

        try:
            for path in environment_maps(options.environments):
                probe_environment(path)  # header, size and data: a bad map is refused before anything is written
        except ConfigError as e:
            raise RandomizeError("randomize.background.environments", str(e)) from None
        if options.images is not None:
            image_files(options.images)

    def __init__(self, options):
        super().__init__(options)
        self.maps = environment_maps(options.environments)
        self.images = image_files(options.images) if options.images else []

    def apply(self, rng, draft: Draft) -> None:
        kinds = {k: w for k, w in self.options.kinds.items() if k != "image" or self.images}
        for looks in draft.looks:
            on = rng.uniform() < self.options.probability
            kind = draw.choice(rng, kinds) if kinds else "color"
            env = self.maps[int(rng.integers(len(self.maps)))]
            image = self.images[int(rng.integers(len(self.images)))] if self.images else None
            colour = draw.color(rng)
            if on:
                looks["background"] = Background(kind, env if kind == "environment" else image if kind == "image" else None,
                                                 colour if kind == "color" else None)
