"""`ganedge serve` through real HTTP on 127.0.0.1: one server (a subprocess on its own local Ray
cluster) for the module, its endpoints, hostile requests, and a clean stop on SIGTERM."""

from __future__ import annotations

import base64
import http.client
import io
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("ray.serve")

import ganedge
from ganedge.errors import InputError
from tests.ganedge.conftest import invoke

START_S = 180.0  # a local Ray cluster and a replica, on a loaded 2-core machine
STOP_S = 90.0


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    model: Path

    def request(self, method: str, path: str, body: bytes | None = None,
                timeout: float = 60.0) -> tuple[int, str, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body)
            answer = conn.getresponse()
            return answer.status, answer.getheader("content-type", ""), answer.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, body: bytes | None = None) -> tuple[int, object]:
        status, kind, data = self.request(method, path, body)
        assert kind == "application/json" and data.count(b"\n") <= 1
        return status, json.loads(data)


@pytest.fixture(scope="module")
def server(models: dict[str, Path]) -> Iterator[Server]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "ganedge", "serve", str(models["cond"]), "--port", str(port),
         "--max-batch-size", "8", "--batch-wait-ms", "50", "--max-images", "16"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    running = Server(process, port, models["cond"])
    deadline = time.monotonic() + START_S
    while True:  # bounded: until /healthz answers, the process dies, or the deadline passes
        assert process.poll() is None, process.communicate()[1]
        try:
            if running.request("GET", "/healthz", timeout=5)[0] == 200:
                break
        except OSError:
            assert time.monotonic() < deadline, "ganedge serve did not come up"
            time.sleep(0.5)
    yield running
    if process.poll() is None:
        process.kill()
        process.communicate()


def _reference(tmp_path: Path, model: Path, seeds: str, *args: str) -> dict[int, bytes]:
    result = invoke("sample", str(model), "--seeds", seeds, "--outdir", str(tmp_path), "-q", *args)
    assert result.exit_code == 0, result.stderr
    return {int(p.stem[4:]): p.read_bytes() for p in tmp_path.glob("seed*.png")}


def test_info_is_the_contract_and_healthz_answers(server: Server) -> None:
    status, info = server.json("GET", "/info")
    assert status == 200 and info["contract"] == json.loads(json.dumps(
        asdict(ganedge.load(server.model).contract)))
    assert (info["max_batch_size"], info["limits"]["max_images"]) == (8, 16)
    status, health = server.json("GET", "/healthz")
    assert status == 200 and health["status"] == "ok"


def test_sample_is_the_png_of_ganedge_sample(server: Server, tmp_path: Path) -> None:
    reference = _reference(tmp_path, server.model, "5", "--truncation", "0.5", "--label", "1")
    status, kind, png = server.request("GET", "/sample?seed=5&truncation=0.5&label=1")
    assert (status, kind, png) == (200, "image/png", reference[5])


def test_concurrent_samples_share_runs_and_each_gets_its_own_image(server: Server,
                                                                   tmp_path: Path) -> None:
    reference = _reference(tmp_path, server.model, "100-123")
    _, before = server.json("GET", "/healthz")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda s: server.request("GET", f"/sample?seed={s}"),
                                range(100, 124)))
    assert [a[2] for a in answers] == [reference[s] for s in range(100, 124)]
    _, generated = server.json("POST", "/generate", b'{"seeds": [120, 100, 121]}')
    assert [base64.b64decode(i) for i in generated["images"]] == [reference[s] for s in
                                                                  (120, 100, 121)]
    _, after = server.json("GET", "/healthz")
    images, batches = after["images"] - before["images"], after["batches"] - before["batches"]
    assert images == 27 and batches < images  # some requests shared a session run


def test_generate_from_latents(server: Server) -> None:
    gen = ganedge.load(server.model)
    body = json.dumps({"latents": gen.latents([7, 8]).tolist(), "labels": [0, 2],
                       "truncation": 0.8}).encode()
    status, answer = server.json("POST", "/generate", body)
    pixels = np.stack([np.asarray(Image.open(io.BytesIO(base64.b64decode(i))))
                       for i in answer["images"]])
    assert status == 200 and (pixels == gen.sample([7, 8], labels=[0, 2], truncation=0.8)).all()


def test_generate_a_grid(server: Server, tmp_path: Path) -> None:
    grid = tmp_path / "grid.png"
    assert invoke("sample", str(server.model), "--seeds", "3,1,4", "--truncation", "0.9",
                  "--scale", "1", "-o", str(grid), "-q").exit_code == 0
    answer = server.request("POST", "/generate",
                            b'{"seeds": [3, 1, 4], "truncation": 0.9, "grid": true}')
    assert answer == (200, "image/png", grid.read_bytes())


