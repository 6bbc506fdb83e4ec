"""The renderer's drawing: the sun's shadow map, the surface pass (colour, z-depth, instance ids
and the extras' targets at once), the background, the amodal masks' pass, and reading the targets
back into a :class:`~fat.render.RenderOutput`."""

from __future__ import annotations

import numpy as np

from ...errors import ConfigError
from ...frame import Frame
from ...geometry import Intrinsics, invert_pose, look_at, transform_points
from .. import CV_TO_GL, RenderOutput, opengl_projection
from ..lighting import WHITE_TARGET, Lighting
from .looks import nearest_draws, visible
from .surfaces import BOX_UV_SCALE

NEAR, FAR = 0.01, 50.0
SHADOW_SIZE = 1024
SHADOW_HALF_EXTENT = 2.5  # metres around the fixation point covered by the shadow map
#: Light-space penumbra growth per unit of occluder distance (the sun's apparent size, softened).
SHADOW_SOFTNESS = 0.02


def projection(K: Intrinsics, near: float = NEAR, far: float = FAR) -> np.ndarray:
    """OpenCV camera -> clip space; pixel (col, row) samples the point (col + 0.5, row + 0.5)."""
    return opengl_projection(K, near, far) @ CV_TO_GL


def _ortho(half: float, near: float, far: float) -> np.ndarray:
    return np.array([[1 / half, 0, 0, 0], [0, 1 / half, 0, 0],
                     [0, 0, -2 / (far - near), -(far + near) / (far - near)], [0, 0, 0, 1]])


