"""Shared fixtures: real server processes on 127.0.0.1 and the official npm clients."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import settings

# make test draws hypothesis's default 100 examples per test from a fixed seed, so a run is the same
# on every machine; `make fuzz-compat` draws many more at random (pytest --hypothesis-profile=long),
# and a failure it finds replays first on the next run from hypothesis's database (.hypothesis/).
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("long", max_examples=20_000, deadline=None)
settings.load_profile("ci")

TESTS = Path(__file__).parent
PEERS = TESTS / "peers"
APPS = TESTS / "apps"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A Python app served by Surge in its own process."""

    def __init__(
        self, script: Path, env: dict[str, str] | None = None, cwd: Path | None = None, command: list[str] | None = None
    ) -> None:
        """Run ``script`` with this Python, or ``command`` (which must serve PORT, from the environment)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = dict(os.environ, PORT=str(self.port), PYTHONUNBUFFERED="1", **(env or {}))
        self.log_path = Path(os.environ.get("SURGE_TEST_LOGS", "/tmp")) / f"surge-{script.stem}-{self.port}.log"
        self._log = self.log_path.open("w+b")
        # A session of its own, so stop() also reaches a reloader's child process.
        self.proc = subprocess.Popen(
            command or [sys.executable, str(script)],
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=cwd,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                output = self.output()
                self._log.close()
                raise RuntimeError(f"server exited: {output}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("server did not start")

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_output(self, text: str, count: int = 1, timeout: float = 10) -> str:
        """Wait until ``text`` has been printed ``count`` times; returns the output."""
        deadline = time.monotonic() + timeout
        while (output := self.output()).count(text) < count:
            assert time.monotonic() < deadline, f"{text!r} not printed {count} time(s):\n{output}"
            time.sleep(0.02)
        return output

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=5) as response:
            return json.loads(response.read())

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # whatever the group still holds
        except ProcessLookupError:
            pass
        self._log.close()
        return self.proc.returncode


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with openssl in ``folder``: (cert.pem, key.pem)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
    names = ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        ["openssl", *request, *names, "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True
    )
    return cert, key


class RedisServer:
    """A redis-server of the test's own, on a free port or a unix socket (it can be killed and restarted)."""

    def __init__(self, unix_socket: Path | None = None, tls_dir: Path | None = None) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (make test installs it)"
        self.binary = binary
        self.unix_socket = unix_socket
        self.tls_dir = tls_dir
        self.port = 0 if unix_socket else free_port()
        if unix_socket:
            self.url = f"unix://{unix_socket}"
        elif tls_dir:
            self_signed_certificate(tls_dir)  # the client is told not to verify it
            self.url = f"rediss://127.0.0.1:{self.port}/0?ssl_cert_reqs=none"
        else:
            self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        if self.unix_socket:
            args += ["--unixsocket", str(self.unix_socket)]
        if self.tls_dir:
            cert, key = str(self.tls_dir / "cert.pem"), str(self.tls_dir / "key.pem")
            args[1:3] = ["--port", "0", "--tls-port", str(self.port)]
            args += [
                "--tls-cert-file",
                cert,
                "--tls-key-file",
                key,
                "--tls-ca-cert-file",
                cert,
                "--tls-auth-clients",
                "no",
            ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def shared_redis_url() -> str | None:
    """The machine's Redis on 127.0.0.1:6379 when it runs."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        redis.Redis(port=6379).ping()
    except (OSError, redis.RedisError):
        return None
    return "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    url = shared_redis_url()
    if url is not None:
        yield url
        return
    server = RedisServer()
    yield server.url
    server.stop()


AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"


def machine_rabbitmq_url() -> str:
    """The machine's RabbitMQ (127.0.0.1:5672, guest/guest), started when installed and not running."""
    if not listening(5672):
        binary = shutil.which("rabbitmq-server")
        if binary is None:
            raise RuntimeError("RabbitMQ is not running on 127.0.0.1:5672 and not installed (make test installs it)")
        subprocess.run([binary, "-detached"], check=True)
        deadline = time.monotonic() + 60
        while not listening(5672):
            if time.monotonic() > deadline:
                raise RuntimeError("rabbitmq-server -detached did not start listening on 5672 within 60 s")
            time.sleep(0.5)
    return AMQP_URL


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="module", params=["redis", "amqp"])
def queue_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A message queue of each kind Flask-SocketIO speaks: Redis (the machine's, or the tests' own) and RabbitMQ."""
    if request.param == "amqp":
        yield machine_rabbitmq_url()
        return
    yield request.getfixturevalue("redis_url")


@dataclass(frozen=True)
class Queue:
    """A message queue as SocketIO(message_queue=url, redis_streams=streams) takes it."""

    url: str
    streams: bool = False

    def env(self) -> dict[str, str]:
        """For tests/apps/cluster_app.py."""
        return {"QUEUE_URL": self.url, "REDIS_STREAMS": "1" if self.streams else "0"}


@pytest.fixture(scope="module", params=["redis", "redis streams", "amqp"])
def queue(request: pytest.FixtureRequest) -> Iterator[Queue]:
    """Every transport between Surge processes: Redis pub/sub, Redis Streams, RabbitMQ."""
    if request.param == "amqp":
        yield Queue(machine_rabbitmq_url())
        return
    yield Queue(request.getfixturevalue("redis_url"), streams=request.param == "redis streams")


@pytest.fixture(scope="module")
def echo_server() -> Iterator[ServerProcess]:
    server = ServerProcess(APPS / "echo_app.py")
    yield server
    server.stop()


def run_peer(script: str, opts: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
    """Run a Node peer of tests/peers/ with JSON options; return the JSON line it prints last."""
    if not (TESTS.parent / "node_modules" / "socket.io-client").is_dir():
        raise RuntimeError("npm packages missing: run `npm ci` in the repository (make test does)")
    out = subprocess.run(
        ["node", str(PEERS / script), json.dumps(opts)], capture_output=True, text=True, timeout=timeout, cwd=PEERS
    )
    # Split at newlines only: str.splitlines() also splits at U+0085 and U+2028, which JSON leaves unescaped.
    lines = [line for line in out.stdout.split("\n") if line.startswith("{")]
    assert lines, f"no result from {script}:\n{out.stdout}\n{out.stderr}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert "error" not in result, result["error"]
    return result


def run_steered(opts: dict[str, Any], during: Callable[[dict[str, Any]], None], timeout: float = 60) -> dict[str, Any]:
    """Run a scenario of tests/peers/scenario.js that waits for the test: ``during`` gets the JSON line
    it prints once ready, then it is sent "go" (the cluster scenario waits for it); returns the JSON
    line it prints last.  The peer is killed and its pipes closed however this ends, so none outlives
    a failing test."""
    proc = subprocess.Popen(
        ["node", str(PEERS / "scenario.js"), json.dumps(opts)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=PEERS,
    )
    with proc:
        try:
            assert proc.stdout is not None
            during(json.loads(proc.stdout.readline()))
            out, _ = proc.communicate("go\n", timeout=timeout)
        finally:
            proc.kill()
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def run_node(
    scenario: str, url: str, version: int = 4, transports: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """Run a scenario of tests/peers/scenario.js with the official client ``version``."""
    opts = {"scenario": scenario, "url": url, "version": version, "transports": transports, **extra}
    return run_peer("scenario.js", opts)


def pings_in(port: int, seconds: float) -> tuple[str, int]:
    """The handshake, and the PINGs a WebSocket client that answers each at once gets in ``seconds``."""
    from websockets.sync.client import connect

    pings, started = 0, time.monotonic()
    with connect(f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket", open_timeout=5) as ws:
        handshake = str(ws.recv(timeout=5))
        assert handshake.startswith("0{")
        while time.monotonic() - started < seconds:
            try:
                message = ws.recv(timeout=0.2)
            except TimeoutError:
                continue
            if message == "2":
                pings += 1
                ws.send("3")
    return handshake, pings
