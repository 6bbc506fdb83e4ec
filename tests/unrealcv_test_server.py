"""An UnrealCV-protocol test server: what an Unreal Engine 4 game with the UnrealCV plugin looks like
to a client, backed by a PyBullet scene. No Unreal Engine runs in the tests; this stands in for one.

It speaks UnrealCV's wire format (each message: magic 0x9E2B83C1, payload length, payload; requests
``id:command``, answers ``id:answer``), greets a new client with ``connected ...``, serves one client
at a time, and answers the commands the fat driver uses:

    vget /unrealcv/status | /unrealcv/commands | /objects
    vget|vset /object/NAME/color, vset /object/NAME/location|rotation|hide|show
    vset /objects/spawn CLASS NAME
    vget|vset /camera/0/fov, vset /camera/0/location|rotation, vrun r.setres WxHw
    vget /camera/0/lit png | depth npy | object_mask png

Poses are UE4's: centimetres, left-handed, FRotator in degrees; they are turned back into the
project's frames here with UE4's FRotationMatrix written out again (not with fat.render.ue4), so a driver
that converts wrongly renders the wrong picture. Failures can be injected: slow answers, a dropped
connection or silence at the n-th matching command, a restart that forgets spawned actors, and
mask colours that cannot be changed.
"""

from __future__ import annotations

import io
import math
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass

import cv2
import numpy as np

from fat.geometry import Intrinsics, make_pose
from fat.frame import Frame
from fat.render.pybullet import PyBulletRenderer

MAGIC = 0x9E2B83C1
COMMANDS = """vget /unrealcv/status
vget /unrealcv/commands
vget /objects
vget /object/[str]/color
vset /object/[str]/color [uint] [uint] [uint]
vset /object/[str]/location [float] [float] [float]
vset /object/[str]/rotation [float] [float] [float]
vset /object/[str]/hide
vset /object/[str]/show
vset /objects/spawn [str] [str]
vget /camera/[uint]/fov
vset /camera/[uint]/fov [float]
vset /camera/[uint]/location [float] [float] [float]
vset /camera/[uint]/rotation [float] [float] [float]
vget /camera/[uint]/lit [str]
vget /camera/[uint]/depth [str]
vget /camera/[uint]/object_mask [str]
vrun [str]"""


def ue4_pose(location_cm, rotator) -> np.ndarray:
    """Project pose (OpenCV-like axes: x right, y down, z forward) of a UE4 actor or camera."""
    p, y, r = (math.radians(a) for a in rotator)
    sp, cp, sy, cy, sr, cr = math.sin(p), math.cos(p), math.sin(y), math.cos(y), math.sin(r), math.cos(r)
    forward = np.array([cp * cy, cp * sy, sp])  # FRotationMatrix rows, UE4 world
    right = np.array([sr * sp * cy - cr * sy, sr * sp * sy + cr * cy, -sr * cp])
    up = np.array([-(cr * sp * cy + sr * sy), cy * sr - cr * sp * sy, cr * cp])
    mirror = np.array([1.0, -1.0, 1.0])  # UE4 world (cm, left-handed) -> project world
    return make_pose(np.column_stack([right * mirror, -up * mirror, forward * mirror]),
                     np.asarray(location_cm, dtype=np.float64) * mirror / 100.0)


@dataclass
class Actor:
    asset: object | None  # fat.assets.objects.ObjectAsset, or None for the level's own actors
    color: tuple = (0, 0, 0)
    location: tuple = (0.0, 0.0, 0.0)
    rotation: tuple = (0.0, 0.0, 0.0)
    hidden: bool = False
    spawned: bool = False


@dataclass
class Fault:
    """At the n-th command containing ``match``: drop (close the connection), silence (never
    answer) or error (answer an error)."""

    match: str
    n: int = 1
    mode: str = "drop"
    seen: int = 0


