"""Object assets: meshes (procedural stand-ins, YCB scans, the user's files), mesh reading, texture atlases, the cache folder."""
