"""Server fixtures for the client-driven integration tests.

Every test runs against each server kind named in PADDOCK_SERVERS
(comma-separated, default "paddock,zookeeper"): Paddock itself and Apache
ZooKeeper 3.8 as the oracle.  A server is a real process on a free loopback
port with its own temp dir and zoo.cfg.

Fixtures:
  server       module scope, default config (one per module and kind)
  fast_server  module scope, tickTime=500 for session-expiry tests
  make_server  function scope factory: make_server(**zoo_cfg_overrides)
  kazoo_factory, raw_factory, clients
               function scope factories of started clients
  zkc_binary   session scope: c/zkc.c compiled once into a temp dir
  zkc_factory  function scope factory: zkc_factory(server) -> c_client.Zkc
  make_configured_server, cli_mt_shell
               function scope factories for the ACL/auth tests (acl_support.py)

tracked(create, release) is the body of every factory fixture here (and in
acl_support.py): `yield from tracked(...)`.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import c_client  # noqa: E402
import jute  # noqa: E402

REPO = HERE.parent.parent
KINDS = [k.strip() for k in os.environ.get("PADDOCK_SERVERS", "paddock,zookeeper").split(",") if k.strip()]
for _k in KINDS:
    if _k not in ("paddock", "zookeeper"):
        raise pytest.UsageError("PADDOCK_SERVERS: unknown server kind %r" % _k)

PADDOCK_BIN = os.environ.get("PADDOCK_BIN", str(REPO / ".build" / "debug" / "paddock"))

# The transport modules Paddock servers run (PADDOCK_TRANSPORT): unset uses the default module
# (libuv) without naming it; "libuv" or "nio" puts every port on that module; "mixed" gives
# ensemble server N the Nth (client port, quorum ports) pair of MIXED_TRANSPORTS, cycling, and a
# standalone server the second pair.
PADDOCK_TRANSPORT = os.environ.get("PADDOCK_TRANSPORT", "")
MIXED_TRANSPORTS = [("libuv", "nio"), ("nio", "libuv"), ("nio", "nio"), ("libuv", "libuv")]
if PADDOCK_TRANSPORT not in ("", "libuv", "nio", "mixed"):
    raise pytest.UsageError("PADDOCK_TRANSPORT: unknown transport %r" % PADDOCK_TRANSPORT)


def paddock_transport_config(server_id=2):
    """The zoo.cfg keys choosing server `server_id`'s transports under PADDOCK_TRANSPORT."""
    if not PADDOCK_TRANSPORT:
        return {}
    if PADDOCK_TRANSPORT == "mixed":
        client, quorum = MIXED_TRANSPORTS[(server_id - 1) % len(MIXED_TRANSPORTS)]
    else:
        client = quorum = PADDOCK_TRANSPORT
    return {"paddock.transport": client, "paddock.quorum.transport": quorum}
ZK_CLASSPATH = os.environ.get("ZOOKEEPER_CLASSPATH", "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar")
# Optional log binding so ZooKeeper's log is not swallowed by slf4j's NOP
# logger; used only if Debian's jars are present.
ZK_LOG_JARS = ["/usr/share/java/slf4j-log4j12.jar", "/usr/share/java/log4j-1.2.jar"]

HOST = "127.0.0.1"
START_DEADLINE_S = float(os.environ.get("PADDOCK_IT_START_DEADLINE", "60"))
STOP_DEADLINE_S = 10.0
LOG_TAIL_LINES = 60

# Container and TTL nodes are reaped by a periodic check; keep it short so
# tests wait well under a second per check.
CONTAINER_CHECK_INTERVAL_MS = 200

# zoo.cfg keys that ZooKeeper reads only as plain JVM system properties.
ZK_SYSTEM_PROPERTY_KEYS = ("znode.container.checkIntervalMs", "jute.maxbuffer")

NOT_SERVING = "not currently serving requests"

_live_servers = []


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def send_four_letter_word(host, port, word, timeout=10.0):
    """Sends a 4lw and returns everything the server writes before closing."""
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(word.encode("ascii"))
        out = bytearray()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("4lw %r: no EOF within %.1fs (got %r)" % (word, timeout, bytes(out)))
            s.settimeout(remaining)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
    return out.decode("utf-8", "replace")


