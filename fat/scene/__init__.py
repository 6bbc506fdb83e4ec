"""Scenes and the places in them: scene files and their locations, props, procedural and PBR textures, patterns, HDR environments, glTF scenes."""