def sun_view(fixation: np.ndarray, sun_dir: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the shadow map sees from (10 m from the fixation point towards the sun) and its view
    and projection (an orthographic one, :data:`SHADOW_HALF_EXTENT` metres around the fixation point)."""
    eye = fixation + sun_dir * 10.0
    up = (0.0, 1.0, 0.0) if abs(sun_dir[2]) > 0.99 else (0.0, 0.0, 1.0)
    return eye, _ortho(SHADOW_HALF_EXTENT, 0.1, 30.0) @ CV_TO_GL @ invert_pose(look_at(eye, fixation, up))


def _set(prog, name: str, value) -> None:
    """Set a uniform the program has (the compiler drops those a shader does not use)."""
    member = prog.get(name, None)
    if member is not None:
        member.value = value


def _write(prog, name: str, data: bytes) -> None:
    member = prog.get(name, None)
    if member is not None:
        member.write(data)


def _mat(m: np.ndarray) -> bytes:
    return np.asarray(m, dtype="f4").T.tobytes()  # column-major for GLSL


def _objects_box(frame: Frame, eye: str) -> tuple[int, int, int, int] | None:
    """(x, y from the top, width, height) of the image's pixels the objects can cover (their convex
    hulls' box), or None when they cover none; the whole image when one reaches behind the camera."""
    K = frame.rig.intrinsics
    cam = invert_pose(frame.rig.pose(eye))
    pts = np.concatenate([transform_points(cam @ o.pose, o.hull) for o in frame.objects])
    if (pts[:, 2] <= 1e-3).any():
        return 0, 0, K.width, K.height
    uv = K.project(pts)
    x0, y0 = np.floor(uv.min(0)).astype(int) - 1
    x1, y1 = np.ceil(uv.max(0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, K.width), min(y1, K.height)
    if x1 <= x0 or y1 <= y0:
        return None
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


class Passes:
    """The renderer's part that draws: one eye's passes into the render targets (:meth:`_draw_eye`),
    their read-back, the amodal masks. A mixin of :class:`~fat.render.gl.renderer.GLRenderer`."""

    def _targets(self, K: Intrinsics):
        size = (K.width, K.height)
        key = size, self._target_extras
        if self._size != key:
            self.check_size(*size)
            if self._fbo is not None:
                for a in self._attachments:
                    a.release()
                self._fbo.release()
            colors = [self.ctx.texture(size, 4), self.ctx.texture(size, 1, dtype="f4"), self.ctx.texture(size, 1, dtype="i4")]
            # the camera-frame normals and object coordinates asked for, encoded as their files store them
            colors += [self.ctx.texture(size, 4, dtype="nu2") for _ in self._target_extras]
            self._attachments = colors + [self.ctx.depth_renderbuffer(size)]
            self._fbo = self.ctx.framebuffer(color_attachments=colors, depth_attachment=self._attachments[-1])
            self._size = key
        return self._fbo

    def _draw(self, vao, n_culled: int, n_two_sided: int) -> None:
        if n_culled:
            self.ctx.enable(self.ctx.CULL_FACE)
            vao.render(vertices=n_culled)
        if n_two_sided:
            self.ctx.disable(self.ctx.CULL_FACE)
            vao.render(vertices=n_two_sided, first=n_culled)

    def _shadow_map(self, static_key: tuple, light_vp: np.ndarray, casters: list, objects: list) -> None:
        """Draw the sun's shadow map: the scenery's depths, drawn once per location and sun and then
        copied back from a buffer (the depth texture's 24-bit values come back unchanged), and the
        objects over them. The depth test keeps the nearest depth whatever the order, so the map is
        the one drawing everything at once gives."""
        self.shadow_fbo.use()
        self.shadow_prog["light_vp"].write(_mat(light_vp))
        _write(self.shadow_mask_prog, "light_vp", _mat(light_vp))
        _set(self.shadow_mask_prog, "mask_map", 0)
        if static_key == self._static_key:
            self.shadow_tex.write(self._static_shadow)
        else:
            self.shadow_fbo.clear(depth=1.0)
            self._shadow_draws(casters)
            self.shadow_tex.read_into(self._static_shadow)
            self._static_key = static_key
        self._shadow_draws(objects)

    def _shadow_draws(self, items: list) -> None:
        for surface, T, _ in items:
            g = surface.geometry
            if surface.mask is not None:  # what the alpha mask cuts out casts no shadow
                surface.mask.use(0)
                _write(self.shadow_mask_prog, "model", _mat(T))
                self._draw(g.masked_shadow(self.shadow_mask_prog), g.n_culled, g.n_two_sided)
            else:
                self.shadow_prog["model"].write(_mat(T))
                self._draw(g.shadow, g.n_culled, g.n_two_sided)

    def _draw_eye(self, frame: Frame, eye: str, scissor: tuple[int, int, int, int] | None = None) -> None:
        """Draw ``eye``'s view into the targets; ``scissor`` (x, y from the bottom, width, height):
        only those pixels are cleared and drawn."""
        self._random.trim()  # before this frame's looks are resolved: nothing it draws is released
        T_world_cam, K = frame.rig.pose(eye), frame.rig.intrinsics
        loc = frame.location
        self._set_location(loc)
        lighting, (env_tex, env_levels), extra, ambient = self.frame_lighting(frame)
        surfaces, scenery_surfaces = self._looks_of(frame)
        objects = [(surface, o.pose, k + 1) for k, (surface, o) in enumerate(zip(surfaces, frame.drawn))]
        sun_dir = lighting.sun_direction
        sun_eye, light_vp = sun_view(loc.fixation, sun_dir)
        # nearest first, by the nearest point of each box: a fragment behind one already drawn fails the
        # depth test before it is shaded (a counter drawn before the floor it hides spares the floor's shading)
        casters = nearest_draws(self._casters, self._caster_boxes, sun_eye, sun_dir)
        view, proj = invert_pose(T_world_cam), projection(K)
        seen = scenery_surfaces, self._boxes
        if loc.asset:  # a glTF scene's chunks outside the view are not drawn
            seen = visible(*seen, proj @ view)
        scenery = nearest_draws(*seen, T_world_cam[:3, 3])
        self.ctx.enable(self.ctx.DEPTH_TEST)
        self._shadow_pass(frame, lighting, light_vp, casters, objects)
        self._clear_targets(K, scissor)
        env_rot = tuple(float(x) for x in np.asarray(lighting.env_rot, dtype=np.float64).T.reshape(-1))  # column-major
        draws = self._surface_programs(objects + scenery, len(extra))  # every program made before the uniforms are set
        self._frame_uniforms(view, proj, light_vp, T_world_cam, lighting, extra, ambient, env_rot, env_levels)
        self._surface_pass(frame, draws, env_tex, lighting)
        self.ctx.disable(self.ctx.CULL_FACE)
        self._background_pass(frame, view, proj, T_world_cam, env_rot, lighting)

    def _shadow_pass(self, frame: Frame, lighting: Lighting, light_vp: np.ndarray, casters: list, objects: list) -> None:
        """The sun's shadow map, drawn again only when the scene state changes (the second eye of a
        stereo pair reuses the first eye's)."""
        loc, sun_dir = frame.location, lighting.sun_direction
        shadow_key = (loc.name, sun_dir.tobytes(), tuple((o.asset.folder.as_posix(), o.pose.tobytes()) for o in frame.drawn))
        if lighting.shadows and shadow_key != self._shadow_key:  # shadow map from the sun
            self._shadow_map((loc.name, loc.fixation.tobytes(), sun_dir.tobytes()), light_vp, casters, objects)
            self._shadow_key = shadow_key

    def _clear_targets(self, K: Intrinsics, scissor: tuple[int, int, int, int] | None) -> None:
        """Make the render targets (of ``K``'s size) current and clear them, within ``scissor``."""
        fbo = self._targets(K)
        fbo.scissor = scissor  # applied by use(): the clear and every draw below
        fbo.use()
        fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0, viewport=scissor)

    def _surface_programs(self, items: list, lights: int) -> list:
        """Each draw (surface, model matrix, instance) with its surface program, compiled as needed."""
        return [(surface, T, inst, self._program(surface.maps is not None, surface.reflective, surface.metal, lights,
                                                 surface.look, surface.box, surface.pbr is not None,
                                                 surface.mask is not None, surface.emission is not None,
                                                 surface.normal is not None, surface.occlusion > 0))
                for surface, T, inst in items]

    def _frame_uniforms(self, view: np.ndarray, proj: np.ndarray, light_vp: np.ndarray, T_world_cam: np.ndarray,
                        lighting: Lighting, extra: list, ambient: float, env_rot: tuple, env_levels: int) -> None:
        """Set what every surface program reads alike for the whole eye: the camera, the sun and its
        shadow map, the image-based light, the other lights, the exposure, the texture units."""
        sun_dir = lighting.sun_direction
        dirs = np.zeros((3, 3), "f4")
        colours = np.zeros((3, 3), "f4")
        for i, (d, c) in enumerate(extra):
            dirs[i], colours[i] = d, c
        for p in self.programs.values():
            _write(p, "view", _mat(view))
            _write(p, "proj", _mat(proj))
            _write(p, "light_vp", _mat(light_vp))
            _set(p, "light_dir", tuple(float(x) for x in sun_dir))
            _set(p, "sun", tuple(float(x) for x in lighting.sun))
            _set(p, "cam_pos", tuple(float(x) for x in T_world_cam[:3, 3]))
            _write(p, "cam_rot", _mat(view[:3, :3]))
            _write(p, "sh", np.ascontiguousarray(lighting.environment.sh * ambient, dtype="f4").tobytes())
            _set(p, "env_scale", ambient)
            for name, values in (("light_dirs", dirs), ("light_colors", colours)):
                member = p.get(name, None)
                if member is not None:  # the compiler keeps the lights the program draws
                    member.write(values[:member.array_length].tobytes())
            _set(p, "env_rot", env_rot)
            _set(p, "env_levels", float(env_levels))
            _set(p, "exposure", lighting.exposure)
            _set(p, "shadows", int(lighting.shadows))
            _set(p, "shadow_softness", SHADOW_SOFTNESS)
            for unit, name in enumerate(("tex", "shadow_map", "shadow_depth", "env", "brdf_lut", "normal_map",
                                         "metalness_map", "material_map", "mask_map", "emission_map")):
                _set(p, name, unit)

    def _surface_pass(self, frame: Frame, draws: list, env_tex, lighting: Lighting) -> None:
        """Draw each surface with its own uniforms and textures, in the order of ``draws``."""
        self.shadow_compare.use(1)
        self.shadow_depths.use(2)
        env_tex.use(3)
        self.lut.use(4)
        nocs = {k + 1: tuple(1.0 / float(x) for x in o.dimensions) for k, o in enumerate(frame.objects)}
        for surface, T, inst, p in draws:  # near things first: hidden fragments skip shading
            surface.tex.use(0)
            if surface.maps is not None:
                for unit, t in enumerate(surface.maps[:2], start=5):
                    t.use(unit)
                _set(p, "palette", surface.maps[2][0])
                _set(p, "set_mean", surface.maps[2][1])
            for unit, t in ((7, surface.pbr), (8, surface.mask), (9, surface.emission), (5, surface.normal)):  # own maps
                if t is not None:
                    t.use(unit)
            _set(p, "normal_scale", surface.normal_scale)
            _set(p, "occlusion_strength", surface.occlusion)
            _set(p, "map_weight", surface.map_weight)
            _set(p, "emission", surface.emission_scale * WHITE_TARGET / lighting.exposure)
            _write(p, "model", _mat(T))
            _set(p, "instance", inst)
            _set(p, "nocs_scale", nocs.get(inst, (0.0, 0.0, 0.0)))
            _set(p, "roughness", surface.material.roughness)
            _set(p, "metallic", surface.material.metallic)
            _set(p, "specular", surface.material.specular)
            _set(p, "albedo_scale", surface.scale)
            _set(p, "albedo_offset", surface.offset)
            _set(p, "uv_scale", BOX_UV_SCALE)
            g = surface.geometry
            self._draw(g.vao(p), g.n_culled, g.n_two_sided)

    def _background_pass(self, frame: Frame, view: np.ndarray, proj: np.ndarray, T_world_cam: np.ndarray,
                         env_rot: tuple, lighting: Lighting) -> None:
        """The background where no surface is: drawn last, at the far plane, only on untouched pixels."""
        ctx = self.ctx
        b = self.background_prog
        mode, image, colour = self._background(frame)
        _write(b, "inv_view_proj", _mat(np.linalg.inv(proj @ view)))
        _set(b, "cam_pos", tuple(float(x) for x in T_world_cam[:3, 3]))
        _set(b, "env_rot", env_rot)
        _set(b, "exposure", lighting.exposure)
        _set(b, "env", 3)
        _set(b, "mode", mode)
        _set(b, "image", 0)
        _set(b, "color", colour)
        image.use(0)
        ctx.depth_func = "<="
        self.background_vao.render(vertices=3)
        ctx.depth_func = "<"

    def _read_back(self, K: Intrinsics, slot: int) -> tuple:
        """Start copying the render targets into pixel buffer objects of ``slot`` (no wait)."""
        size = (K.width, K.height)
        wanted = self._target_extras
        per = 3 + len(wanted)  # rgba, depth, instance (and each extra: 4 16-bit values a pixel) per eye
        if self._pbo_size != (size, wanted):
            for b in self._pbos:
                b.release()
            n = size[0] * size[1] * 4
            self._pbos = [self.ctx.buffer(reserve=2 * n if k % per >= 3 else n) for k in range(2 * per)]
            self._pbo_size = size, wanted
        rgba, depth, inst, *extras = self._pbos[per * slot: per * slot + per]
        fbo = self._fbo
        fbo.read_into(rgba, attachment=0, components=4)
        fbo.read_into(depth, attachment=1, components=1, dtype="f4")
        fbo.read_into(inst, attachment=2, components=1, dtype="i4")
        for k, b in enumerate(extras, start=3):
            fbo.read_into(b, attachment=k, components=4, dtype="nu2")
        return size, rgba, depth, inst, dict(zip(wanted, extras))

    @staticmethod
    def _finish(pending: tuple) -> RenderOutput:
        """Wait for one eye's pixel buffers and make its output."""
        size, rgba_b, depth_b, inst_b, extras = pending
        out = Passes._output(size, rgba_b.read(), depth_b.read(), inst_b.read())
        W, H = size
        for e, b in extras.items():
            setattr(out, e, np.frombuffer(b.read(), np.uint16).reshape(H, W, 4)[::-1, :, :3])
        return out

    @staticmethod
    def _output(size: tuple[int, int], rgba_b: bytes, depth_b: bytes, inst_b: bytes) -> RenderOutput:
        """The output of the targets' bytes (rows from the bottom, as OpenGL reads them)."""
        W, H = size
        rgba = np.frombuffer(rgba_b, np.uint8).reshape(H, W, 4)[::-1]
        depth = np.frombuffer(depth_b, np.float32).reshape(H, W)[::-1].copy()
        inst = np.frombuffer(inst_b, np.int32).reshape(H, W)[::-1].copy()
        rgb = rgba[:, :, :3].copy()
        empty = rgba[:, :, 3] == 0  # nothing drawn: the background
        depth[empty | (depth <= 0)] = 0.0
        return RenderOutput(rgb, depth, inst)

    def _amodal(self, frame: Frame, eye: str) -> np.ndarray:
        """(H, W) uint32: bit k where ``frame.objects[k]`` covers the pixel, occluders ignored (see
        :data:`fat.render.gl.shaders.AMODAL_FRAGMENT`); the same vertex positions and pixel centres
        as the image, so an object's visible pixels lie in its silhouette."""
        import moderngl

        K, ctx = frame.rig.intrinsics, self.ctx
        n = len(frame.objects)
        if n > 32:
            raise ConfigError(f"--extras amodal: {n} objects in one frame, 32 at most")
        size, targets = (K.width, K.height), max(1, -(-n // 4))
        if self._amodal_key != (size, targets):
            if self._amodal_fbo is not None:
                for t in self._amodal_fbo.color_attachments:
                    t.release()
                self._amodal_fbo.release()
            self._amodal_fbo = ctx.framebuffer(color_attachments=[ctx.texture(size, 4) for _ in range(targets)])
            self._amodal_key = size, targets
        fbo, prog = self._amodal_fbo, self.amodal_prog
        bits = np.zeros((K.height, K.width), np.uint32)
        box = _objects_box(frame, eye)
        if box is None:
            return bits
        x, y, w, h = box
        rect = (x, K.height - y - h, w, h)  # OpenGL's rows count from the bottom
        fbo.scissor = rect
        fbo.use()
        fbo.clear(0.0, 0.0, 0.0, 0.0, viewport=rect)
        ctx.disable(ctx.DEPTH_TEST)
        ctx.enable(ctx.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE
        ctx.blend_equation = moderngl.MAX
        _write(prog, "view", _mat(invert_pose(frame.rig.pose(eye))))  # as _draw_eye writes them
        _write(prog, "proj", _mat(projection(K)))
        _set(prog, "mask_map", 0)
        try:
            for k, o in enumerate(frame.objects):
                surface = self._asset(o.asset)
                _write(prog, "model", _mat(o.pose))
                _set(prog, "slot", k)
                _set(prog, "masked", int(surface.mask is not None))
                if surface.mask is not None:
                    surface.mask.use(0)
                g = surface.geometry
                self._draw(g.masked_shadow(prog), g.n_culled, g.n_two_sided)  # culled as in the picture
        finally:
            ctx.blend_equation = moderngl.FUNC_ADD
            ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
            ctx.disable(ctx.BLEND | ctx.CULL_FACE)
            ctx.enable(ctx.DEPTH_TEST)
        part = bits[y:y + h, x:x + w]
        for t in range(targets):
            rgba = np.frombuffer(fbo.read(viewport=rect, attachment=t, components=4, alignment=1), np.uint8)
            rgba = rgba.reshape(h, w, 4)[::-1]
            for c in range(4):
                if 4 * t + c < n:
                    part |= (rgba[:, :, c] > 127).astype(np.uint32) << np.uint32(4 * t + c)
        return bits