def wait_until(predicate, timeout=10.0, interval=0.02, message="condition"):
    """Polls predicate until it returns a truthy value; returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, message))
        time.sleep(interval)


class Server:
    """One server process (Paddock or ZooKeeper) with its own dir and zoo.cfg."""

    def __init__(self, kind, config=None):
        self.kind = kind
        self.host = HOST
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="paddock-it-%s-" % kind))
        self.data_dir = self.dir / "data"
        self.data_dir.mkdir()
        self.config_path = self.dir / "zoo.cfg"
        self.log_path = self.dir / "server.log"
        # Extra environment variables for the server process.
        self.env = {}
        self.config = {
            "tickTime": "2000",
            "dataDir": str(self.data_dir),
            "clientPort": str(self.port),
            "clientPortAddress": HOST,
            "maxClientCnxns": "60",
            "admin.enableServer": "false",
            "4lw.commands.whitelist": "*",
            "extendedTypesEnabled": "true",
            "znode.container.checkIntervalMs": str(CONTAINER_CHECK_INTERVAL_MS),
        }
        if kind == "paddock":
            self.config.update(paddock_transport_config())
        for key, value in (config or {}).items():
            if value is None:
                self.config.pop(key, None)
            else:
                self.config[key] = str(value)
        self.proc = None
        self._log_file = None

    # lifecycle -------------------------------------------------------------

    @property
    def hosts(self):
        return "%s:%d" % (self.host, self.port)

    def write_config(self):
        lines = ["%s=%s" % (k, v) for k, v in self.config.items()]
        self.config_path.write_text("\n".join(lines) + "\n")

    def command(self):
        if self.kind == "paddock":
            return [PADDOCK_BIN, "server", "--config", str(self.config_path)]
        classpath = ZK_CLASSPATH
        for jar in ZK_LOG_JARS:
            if os.path.exists(jar):
                classpath += ":" + jar
        props = ["-Dzookeeper.root.logger=INFO,CONSOLE", "-Xmx256m"]
        for key in ZK_SYSTEM_PROPERTY_KEYS:
            if key in self.config:
                props.append("-D%s=%s" % (key, self.config[key]))
        return ["java", "-cp", classpath] + props + [
            "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            str(self.config_path),
        ]

    def spawn(self):
        """Starts the process without waiting for it to serve."""
        if self.kind == "paddock" and not os.access(PADDOCK_BIN, os.X_OK):
            pytest.fail("paddock binary not found at %s (set PADDOCK_BIN or build it first)" % PADDOCK_BIN)
        self.write_config()
        self._log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            self.command(),
            env=dict(os.environ, **self.env),
            cwd=str(self.dir),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        if self not in _live_servers:
            _live_servers.append(self)

    def start(self):
        self.spawn()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def wait_ready(self, timeout=START_DEADLINE_S):
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    "%s exited with %s during startup\n%s"
                    % (self.kind, self.proc.returncode, self.log_tail())
                )
            try:
                # ZooKeeper answers ruok before its database is loaded and
                # refuses sessions until then; srvr says when it serves.
                if (self.four_letter("ruok", timeout=2.0).strip() == "imok"
                        and NOT_SERVING not in self.four_letter("srvr", timeout=2.0)):
                    return
            except OSError as e:  # refused while still starting
                last_error = e
            except TimeoutError as e:
                last_error = e
            time.sleep(0.05)
        raise RuntimeError(
            "%s not ready (ruok) within %.0fs: %r\n%s"
            % (self.kind, timeout, last_error, self.log_tail())
        )

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_DEADLINE_S)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self in _live_servers:
            _live_servers.remove(self)

    def cleanup(self):
        self.stop()
        if os.environ.get("PADDOCK_IT_KEEP_DIRS") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # helpers ---------------------------------------------------------------

    def log_tail(self, lines=LOG_TAIL_LINES):
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as e:
            return "(no log: %s)" % e
        tail = text.splitlines()[-lines:]
        return "---- %s log tail (%s) ----\n%s" % (self.kind, self.log_path, "\n".join(tail))

    def four_letter(self, word, timeout=10.0):
        return send_four_letter_word(self.host, self.port, word, timeout)

    def raw(self, timeout_ms=10000, **kw):
        """A connected jute.RawClient (session established)."""
        return jute.connected_client(self.host, self.port, timeout_ms, **kw)

    def raw_socket(self, timeout=10.0):
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def __repr__(self):
        return "<Server %s %s>" % (self.kind, self.hosts)


# --- pytest hooks: server log tail on failure; figures at the end --------------

# Lines tests want shown after the run (the nemesis campaign's counts), whatever the verbosity.
FIGURES = []


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("figures")
        for line in FIGURES:
            terminalreporter.write_line(line)



@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and _live_servers:
        for srv in list(_live_servers):
            rep.sections.append(("server %s %s" % (srv.kind, srv.hosts), srv.log_tail()))


# --- fixtures -------------------------------------------------------------------


def tracked(create, release):
    """The body of a factory fixture, used as `yield from tracked(create, release)`:
    yields a function that calls create(*args, **kw) and remembers what it
    returns; at teardown calls release(thing) on each, in the order made."""
    made = []

    def make(*args, **kw):
        thing = create(*args, **kw)
        made.append(thing)
        return thing

    yield make
    for thing in made:
        release(thing)


@pytest.fixture(scope="module", params=KINDS, ids=KINDS)
def server_kind(request):
    return request.param


def started(srv):
    """srv.start(); if that fails, cleans srv up (process, temp dir) and re-raises."""
    try:
        srv.start()
    except BaseException:
        srv.cleanup()
        raise
    return srv


def start_server(kind, config=None):
    return started(Server(kind, config))


@pytest.fixture(scope="module")
def server(server_kind):
    srv = start_server(server_kind)
    yield srv
    srv.cleanup()


FAST_CONFIG = {"tickTime": 500, "minSessionTimeout": 1000, "maxSessionTimeout": 20000}


@pytest.fixture(scope="module")
def fast_server(server_kind):
    """tickTime=500 so sessions can time out after about a second."""
    srv = start_server(server_kind, FAST_CONFIG)
    yield srv
    srv.cleanup()


@pytest.fixture
def make_server(server_kind):
    """Factory: make_server(key=value, ...) starts a fresh server with those
    zoo.cfg overrides (a value of None removes a default key)."""
    yield from tracked(lambda **config: start_server(server_kind, config), Server.cleanup)


def _new_kazoo(srv, **kw):
    from kazoo.client import KazooClient

    kw.setdefault("timeout", 10.0)
    client = KazooClient(hosts=srv.hosts, **kw)
    client.start(timeout=15)
    return client


def _stop_kazoo(client):
    try:
        client.stop()
    finally:
        client.close()


@pytest.fixture
def kazoo_factory():
    """kazoo_factory(server, **KazooClient kwargs) -> started client,
    stopped at teardown."""
    yield from tracked(_new_kazoo, _stop_kazoo)


@pytest.fixture
def zk(server, kazoo_factory):
    """A started kazoo client on the module's server."""
    return kazoo_factory(server)


