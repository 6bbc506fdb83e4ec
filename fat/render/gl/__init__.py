"""The OpenGL renderer (``--renderer gl``): moderngl on EGL, one pass per eye drawing RGB, depth,
instance ids and the extras' targets. Its modules:

* ``renderer.py``: :class:`~fat.render.gl.renderer.GLRenderer`, its options and their checks; it
  ties the parts below together (render, render_region, render_eyes, close);
* ``context.py``: the EGL context, the device (``FAT_EGL_DEVICE``), what the implementation can do;
* ``surfaces.py``: what one draw needs, a mesh on the GPU and its textures and material;
* ``resources.py``: uploads and caches of meshes, textures, maps, environments and programs, and
  the bounded cache of what randomized frames bring;
* ``location.py``: the location's scenery on the GPU, its boxes and shadow casters;
* ``looks.py``: a frame's light, looks, background and draw order (plain functions where no GL is needed);
* ``passes.py``: the shadow map, surface, background and amodal passes and the targets' read-back;
* ``shaders.py``: the shaders;
* ``scene.py``: a glTF scene's materials and chunks.
"""
