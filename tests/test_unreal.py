"""Rendering through UnrealCV: the real ``unrealcv.Client`` against an UnrealCV-protocol test server
(tests/unrealcv_test_server.py) backed by PyBullet. No Unreal Engine game runs in these tests."""

import json
import socket
import threading

import numpy as np
import pytest

from fat import catalog
from fat.assets.objects import standin_assets
from fat.run.driver import generate
from fat.settings import Settings
from fat.render.unreal import UnrealConfig, UnrealCVRenderer, UnrealError, mask_colour, parse_endpoint
from fat.scene.scenes import get_location

import geometry_checks as gc
from unrealcv_test_server import Fault, UnrealCVTestServer

pytest.importorskip("unrealcv", reason="the UnrealCV client is not installed (pip install --no-deps unrealcv)")

OBJECTS = ("banana", "mug", "power_drill", "cracker_box")


@pytest.fixture(scope="module")
def assets():
    return standin_assets([catalog.fat_objects().get(o) for o in OBJECTS])


def _server(assets, **kw):
    placed = {catalog.fat_objects().get(o).name: assets[catalog.fat_objects().get(o).name] for o in OBJECTS}
    spawn = {f"BP_{catalog.fat_objects().get(o).short_name}": assets[catalog.fat_objects().get(o).name] for o in OBJECTS}
    # the level's own actors are drawn in a colour one step from object 0's: exact matching only
    kw.setdefault("background", tuple(c + 1 for c in mask_colour(0)))
    srv = UnrealCVTestServer(get_location("kitchen_0"), placed, spawn, **kw)
    srv.start()
    return srv


def _config(tmp_path, **extra):
    cfg = {"classes": {catalog.fat_objects().get(o).class_name: {"spawn_class": f"BP_{catalog.fat_objects().get(o).short_name}"} for o in OBJECTS},
           "timeout": 5, "retries": 3, "backoff": 0.05, **extra}
    p = tmp_path / "unreal.json"
    p.write_text(json.dumps(cfg))
    return str(p)


def _settings(srv, cfg, **kw):
    base = dict(scenes=("kitchen",), locations=(0,), objects=OBJECTS, mixed_frames=4, frames_per_drop=2, seed=4,
                renderer="unrealcv", renderer_options={"unrealcv": srv.address, "unreal_config": cfg}, width=480,
                height=270)
    base.update(kw)
    return Settings(**base)


@pytest.mark.slow
def test_a_dataset_through_unrealcv_passes_the_geometric_checks(tmp_path, assets):
    srv = _server(assets)
    try:
        summary = generate(_settings(srv, _config(tmp_path)), tmp_path / "out")
    finally:
        srv.stop()
    assert summary["frames"] == 4
    assert gc.check_dataset(tmp_path / "out") > 2000
    assert srv.connections == 1  # one connection for the whole run
    spawned = [r for r in srv.requests if r.startswith("vset /objects/spawn")]
    coloured = {r.split("/")[2] for r in srv.requests if r.startswith("vset /object/") and r.split()[1].endswith("/color")}
    assert {r.split()[3] for r in spawned} <= coloured  # spawned actors got their mask colour explicitly
    assert any("r.setres 480x270" in r for r in srv.requests) and any("/fov 64" in r for r in srv.requests)


@pytest.mark.slow
def test_the_same_seed_gives_the_same_dataset_as_another_run(tmp_path, assets):
    srv = _server(assets)
    try:
        generate(_settings(srv, _config(tmp_path), mixed_frames=2), tmp_path / "a")
        generate(_settings(srv, _config(tmp_path), mixed_frames=2), tmp_path / "b")
    finally:
        srv.stop()
    for p in sorted((tmp_path / "a").rglob("*.json")):
        assert p.read_bytes() == (tmp_path / "b" / p.relative_to(tmp_path / "a")).read_bytes()


@pytest.mark.slow
def test_a_game_that_renders_another_size_and_fov_gets_its_real_intrinsics(tmp_path, assets):
    srv = _server(assets, size=(640, 360), fov=90.0, resizable=False, fov_settable=False)
    try:
        generate(_settings(srv, _config(tmp_path), mixed_frames=2), tmp_path / "out")
    finally:
        srv.stop()
    cams = json.loads((tmp_path / "out/mixed/kitchen_0/_camera_settings.json").read_text())["camera_settings"][0]
    assert cams["captured_image_size"] == {"width": 640, "height": 360}
    assert cams["horizontal_fov"] == 90 and cams["intrinsic_settings"]["fx"] == pytest.approx(320, abs=1e-3)
    assert gc.check_dataset(tmp_path / "out") > 1000  # the geometry holds with the real intrinsics


