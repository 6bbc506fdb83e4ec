"""The OpenGL renderer (``--renderer gl``): moderngl on EGL, one pass per eye drawing RGB, depth,
instance ids and the extras' targets (``renderer.py``), its shaders (``shaders.py``) and a glTF
scene's materials and chunks (``scene.py``)."""
