"""Rendering in an Unreal Engine 4 game through UnrealCV (``pip install unrealcv``).

Physics stays in PyBullet. For every view the driver moves the game's object actors and camera to
the scene state and captures lit RGB, depth and the object mask, over one connection kept for the
whole run. Each object gets a mask colour set explicitly (UnrealCV gives colours only to actors
present at BeginPlay, unrealcv/unrealcv#152), and mask pixels map back to objects by exact colour;
any other colour is background. A lost or stuck connection is reopened with back-off and the view
redone from scratch, so a view is either complete or not returned at all.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import math
import os
import re
import socket
import struct
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..catalog import ObjectInfo, ObjectSet, fat_objects
from ..errors import ConfigError, FatError
from ..geometry import Intrinsics, invert_pose, make_pose
from ..scene.scenes import Location
from .ue4 import format_vector, pose_to_ue4
from ..frame import Frame
from . import RenderOutput
from .base import Capabilities, OptionError, Renderer, option

#: Depth values beyond this (metres) are the sky: no surface.
SKY_M = 1000.0
#: Largest ``timeout`` an UnrealCV config may set, seconds.
MAX_TIMEOUT = 3600.0


class UnrealError(FatError):
    """The game answered with an error, or the connection could not be kept."""


class _Lost(Exception):
    """The connection broke or an answer did not come in time: reconnect and redo the view."""


class _NotUnrealCV(_Lost):
    """The server accepted the connection but gave no UnrealCV greeting in time, or another protocol's."""


#: UnrealCV's message framing: magic number, payload length (native uint32 each), payload.
_MAGIC = 0x9E2B83C1
_GREETING_MAX = 4096  # bytes: a greeting ("connected to <game>") is short