@pytest.fixture
def raw_factory():
    """raw_factory(server, timeout_ms=..., **connect kwargs) -> connected
    jute.RawClient; its session is closed at teardown (if the connection is
    still up) so it does not expire later in the middle of another test."""
    yield from tracked(lambda srv, timeout_ms=10000, **kw: srv.raw(timeout_ms, **kw),
                       lambda client: client.close())


@pytest.fixture
def unique_path(request):
    """A per-test root path name so tests sharing a module server don't collide."""
    name = "".join(ch if ch.isalnum() else "_" for ch in request.node.name)
    return "/" + name


@pytest.fixture
def clients():
    """clients(server, **kazoo kwargs): started clients for the data-dir tests'
    servers (processes.DataDirServer), closed at teardown."""
    from processes import close_kazoo, kazoo_client

    def close_quietly(client):
        try:
            close_kazoo(client)
        except Exception:
            pass

    yield from tracked(kazoo_client, close_quietly)


@pytest.fixture(scope="session")
def zkc_binary():
    """c/zkc.c compiled once per test session into a temp dir (removed at the end)."""
    out_dir = tempfile.mkdtemp(prefix="paddock-it-zkc-")
    yield c_client.build_zkc(out_dir)
    shutil.rmtree(out_dir, ignore_errors=True)


@pytest.fixture
def zkc_factory(zkc_binary):
    """zkc_factory(server) -> a connected c_client.Zkc (one C client session);
    killed at teardown."""
    yield from tracked(lambda srv: c_client.Zkc(zkc_binary, srv), c_client.Zkc.kill)


@pytest.fixture
def make_configured_server(server_kind):
    """make_configured_server(config=None, jvm_properties=None, env=None)
    starts a fresh acl_support.ConfiguredServer of the test's kind; stopped at
    teardown."""
    from acl_support import start_configured_server

    yield from tracked(
        lambda config=None, jvm_properties=None, env=None:
            start_configured_server(server_kind, config, jvm_properties, env),
        Server.cleanup)


@pytest.fixture
def cli_mt_shell():
    """cli_mt_shell(server) -> a connected acl_support.CliMtShell (cli_mt in
    interactive mode); closed at teardown."""
    from acl_support import CliMtShell

    yield from tracked(CliMtShell, CliMtShell.close)