def test_connection_refused_is_one_clear_error_and_writes_nothing(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    cfg = _config(tmp_path, retries=1)
    with pytest.raises(UnrealError, match=rf"--unrealcv 127.0.0.1:{port}: cannot connect after 2 tries"):
        generate(Settings(renderer="unrealcv", renderer_options={"unrealcv": f"127.0.0.1:{port}", "unreal_config": cfg},
                          scenes=("kitchen",)),
                 tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_dropped_connection_in_the_middle_of_a_frame_is_redone(tmp_path, assets):
    srv = _server(assets)
    srv.faults = [Fault("object_mask", n=3, mode="drop"), Fault("depth npy", n=5, mode="drop")]
    try:
        generate(_settings(srv, _config(tmp_path)), tmp_path / "out")
    finally:
        srv.stop()
    assert srv.connections == 3  # two reconnections
    assert gc.check_dataset(tmp_path / "out") > 2000


class _TimeoutAtSilence:
    """The client's answer queue, with a clock that runs out exactly when the server has gone silent:
    a wait for an answer ends with the answer, or with ``queue.Empty`` (what the client turns into its
    TimeoutError) once the server has decided never to answer. So which request times out does not
    depend on how loaded the machine is."""

    def __init__(self, q, silenced):
        self.q, self.silenced = q, silenced

    def put(self, item):
        self.q.put(item)

    def get(self, timeout=None):
        import queue

        while True:
            try:
                return self.q.get(timeout=0.05)
            except queue.Empty:
                if self.silenced.is_set():
                    self.silenced.clear()
                    raise


@pytest.mark.slow
def test_slow_and_silent_answers(tmp_path, assets, monkeypatch):
    """Slow answers are waited for; a request the game never answers times out, and the renderer
    reconnects once and redoes the view. Catches a time-out that is not treated as a lost connection
    (e.g. TimeoutError missing from what ``_request`` catches) or a redo that reconnects more than once."""
    import fat.render.unreal as U

    srv = _server(assets, delay=0.05)
    srv.faults = [Fault("lit png", n=4, mode="silence")]
    base, waited = U._client_class(), []

    class Client(base):
        def __init__(self, *args, **kw):
            super().__init__(*args, **kw)
            self.recv_data_q = _TimeoutAtSilence(self.recv_data_q, srv.silenced)

        def request(self, message, timeout=15, **kw):
            waited.append(timeout)
            return super().request(message, timeout=timeout, **kw)

    monkeypatch.setattr(U, "_client_class", lambda: Client)
    try:
        generate(_settings(srv, _config(tmp_path, timeout=7), mixed_frames=2), tmp_path / "out")
    finally:
        srv.stop()
    assert srv.faults[0].seen >= 4 and set(waited) == {7}  # the configured time-out is the one asked for
    assert srv.connections == 2
    assert gc.check_dataset(tmp_path / "out") > 500


@pytest.mark.slow
def test_a_restarted_game_gets_its_actors_spawned_again(tmp_path, assets):
    srv = _server(assets)
    cfg = UnrealConfig.load(_config(tmp_path))
    from fat.geometry import FAT_INTRINSICS, look_at
    from fat.frame import Frame

    r = UnrealCVRenderer(srv.address, cfg, FAT_INTRINSICS)
    try:
        loc = get_location("kitchen_0")
        mug = assets[catalog.fat_objects().get("mug").name]
        poses = [np.eye(4) for _ in range(3)]
        for k, T in enumerate(poses):
            T[:3, 3] = loc.fixation + [0.1 * (k - 1), 0, 0.05]
        cam = look_at(loc.fixation + [0.8, 0, 0.4], loc.fixation)
        frame = Frame.view(loc, [(mug, T) for T in poses], cam, FAT_INTRINSICS)
        a = r.render(frame)
        assert set(np.unique(a.instance)) == {0, 1, 2, 3}
        srv.restart()
        b = r.render(frame)
        assert np.array_equal(a.instance, b.instance)
        assert sum(1 for x in srv.requests if x.startswith("vset /objects/spawn")) == 4  # 2 spawned twice
    finally:
        r.close()
        srv.stop()


@pytest.mark.slow
def test_the_game_closing_mid_run_stops_with_finished_frames_intact(tmp_path, assets):
    srv = _server(assets)
    out = tmp_path / "out"
    srv.faults = [Fault("lit png", n=6, mode="drop")]
    original = srv.answer

    def answer(command):  # the game quits for good after the fault
        if srv.faults[0].seen >= 6:
            threading.Thread(target=srv.stop).start()
        return original(command)

    srv.answer = answer
    with pytest.raises(UnrealError, match="connection lost and not back after 3 tries .* did the game close"):
        generate(_settings(srv, _config(tmp_path), mixed_frames=6, frames_per_drop=2), out)
    srv.stop()
    # drops of two frames: the first is finished when the game quits in the second (a run that ends
    # before its first drop leaves nothing: tests/test_failed_starts.py)
    assert len((out / "manifest.jsonl").read_text().splitlines()) >= 1
    folder = out / "mixed/kitchen_0"
    frames = sorted(p.name for p in folder.glob("0*"))
    complete = {n.split(".")[0] for n in frames}
    for stem in complete:  # every frame on disk has all ten files: none half-written
        assert len([n for n in frames if n.startswith(stem)]) == 10
    assert 0 < len(complete) < 6
    assert not list(folder.glob(".*"))


def test_unknown_actor_and_unkept_colours(tmp_path, assets):
    srv = _server(assets)
    cfg = {"classes": {"011_banana_16k": {"actors": ["NoSuchBanana"]}}, "timeout": 5, "backoff": 0.05}
    (tmp_path / "bad.json").write_text(json.dumps(cfg))
    try:
        with pytest.raises(UnrealError, match="actor 'NoSuchBanana' for 011_banana_16k is not in the game"):
            generate(_settings(srv, str(tmp_path / "bad.json"), objects=("banana",), kinds=("single",), single_frames=1,
                               frames_per_drop=1), tmp_path / "out")
        assert not (tmp_path / "out/single/011_banana_16k/kitchen_0/000000.left.json").exists()
    finally:
        srv.stop()
    srv = _server(assets, colours_settable=False)  # unrealcv#152: the colour cannot be set
    try:
        with pytest.raises(UnrealError, match="keeps mask colour"):
            generate(_settings(srv, _config(tmp_path), mixed_frames=1, frames_per_drop=1), tmp_path / "out2")
    finally:
        srv.stop()


def test_settings_and_config_errors(tmp_path):
    from fat.errors import ConfigError
    from fat.run.resolve import resolve

    with pytest.raises(ConfigError, match="needs --unrealcv HOST:PORT"):
        resolve(Settings(renderer="unrealcv"))
    with pytest.raises(ConfigError, match="expected HOST:PORT"):
        parse_endpoint("localhost")
    assert parse_endpoint("[::1]:9000") == ("::1", 9000)
    (tmp_path / "c.json").write_text(json.dumps({"classes": {"teapot": {"actors": ["x"]}}}))
    with pytest.raises(ConfigError, match=r"c\.json: classes: unknown object 'teapot'"):
        UnrealConfig.load(tmp_path / "c.json")
    with pytest.raises(ConfigError, match="go with --renderer unrealcv"):
        resolve(Settings(renderer_options={"unrealcv": "localhost:9000"}))


@pytest.mark.slow
def test_a_long_run_keeps_one_connection_and_does_not_leak(tmp_path, assets):
    """Twelve frames over one connection, and the client's receive thread ends with the run: every
    thread started during the run is joined (they end on their own, however loaded the machine; the
    join's bound only limits how long a leaked thread is waited for). Catches a renderer that is not
    closed at the end of a run (its receive thread waits forever) or a reconnection per frame."""
    import gc as pygc

    srv = _server(assets)
    before = set(threading.enumerate())
    try:
        generate(_settings(srv, _config(tmp_path), mixed_frames=12, frames_per_drop=4), tmp_path / "out")
    finally:
        srv.stop()
    pygc.collect()
    assert srv.connections == 1
    started = [t for t in threading.enumerate() if t not in before]
    for t in started:
        t.join(timeout=60)
    assert [t.name for t in started if t.is_alive()] == []  # e.g. the client's receive_loop_queue