HOSTILE = [
    ("GET", "/sample", None, 400, "seed: missing: ask for e.g. /sample?seed=42"),
    ("GET", "/sample?seed=-5", None, 400, ("seed: must be a whole number in [0, "
                                          "9223372036854775807] (got '-5')")),
    ("GET", "/sample?seed=1&truncation=NaN", None, 400, ("truncation: must be in [0, 1] (got "
                                                        "nan): 1 is no truncation, 0 the mean "
                                                        "image")),
    ("GET", "/sample?seed=1&label=99", None, 400, "label: must be at most 2 (got 99)"),
    ("GET", "/sample?seed=1&x=" + "a" * 20_000, None, 400,
     "query: is 20,010 characters long (at most 1,024): ask with seed, truncation and label only"),
    ("POST", "/generate", b'{"seeds": [' + b"1," * 10_000 + b"1]}", 400,
     "seeds: must be at most 16 (got 10,001): ask in several requests"),
    ("POST", "/generate", b"{not json", 400, ('body: must be a JSON object, e.g. {"seeds": [1, '
                                             '2, 3]}')),
    ("POST", "/generate", b"[" * 50_000, 400, ('body: must be a JSON object, e.g. {"seeds": [1, '
                                              '2, 3]}')),
    ("POST", "/generate", b'{"seeds": [1], "truncation": Infinity}', 400,
     "truncation: must be in [0, 1] (got inf): 1 is no truncation, 0 the mean image"),
    ("POST", "/generate", b'{"seeds": [1], "labels": [-1]}', 400,
     "labels: must be at least 0 (got -1)"),
    ("POST", "/generate", b'{"latents": [[1, 2]], "labels": 0}', 400,
     "latents: each latent must be a list of 8 numbers"),
    ("POST", "/generate", b" " * (5 << 20), 413, ("body: over 4,194,304 bytes: ask for fewer "
                                                 "images")),
    ("GET", "/generate", None, 405, "/generate takes POST (got GET)"),
    ("GET", "/admin", None, 404, "no route '/admin': use /sample, /generate, /info, /healthz"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "error"), HOSTILE,
                         ids=[f"{i}-{h[1][:20]}" for i, h in enumerate(HOSTILE)])
def test_a_hostile_request_gets_a_one_line_json_error(server: Server, method: str, path: str,
                                                      body: bytes | None, status: int,
                                                      error: str) -> None:
    _, before = server.json("GET", "/healthz")
    code, kind, data = server.request(method, path, body)
    assert (code, kind, data) == (status, "application/json",
                                  json.dumps({"error": error}).encode() + b"\n")
    _, after = server.json("GET", "/healthz")
    assert after["pid"] == before["pid"]  # the same replica answers: nothing crashed it


def test_sigterm_stops_the_service_cleanly(server: Server) -> None:
    server.process.send_signal(signal.SIGTERM)
    _, stderr = server.process.communicate(timeout=STOP_S)
    assert server.process.returncode == 0, stderr
    assert "Traceback" not in stderr and stderr.endswith("stopped\n")


@pytest.mark.parametrize(("args", "message"), [
    (["--port", "0"], "--port: must be in [1, 65535] (got 0)"),
    (["--max-batch-size", "0"], "--max-batch-size: must be at least 1 (got 0)"),
    (["--replicas", "0"], "--replicas: must be at least 1 (got 0)"),
    (["--batch-wait-ms", "nan"], "--batch-wait-ms: must be in [0, 10000] (got nan)"),
    (["missing.onnx"], "MODEL: 'missing.onnx' does not exist: give a .onnx or .ort file path"),
])
def test_bad_serve_options_are_one_line_before_ray_starts(args: list[str], message: str) -> None:
    result = invoke("serve", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"error: {message}\n")


def test_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("serve", "--port", str(port))
    assert (result.exit_code, result.stderr) == (
        2, f"error: --port: cannot listen on 127.0.0.1:{port} (in use): choose another --port "
           "or --host\n")


def test_the_app_deploys_under_a_route_prefix_on_a_cluster_of_ones_own() -> None:
    """docs/scaling-out.md's embedding example: build_app on a cluster this process runs."""
    import ray
    from ray import serve

    from ganedge.ray import ServeConfig, build_app
    from ganedge.runtime.model import default_model_path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(build_app(ServeConfig(model=str(default_model_path()))), name="ganedge",
                  route_prefix="/gan")
        running = Server(None, port, default_model_path())  # type: ignore[arg-type]
        status, kind, png = running.request("GET", "/gan/sample?seed=3")
        assert (status, kind) == (200, "image/png")
        assert (np.asarray(Image.open(io.BytesIO(png)))[..., None]
                == ganedge.load().sample([3])[0]).all()
        assert running.request("GET", "/sample?seed=3")[0] == 404  # outside the prefix
        # Python code on the cluster: the same bytes through a handle, the same refusals
        handle = serve.get_app_handle("ganedge")
        assert handle.sample_png.remote(3).result(timeout_s=60) == png
        with pytest.raises(InputError, match="truncation: must be in"):
            handle.sample_png.remote(3, truncation=2.0).result(timeout_s=60)
    finally:
        ray.shutdown()