def _read_greeting(sock: socket.socket, timeout: float) -> bytes:
    """The server's first message, read within ``timeout`` seconds; raises _NotUnrealCV otherwise."""
    deadline = time.monotonic() + timeout

    def exact(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            sock.settimeout(max(deadline - time.monotonic(), 1e-3))
            try:
                chunk = sock.recv(n - len(buf))
            except socket.timeout:
                raise _NotUnrealCV(f"accepted the connection but sent no UnrealCV greeting within {timeout:g} s") from None
            if not chunk:
                raise _NotUnrealCV("closed the connection without an UnrealCV greeting")
            buf += chunk
        return buf

    head = exact(8)
    magic, size = struct.unpack("II", head)
    if magic != _MAGIC or size > _GREETING_MAX:
        raise _NotUnrealCV(f"answered {head!r}, which is not UnrealCV's protocol")
    payload = exact(size)
    if not payload.startswith(b"connected"):
        raise _NotUnrealCV(f"answered {payload[:80]!r} instead of UnrealCV's greeting")
    return payload


@dataclass(frozen=True)
class ClassMapping:
    actors: tuple[str, ...] = ()  # actors placed in the level for this class
    spawn_class: str | None = None  # blueprint class to spawn more


@dataclass(frozen=True)
class LevelMapping:
    level: str | None = None  # map to open (vset /action/game/level)
    fixation_cm: tuple[float, float, float] | None = None  # the location's fixation point in the game
    heading_yaw: float = 0.0  # UE4 yaw of the location's heading (camera azimuth 0)


@dataclass(frozen=True)
class UnrealConfig:
    camera_id: int = 0
    depth: str = "plane"  # plane: z-depth (UE4 SceneDepth); point: distance to the camera centre
    timeout: float = 30.0  # seconds to wait for one answer, and for the greeting of a new connection
    retries: int = 3  # reconnections tried for one view
    backoff: float = 0.5  # seconds before the first reconnection, doubled each time
    classes: dict = field(default_factory=dict)  # FAT class name (any case) -> ClassMapping
    hide: tuple[str, ...] = ()  # more actors to hide during capture
    levels: dict = field(default_factory=dict)  # location name -> LevelMapping

    @classmethod
    def load(cls, path: str | Path | None, objects: ObjectSet | None = None) -> "UnrealConfig":
        if path is None:
            return cls()
        path = Path(path)
        try:
            doc = json.loads(path.read_text())
        except OSError as e:
            raise ConfigError(f"{path}: cannot read the UnrealCV config: {e.strerror}") from None
        except ValueError as e:
            raise ConfigError(f"{path}: not valid JSON: {e}") from None
        except RecursionError:
            raise ConfigError(f"{path}: nested too deeply to be an UnrealCV config") from None
        if not isinstance(doc, dict):
            raise ConfigError(f"{path}: expected a table of settings, got {type(doc).__name__}")
        known = {"camera_id", "depth", "timeout", "retries", "backoff", "classes", "hide", "levels"}
        for k in doc:
            if k not in known:
                raise ConfigError(f"{path}: unknown setting {k!r}; known: {', '.join(sorted(known))}")
        for k, kind, lo, hi in (("camera_id", int, 0, None), ("timeout", float, 0.001, MAX_TIMEOUT),
                                ("retries", int, 0, 100), ("backoff", float, 0, 3600)):
            v = doc.get(k, 0 if kind is int else 1.0)
            if isinstance(v, bool) or not isinstance(v, int if kind is int else (int, float)) or \
                    not math.isfinite(v) or v < lo or (hi is not None and v > hi):
                bound = f"{lo}..{hi}" if hi is not None else f">= {lo}"
                raise ConfigError(f"{path}: {k} must be {'an integer' if kind is int else 'a number'} {bound}, got {v!r}")
        for k, kind in (("classes", dict), ("levels", dict), ("hide", list)):
            if not isinstance(doc.get(k, kind()), kind):
                raise ConfigError(f"{path}: {k} must be a {'table' if kind is dict else 'list'}, got {doc[k]!r}")
        if doc.get("depth", "plane") not in ("plane", "point"):
            raise ConfigError(f"{path}: depth must be 'plane' or 'point', got {doc['depth']!r}")
        objects = fat_objects() if objects is None else objects
        classes = {}
        for name, m in doc.get("classes", {}).items():
            if objects.find(name) is None:
                raise ConfigError(f"{path}: classes: unknown object {name!r} (object set {objects.name})")
            extra = set(m) - {"actors", "spawn_class"}
            if extra:
                raise ConfigError(f"{path}: classes.{name}: unknown keys {sorted(extra)}")
            classes[objects.get(name).class_name] = ClassMapping(tuple(m.get("actors", ())), m.get("spawn_class"))
        levels = {}
        for name, m in doc.get("levels", {}).items():
            fix = m.get("fixation_cm")
            if fix is not None and len(fix) != 3:
                raise ConfigError(f"{path}: levels.{name}.fixation_cm must be 3 numbers")
            levels[name] = LevelMapping(m.get("level"), None if fix is None else tuple(map(float, fix)),
                                        float(m.get("heading_yaw", 0.0)))
        return cls(int(doc.get("camera_id", 0)), doc.get("depth", "plane"), float(doc.get("timeout", 30.0)),
                   int(doc.get("retries", 3)), float(doc.get("backoff", 0.5)), classes, tuple(doc.get("hide", ())), levels)


def parse_endpoint(text: str) -> tuple[str, int]:
    m = re.fullmatch(r"\[?([^\]]+?)\]?:(\d{1,5})", text or "")
    if not m or not 0 < int(m.group(2)) < 65536:
        raise ConfigError(f"--unrealcv {text!r}: expected HOST:PORT, for example localhost:9000")
    return m.group(1), int(m.group(2))


def mask_colour(k: int) -> tuple[int, int, int]:
    """Distinct, exactly reproducible mask colour of object k (no two objects share one)."""
    return (40 + (k * 67) % 200, 30 + (k * 151) % 210, 50 + (k * 29 + 90) % 190)


def _quiet():
    """The unrealcv client prints and logs on its own; keep that out of our output."""
    logging.getLogger("unrealcv").setLevel(logging.CRITICAL)
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    return stack


@functools.lru_cache(maxsize=1)
def _client_class():
    import unrealcv

    class Client(unrealcv.Client):
        """unrealcv.Client whose receiving thread ends quietly when the connection breaks (the
        waiting request still gets the ConnectionError), instead of dying with a traceback."""

        def receive(self):
            try:
                return super().receive()
            except ConnectionError:
                return None

        def connect(self, timeout=1, start_receive_thread=True):
            """Connect and read the greeting within ``timeout`` seconds. (The library's own connect
            ignores its timeout and waits without limit for a greeting, from a server that may
            never send one.) Returns False when nothing accepts the connection, raises _NotUnrealCV
            when what accepts it is not an UnrealCV server; then starts the library's receiving
            thread, as its connect does."""
            if self.isconnected():
                return True
            try:
                sock = socket.create_connection(self.endpoint, timeout=timeout)
            except OSError:
                return False
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                _read_greeting(sock, timeout)
                sock.settimeout(None)
            except BaseException:
                sock.close()
                raise
            self.sock = sock
            if start_receive_thread:
                self.t = threading.Thread(target=self.receive_loop_queue, daemon=True)
                self.t.start()
                if not self._command_capabilities_checked:
                    self._load_command_capabilities()
            return True

    return Client


def _text(key: str, label: str, v) -> str | None:
    if v is None:
        return None
    if isinstance(v, os.PathLike):
        v = os.fspath(v)
    if not isinstance(v, str):
        raise OptionError(key, f"{label} must be text, got {v!r}")
    return v


@dataclass(frozen=True)
class UnrealOptions:
    endpoint: str | None = option("unrealcv", "--unrealcv", metavar="HOST:PORT",
                                  check=lambda k, v: _text(k, "unrealcv", v),
                                  help="The game's UnrealCV server (with --renderer unrealcv).")
    config: str | None = option("unreal_config", "--unreal-config", file=True,
                                check=lambda k, v: _text(k, "unreal config", v),
                                help="JSON file mapping classes to the game's actors and locations to its levels "
                                     "(see docs/unreal.md).")

    def check(self, objects: ObjectSet) -> "UnrealOptions":
        """The options together: an endpoint is needed and must parse; the config file must read for
        the object set ``objects``."""
        if not self.endpoint:
            raise OptionError("unrealcv", "--renderer unrealcv needs --unrealcv HOST:PORT")
        parse_endpoint(self.endpoint)
        UnrealConfig.load(self.config, objects)
        return self


class UnrealCVRenderer(Renderer):
    """An Unreal Engine 4 game with the UnrealCV plugin (--unrealcv HOST:PORT)."""

    name = "unrealcv"
    capabilities = Capabilities(instance_ids=True, shadows=True, materials=True, environment_lighting=True,
                                needs_game=True)
    Options = UnrealOptions

    @classmethod
    def create(cls, options: UnrealOptions, intrinsics: Intrinsics | None, objects: ObjectSet) -> "UnrealCVRenderer":
        from ..geometry import FAT_INTRINSICS

        return cls(options.endpoint, UnrealConfig.load(options.config, objects), intrinsics or FAT_INTRINSICS, objects)

    def __init__(self, endpoint: str, config: UnrealConfig, intrinsics: Intrinsics, objects: ObjectSet | None = None):
        self.objects = fat_objects() if objects is None else objects
        self.endpoint = endpoint
        self.host, self.port = parse_endpoint(endpoint)
        self.cfg = config
        self.requested = intrinsics
        self.client = None
        self.connections = 0
        self._location: str | None = None
        self._assigned: list[str] = []  # actor of each scene object
        self._coloured: dict[str, tuple] = {}
        self._spawned: set[str] = set()
        self._actors: list[str] = []
        self._connect_with_retries()
        self.intrinsics = self._setup_camera()

    # ------------------------------------------------------------------ connection
    def _connect(self) -> None:
        client = _client_class()((self.host, self.port))
        client.RECONNECT_ATTEMPTS, client.RECONNECT_BASE_DELAY = 1, 0.05
        with _quiet():
            ok = client.connect(timeout=self.cfg.timeout)
        if not ok:
            with _quiet():
                client.disconnect()
            raise _Lost(f"no connection to {self.endpoint}")
        self.client = client
        self.connections += 1
        self._request("vget /unrealcv/status")
        self._actors = self._request("vget /objects").split()

    def _connect_with_retries(self) -> None:
        delay = self.cfg.backoff
        for attempt in range(self.cfg.retries + 1):
            try:
                self._connect()
                return
            except _NotUnrealCV as e:  # something else listens there: trying again will not help
                self._drop()
                raise UnrealError(f"--unrealcv {self.endpoint}: the server {e}; is this the port of the game's "
                                  "UnrealCV server (its unrealcv.ini)?") from None
            except _Lost as e:
                last = e
                self._drop()
                if attempt < self.cfg.retries:
                    time.sleep(delay)
                    delay *= 2
        raise UnrealError(f"--unrealcv {self.endpoint}: cannot connect after {self.cfg.retries + 1} tries ({last}); "
                          "is the game running with the UnrealCV plugin, on the port of its unrealcv.ini?")

    def _drop(self) -> None:
        if self.client is not None:
            with _quiet():
                self.client.disconnect()
        self.client = None

    def close(self) -> None:
        self._drop()

    def _request(self, command: str, binary: bool = False):
        """One command; raises _Lost when the answer does not come, UnrealError when it is an error."""
        if self.client is None or not self.client.isconnected():
            raise _Lost("not connected")
        try:
            with _quiet():
                answer = self.client.request(command, timeout=self.cfg.timeout)
        except (ConnectionError, TimeoutError, OSError, AssertionError) as e:
            raise _Lost(f"{command!r}: {e or type(e).__name__}") from None
        if answer is None:
            raise _Lost(f"{command!r}: the game closed the connection")
        if isinstance(answer, str) and answer.lower().startswith("error"):
            raise UnrealError(f"unrealcv {self.endpoint}: {command!r} failed: {answer.strip()}")
        if binary:
            return answer if isinstance(answer, bytes) else answer.encode("latin-1")
        return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer

    # ------------------------------------------------------------------ camera
    def _setup_camera(self) -> Intrinsics:
        """Ask for the FAT camera; return the intrinsics the game really renders with."""
        c, K = self.cfg.camera_id, self.requested
        hfov = K.hfov
        self._retrying(lambda: self._request(f"vrun r.setres {K.width}x{K.height}w"))
        fov_cmd = "fov"
        try:
            self._retrying(lambda: self._request(f"vset /camera/{c}/fov {hfov:.6f}"))
        except UnrealError:  # UnrealCV 0.3.10 spelling
            fov_cmd = "horizontal_fieldofview"
            self._retrying(lambda: self._request(f"vset /camera/{c}/horizontal_fieldofview {hfov:.6f}"))
        self._fov_cmd = fov_cmd
        fov = float(self._retrying(lambda: self._request(f"vget /camera/{c}/{fov_cmd}")).split()[0])
        lit = self._retrying(lambda: self._decode_rgb(self._request(f"vget /camera/{c}/lit png", binary=True)))
        h, w = lit.shape[:2]
        return Intrinsics.from_fov(w, h, fov)

    # ------------------------------------------------------------------ scene
    def _retrying(self, fn):
        """Run fn, reconnecting with back-off when the connection is lost."""
        delay = self.cfg.backoff
        for attempt in range(self.cfg.retries + 1):
            try:
                return fn()
            except _Lost as e:
                last = e
                self._drop()
                if attempt == self.cfg.retries:
                    break
                time.sleep(delay)
                delay *= 2
                try:
                    self._connect()
                    self._after_reconnect()
                except _Lost:
                    continue
        raise UnrealError(f"unrealcv {self.endpoint}: connection lost and not back after {self.cfg.retries} tries "
                          f"(last: {last}); did the game close?")

    def _after_reconnect(self) -> None:
        """The game may have restarted: forget what was set up, set the camera again."""
        self._location, self._assigned, self._coloured = None, [], {}
        self._spawned &= set(self._actors)
        K = self.requested
        self._request(f"vrun r.setres {K.width}x{K.height}w")
        self._request(f"vset /camera/{self.cfg.camera_id}/{self._fov_cmd} {K.hfov:.6f}")

    def _class_actors(self, info: ObjectInfo) -> tuple[list[str], str | None]:
        m = self.cfg.classes.get(info.class_name)
        if m is not None and m.actors:
            actors = list(m.actors)
        else:  # actors named after the object, e.g. 011_banana, 011_banana_2
            prefix = info.name.lower()
            actors = sorted(a for a in self._actors if a.lower().startswith(prefix))
        return actors + sorted(a for a in self._spawned if a.startswith(f"fat_{info.name}_")), (m.spawn_class if m else None)

    def _assign(self, frame: Frame) -> list[str]:
        out, used = [], {}
        for a in frame.assets:
            name = a.info.class_name
            actors, spawn = self._class_actors(a.info)
            j = used.get(name, 0)
            used[name] = j + 1
            if j < len(actors):
                actor = actors[j]
                if actor not in self._actors and actor not in self._spawned:
                    raise UnrealError(f"unrealcv {self.endpoint}: actor {actor!r} for {name} is not in the game "
                                      f"(vget /objects lists {len(self._actors)} actors)")
            elif spawn:
                actor = f"fat_{a.info.name}_{j}"
                self._request(f"vset /objects/spawn {spawn} {actor}")
                self._spawned.add(actor)
            else:
                raise UnrealError(f"unrealcv {self.endpoint}: the drop needs {j + 1} actors of {name}, the game has "
                                  f"{len(actors)}; place more in the level or give a spawn_class in the config")
            out.append(actor)
        return out

    def _managed_actors(self) -> set[str]:
        out = set(self._spawned) | set(self.cfg.hide)
        for o in self.objects:
            out |= set(self._class_actors(o)[0])
        return out & (set(self._actors) | self._spawned)

    def _level_transform(self, loc: Location) -> np.ndarray:
        """Project world -> the world in which pose_to_ue4 gives the game's coordinates."""
        m = self.cfg.levels.get(loc.name)
        if m is None or m.fixation_cm is None:
            return np.eye(4)
        fix = np.array(m.fixation_cm) * np.array([1, -1, 1]) / 100.0  # the game's fixation, project axes
        h = math.radians(-m.heading_yaw)  # UE4 yaw turns towards +Y, the project's -y
        game_frame = make_pose(np.array([[math.cos(h), -math.sin(h), 0], [math.sin(h), math.cos(h), 0], [0, 0, 1]]), fix)
        return game_frame @ invert_pose(loc.frame)

    def _prepare(self, frame: Frame) -> None:
        loc = frame.location
        if self._location != loc.name:
            m = self.cfg.levels.get(loc.name)
            if m is not None and m.level:
                self._request(f"vset /action/game/level {m.level}")
                self._actors = self._request("vget /objects").split()
            self._location, self._assigned, self._coloured = loc.name, [], {}
        assigned = self._assign(frame)
        if assigned != self._assigned:
            for actor in sorted(self._managed_actors() - set(assigned)):
                self._request(f"vset /object/{actor}/hide")
            for k, actor in enumerate(assigned):
                self._request(f"vset /object/{actor}/show")
                colour = mask_colour(k)
                if self._coloured.get(actor) != colour:
                    self._request(f"vset /object/{actor}/color {colour[0]} {colour[1]} {colour[2]}")
                    got = self._parse_colour(self._request(f"vget /object/{actor}/color"))
                    if got != colour:
                        raise UnrealError(f"unrealcv {self.endpoint}: actor {actor!r} keeps mask colour {got}, "
                                          f"not the {colour} that was set")
                    self._coloured[actor] = colour
            self._assigned = assigned

    @staticmethod
    def _parse_colour(text: str) -> tuple[int, int, int]:
        vals = dict(re.findall(r"([RGB])=(\d+)", text))
        if len(vals) == 3:
            return int(vals["R"]), int(vals["G"]), int(vals["B"])
        nums = re.findall(r"\d+", text)
        return tuple(int(x) for x in nums[:3]) if len(nums) >= 3 else (-1, -1, -1)

    # ------------------------------------------------------------------ capture
    @staticmethod
    def _decode_rgb(data: bytes) -> np.ndarray:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise _Lost("the lit image could not be decoded (truncated answer)")
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def _capture(self, frame: Frame, T_world_cam: np.ndarray) -> RenderOutput:
        c = self.cfg.camera_id
        self._prepare(frame)
        G = self._level_transform(frame.location)
        for actor, T in zip(self._assigned, frame.poses):
            loc, rot = pose_to_ue4(G @ T)
            self._request(f"vset /object/{actor}/location {format_vector(loc)}")
            self._request(f"vset /object/{actor}/rotation {format_vector(rot)}")
        loc, rot = pose_to_ue4(G @ T_world_cam)
        self._request(f"vset /camera/{c}/location {format_vector(loc)}")
        self._request(f"vset /camera/{c}/rotation {format_vector(rot)}")
        rgb = self._decode_rgb(self._request(f"vget /camera/{c}/lit png", binary=True))
        raw = self._request(f"vget /camera/{c}/depth npy", binary=True)
        try:
            depth_cm = np.load(io.BytesIO(raw), allow_pickle=False)
        except ValueError:
            raise _Lost("the depth answer could not be decoded (truncated answer)") from None
        mask = cv2.imdecode(np.frombuffer(self._request(f"vget /camera/{c}/object_mask png", binary=True), np.uint8),
                            cv2.IMREAD_COLOR)
        if mask is None:
            raise _Lost("the object mask could not be decoded (truncated answer)")
        K = self.intrinsics
        depth = np.asarray(depth_cm, dtype=np.float32).reshape(depth_cm.shape[0], depth_cm.shape[1]) / np.float32(100)
        if depth.shape != (K.height, K.width) or rgb.shape[:2] != depth.shape or mask.shape[:2] != depth.shape:
            raise UnrealError(f"unrealcv {self.endpoint}: the game changed its image size to {rgb.shape[1]}x{rgb.shape[0]} "
                              f"(expected {K.width}x{K.height})")
        if self.cfg.depth == "point":  # distance to the camera centre -> z
            xn, yn = K.pixel_rays()
            depth = (depth / np.sqrt(1 + xn ** 2 + yn ** 2)).astype(np.float32)
        depth[~np.isfinite(depth) | (depth > SKY_M) | (depth <= 0)] = 0
        key = (mask[:, :, 2].astype(np.int32) << 16) | (mask[:, :, 1].astype(np.int32) << 8) | mask[:, :, 0]
        instance = np.zeros(key.shape, np.int32)
        for k in range(len(self._assigned)):
            r, g, b = mask_colour(k)
            instance[key == ((r << 16) | (g << 8) | b)] = k + 1
        return RenderOutput(rgb, depth, instance)

    def render(self, frame: Frame, eye: str = "left") -> RenderOutput:
        """The game renders with its own camera (``intrinsics``), whatever the rig's says."""
        T_world_cam = frame.rig.pose(eye)
        return self._retrying(lambda: self._capture(frame, T_world_cam))