class UnrealCVTestServer:
    def __init__(self, location, actors: dict, spawnable: dict | None = None, level_actors=("Floor", "SkyLight"),
                 size=(960, 540), fov=90.0, resizable=True, fov_settable=True, background=(0, 0, 0),
                 colours_settable=True, delay=0.0):
        self.location = location
        self.placed = dict(actors)
        self.spawnable = dict(spawnable or {})
        self.level_actors = tuple(level_actors)
        self.size, self.fov = tuple(size), float(fov)
        self.resizable, self.fov_settable, self.colours_settable = resizable, fov_settable, colours_settable
        self.background = tuple(background)
        self.delay = delay
        self.faults: list[Fault] = []
        self.silenced = threading.Event()  # set when a fault leaves a request unanswered for good
        self.connections = 0
        self.requests: list[str] = []
        self._sock = None
        self._conn = None
        self._thread = None
        self._stop = threading.Event()
        self.port = None
        self._begin_play()

    # ------------------------------------------------------------------ game state
    def _begin_play(self) -> None:
        """Like a level start: placed actors get mask colours, nothing is spawned yet."""
        self.actors = {n: Actor(a, color=(10 + 23 * i % 200, 200 - 17 * i % 150, 90 + 31 * i % 160))
                       for i, (n, a) in enumerate(self.placed.items())}
        for n in self.level_actors:
            self.actors[n] = Actor(None, color=self.background)
        self.cam_location, self.cam_rotation = (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)

    def _render(self):
        if not hasattr(self._local, "renderer"):
            self._local.renderer = PyBulletRenderer("tiny")
        shown = [(n, a) for n, a in self.actors.items() if a.asset is not None and not a.hidden]
        K = Intrinsics.from_fov(self.size[0], self.size[1], self.fov)
        frame = Frame.view(self.location, [(a.asset, ue4_pose(a.location, a.rotation)) for _, a in shown],
                           ue4_pose(self.cam_location, self.cam_rotation), K)
        out = self._local.renderer.render(frame)
        return out, shown

    def _image(self, kind: str) -> bytes:
        out, shown = self._render()
        if kind == "lit":
            ok, buf = cv2.imencode(".png", cv2.cvtColor(out.rgb, cv2.COLOR_RGB2BGR))
            return buf.tobytes()
        if kind == "depth":
            d = out.depth.astype(np.float32) * 100.0  # plane depth in cm
            d[out.depth <= 0] = 1e7  # the sky
            b = io.BytesIO()
            np.save(b, d)
            return b.getvalue()
        mask = np.zeros(out.rgb.shape, np.uint8)
        mask[:] = self.background
        for k, (_, a) in enumerate(shown):
            mask[out.instance == k + 1] = a.color
        ok, buf = cv2.imencode(".png", cv2.cvtColor(mask, cv2.COLOR_RGB2BGR))
        return buf.tobytes()

    def answer(self, command: str):
        parts = command.split()
        m = re.fullmatch(r"v(get|set) /object/([^/\s]+)/(\w+)((?: \S+)*)", command)
        if command == "vget /unrealcv/status":
            return "Is Listening\nClient Connected\n9000\nConfiguration\nConfig file: unrealcv.ini\nPort: 9000\n"
        if command == "vget /unrealcv/commands":
            return COMMANDS
        if command == "vget /objects":
            return " ".join(self.actors)
        if parts[:2] == ["vset", "/objects/spawn"] and len(parts) == 4:
            cls, name = parts[2], parts[3]
            if cls not in self.spawnable:
                return f"error Can not find class {cls}"
            self.actors[name] = Actor(self.spawnable[cls], spawned=True)  # no mask colour: set after BeginPlay
            return "ok"
        if m:
            verb, name, what, args = m.group(1), m.group(2), m.group(3), m.group(4).split()
            if name not in self.actors:
                return f"error Can not find object {name}"
            a = self.actors[name]
            if verb == "get" and what == "color":
                return "(R={},G={},B={},A=255)".format(*a.color)
            if verb == "set" and what == "color" and len(args) == 3:
                if self.colours_settable:
                    a.color = tuple(int(x) for x in args)
                return "ok"
            if verb == "set" and what in ("location", "rotation") and len(args) == 3:
                setattr(a, what, tuple(float(x) for x in args))
                return "ok"
            if verb == "set" and what in ("hide", "show"):
                a.hidden = what == "hide"
                return "ok"
        m = re.fullmatch(r"v(get|set) /camera/0/(\w+)((?: \S+)*)", command)
        if m:
            verb, what, args = m.group(1), m.group(2), m.group(3).split()
            if verb == "set" and what in ("location", "rotation") and len(args) == 3:
                setattr(self, f"cam_{what}", tuple(float(x) for x in args))
                return "ok"
            if what == "fov":
                if verb == "get":
                    return f"{self.fov:.6f}"
                if self.fov_settable:
                    self.fov = float(args[0])
                return "ok"
            if verb == "get" and what in ("lit", "depth", "object_mask") and args:
                return self._image(what)
        m = re.fullmatch(r"vrun r\.setres (\d+)x(\d+)w?", command)
        if m:
            if self.resizable:
                self.size = (int(m.group(1)), int(m.group(2)))
            return "ok"
        return "error Can not find a handler for this request"

    # ------------------------------------------------------------------ network
    def start(self, port: int = 0) -> str:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self._sock.listen(1)
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._stop.clear()
        self._local = threading.local()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return f"127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        """The game closes: the listening socket and the client's connection."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self._thread = None

    def restart(self) -> None:
        """The game is closed and started again on the same port: spawned actors are gone."""
        self.stop()
        self._begin_play()
        self.start(self.port)

    def _serve(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    conn, _ = self._sock.accept()
                except socket.timeout:
                    continue
                self.connections += 1
                with conn:
                    conn.settimeout(0.1)
                    self._send(conn, b"connected to fat's UnrealCV test server")
                    self._talk(conn)
        finally:
            self._sock.close()
            renderer = getattr(self._local, "renderer", None)
            if renderer is not None:
                renderer.close()
                del self._local.renderer

    def _talk(self, conn) -> None:
        buf = b""
        while not self._stop.is_set():
            try:
                chunk = conn.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while len(buf) >= 8:
                magic, n = struct.unpack("II", buf[:8])
                if magic != MAGIC:
                    return
                if len(buf) < 8 + n:
                    break
                payload, buf = buf[8:8 + n], buf[8 + n:]
                mid, _, command = payload.decode().partition(":")
                self.requests.append(command)
                action = self._fault(command)
                if action == "drop":
                    return
                if action == "silence":
                    self.silenced.set()
                    continue
                if self.delay:
                    time.sleep(self.delay)
                answer = "error injected failure" if action == "error" else self.answer(command)
                body = answer if isinstance(answer, bytes) else answer.encode()
                try:
                    self._send(conn, mid.encode() + b":" + body)
                except OSError:
                    return

    def _fault(self, command: str) -> str | None:
        for f in self.faults:
            if f.match in command:
                f.seen += 1
                if f.seen == f.n:
                    return f.mode
        return None

    @staticmethod
    def _send(conn, payload: bytes) -> None:
        conn.sendall(struct.pack("II", MAGIC, len(payload)) + payload)
