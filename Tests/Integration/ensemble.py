"""Replicated ensembles of real server processes on loopback, for test_ensemble.py.

An ensemble is configured exactly as ZooKeeper 3.8's: every node gets its own
dir with a zoo.cfg listing `server.N=127.0.0.1:<quorum port>:<election port>`
for every member, its own clientPort, and `dataDir/myid` holding its id in
decimal.  Each node is a processes.DataDirServer, so it can be killed (-9),
stopped (SIGTERM), frozen (SIGSTOP) and thawed (SIGCONT), and started again
on the same dirs and ports; each start writes its own log (server-K.log).

    ens = Ensemble("zookeeper", 3, tmp_path).start()
    leader = ens.leader()                 # waits until the ensemble is stable
    ens.followers(); ens.mode(node)       # "leader" / "follower" / None
    ens.hosts                             # "127.0.0.1:p1,127.0.0.1:p2,..." (all nodes)
    node.hosts                            # one node's connect string
    leader.kill9(); ens.wait_stable(); leader.restart(); ens.wait_stable()
    node.pause(); node.resume()           # SIGSTOP / SIGCONT
    ens.stop()

Only behaviour the ZooKeeper client protocol and the four-letter words show is
used (srvr's `Mode:` line, mntr's zk_server_state and zk_synced_followers),
never log text, so the same tests run against Paddock and ZooKeeper 3.8.

Fixtures (import them into a test module: `from ensemble import ensemble3, ...`):
  ensemble_kind  module scope, parametrized over conftest.KINDS
  ensemble3      function scope: a fresh running 3-node ensemble (a ZooKeeper
                 ensemble starts and elects in about 2 s on 2 cores)
  ensemble5      function scope: a fresh 5-node ensemble
  make_ensemble  function scope factory: make_ensemble(size, **zoo_cfg)
                 -> a started fresh Ensemble, stopped at teardown
  ensemble_clients
                 function scope factory: ensemble_clients(hosts, timeout=6.0,
                 **KazooClient kwargs) -> a started kazoo client (see kazoo()),
                 closed at teardown
"""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

import conftest
from conftest import HOST, NOT_SERVING, STOP_DEADLINE_S, free_port, send_four_letter_word, tracked
from processes import FAST_RECONNECT, DataDirServer, wait_until

__all__ = [
    "ENSEMBLE_CONFIG", "Ensemble", "EnsembleNode", "ensemble3", "ensemble5", "ensemble_clients", "ensemble_kind",
    "kazoo", "make_ensemble", "parse_mntr", "parse_mode",
]

# Short ticks so elections, syncs and session expiry take fractions of a
# second: a follower that hears nothing from its leader for syncLimit ticks
# (and a leader that hears from no quorum for syncLimit ticks) gives up.
ENSEMBLE_CONFIG = {
    "tickTime": 200,
    "initLimit": 10,
    "syncLimit": 5,
    # The default maximum (20 ticks = 4 s) is short for a writer that must
    # ride out an election on a busy 2-core machine; tests pick their own.
    "maxSessionTimeout": 20000,
}

# A started JVM compiles less and collects with one thread: on a 2-core
# machine running 5 of them, that is most of the start-up time saved.
ZK_ENSEMBLE_JVM_PROPS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")

# How long a whole ensemble may take to start and elect, and to re-elect.
START_DEADLINE_S = float(os.environ.get("PADDOCK_IT_START_DEADLINE", "60"))
STABLE_DEADLINE_S = 30.0
# A paused (SIGSTOPped) server accepts connections (the kernel's backlog) but
# never answers; 4lw probes give up after this.
PROBE_TIMEOUT_S = 1.0

_MODE = re.compile(r"^Mode: (\S+)\s*$", re.M)


def parse_mode(srvr_text):
    """srvr's `Mode:` value ("leader", "follower", "standalone", ...), or
    None when the server says it is not serving."""
    if NOT_SERVING in srvr_text:
        return None
    m = _MODE.search(srvr_text)
    return m.group(1) if m else None


def parse_mntr(text):
    """mntr's `key<TAB>value` lines as a dict of strings."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("\t")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _distinct_free_ports(n):
    ports = []
    while len(ports) < n:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


class EnsembleNode(DataDirServer):
    """One member: its dir is <ensemble dir>/n<myid> (zoo.cfg, server-K.log,
    data/ with myid and version-2/)."""

    def __init__(self, kind, myid, node_dir, client_port, quorum_port, election_port, config, jvm_props=()):
        self.node_dir = Path(node_dir)
        self.node_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(kind, self.node_dir / "data", config=config, port=client_port, jvm_props=jvm_props)
        # conftest.Server made a temp dir of its own for zoo.cfg and logs;
        # keep everything of this node under the ensemble's dir instead.
        os.rmdir(self.dir)
        self.dir = self.node_dir
        self.config_path = self.dir / "zoo.cfg"
        self.log_path = self.dir / "server.log"
        self.myid = myid
        self.observer = False  # set by Ensemble for its observer nodes
        self.quorum_port = quorum_port
        self.election_port = election_port
        self.paused = False
        (self.data_dir / "myid").write_text("%d\n" % myid)

    # lifecycle -----------------------------------------------------------------

    def restart(self):
        """Starts the process again on the same dirs and ports; does not wait
        for it to join (Ensemble.wait_stable does)."""
        self.paused = False
        self.spawn()
        return self

    def kill9(self):
        self.paused = False
        super().kill9()

    def stop(self):
        if self.paused:
            self.resume()  # SIGTERM would wait behind SIGSTOP
        super().stop()

    def pause(self):
        """SIGSTOP: the process keeps its sockets but runs no code; peers and
        clients see silence, not a closed connection."""
        assert self.alive(), "%r is not running" % self
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True
        # The signal is asynchronous: wait until the kernel says "stopped",
        # so nothing the test does next can still reach a running process.
        wait_until(lambda: self._proc_state() in ("T", None), timeout=5, interval=0.001,
                   message="%r to stop" % self)

    def _proc_state(self):
        """The process's state letter from /proc (None if it is gone)."""
        try:
            stat = Path("/proc/%d/stat" % self.proc.pid).read_text()
        except OSError:
            return None
        return stat.rsplit(")", 1)[1].split()[0]

    def resume(self):
        """SIGCONT."""
        if self.alive():
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def running(self):
        """Alive and not paused: a node that should answer."""
        return self.alive() and not self.paused

    # probes --------------------------------------------------------------------

    def probe(self, word, timeout=PROBE_TIMEOUT_S):
        """A 4lw's reply, or None when the node does not answer."""
        try:
            return send_four_letter_word(self.host, self.port, word, timeout)
        except (OSError, TimeoutError):
            return None

    def mode(self):
        """srvr's Mode ("leader", "follower", ...) or None (not serving, down, silent)."""
        if not self.running():
            return None
        text = self.probe("srvr")
        return parse_mode(text) if text is not None else None

    def mntr(self):
        text = self.probe("mntr") if self.running() else None
        return parse_mntr(text) if text else {}

    def __repr__(self):
        state = "paused" if self.paused else ("up" if self.alive() else "down")
        return "<node %d %s %s %s>" % (self.myid, self.kind, self.hosts, state)


class Ensemble:
    """`size` voting nodes of one kind (myid 1..size) plus `observers`
    observers (the next ids, ZooKeeper's `:observer` lines and
    peerType=observer) under `tmpdir`; zoo.cfg keys in cfg override
    ENSEMBLE_CONFIG (None removes one)."""

    def __init__(self, kind, size, tmpdir, env=None, observers=0, **cfg):
        self.kind = kind
        self.size = size
        self.dir = Path(tmpdir)
        total = size + observers
        ports = _distinct_free_ports(3 * total)
        client_ports, quorum_ports, election_ports = ports[:total], ports[total:2 * total], ports[2 * total:]
        config = dict(ENSEMBLE_CONFIG)
        config.update(cfg)
        for myid in range(1, total + 1):
            role = ":observer" if myid > size else ""
            config["server.%d" % myid] = "%s:%d:%d%s" % (HOST, quorum_ports[myid - 1], election_ports[myid - 1], role)
        jvm_props = ZK_ENSEMBLE_JVM_PROPS if kind == "zookeeper" else ()
        self.nodes = []
        for myid in range(1, total + 1):
            node_config = dict(config, peerType="observer") if myid > size else dict(config)
            if kind == "paddock":
                for key, value in conftest.paddock_transport_config(myid).items():
                    node_config.setdefault(key, value)  # a test's own choice wins
            node = EnsembleNode(kind, myid, self.dir / ("n%d" % myid), client_ports[myid - 1], quorum_ports[myid - 1],
                                election_ports[myid - 1], node_config, jvm_props)
            node.observer = myid > size
            node.env = dict(env or {})
            self.nodes.append(node)

    # lifecycle ------------------------------------------------------------------

    def start(self, timeout=START_DEADLINE_S):
        """Starts every node and waits until one leads and the rest follow."""
        try:
            for node in self.nodes:
                node.spawn()
            self.wait_stable(timeout=timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """SIGTERM to every live node at once, then waits (SIGKILL after
        conftest's deadline).  The node dirs stay (they are the caller's)."""
        live = [n for n in self.nodes if n.alive()]
        for node in live:
            if node.paused:
                node.resume()
            node.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_DEADLINE_S
        for node in live:
            try:
                node.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for node in self.nodes:
            node.stop()  # kills stragglers, closes logs, forgets them

    # naming ---------------------------------------------------------------------

    def node(self, myid):
        return self.nodes[myid - 1]

    @property
    def hosts(self):
        """A connect string listing every node."""
        return ",".join(n.hosts for n in self.nodes)

    def hosts_of(self, nodes):
        return ",".join(n.hosts for n in nodes)

    def running(self):
        return [n for n in self.nodes if n.running()]

    # roles ----------------------------------------------------------------------

    def mode(self, node):
        return node.mode()

    def modes(self, nodes=None):
        """{myid: mode} of the given (default: running) nodes, probed now."""
        return {n.myid: n.mode() for n in (self.running() if nodes is None else nodes)}

    def stable(self, nodes=None, synced=True):
        """The leader if, right now, exactly one of `nodes` (default: every
        running node) leads, the others follow, and (if synced) the leader
        counts every one of them as a synced follower; else None."""
        nodes = self.running() if nodes is None else list(nodes)
        modes = self.modes(nodes)
        leaders = [n for n in nodes if modes[n.myid] == "leader"]
        if len(leaders) != 1 or any(modes[n.myid] != ("observer" if n.observer else "follower")
                                    for n in nodes if n is not leaders[0]):
            return None
        leader = leaders[0]
        if synced:
            observing = len([n for n in nodes if n.observer])
            counts = leader.mntr()
            synced_followers, synced_observers = counts.get("zk_synced_followers"), counts.get("zk_synced_observers", "0")
            if synced_followers is None or int(synced_followers) < len(nodes) - 1 - observing \
                    or int(synced_observers) < observing:
                return None
        return leader

    def wait_stable(self, nodes=None, timeout=STABLE_DEADLINE_S, synced=True):
        """Polls until stable(nodes, synced); returns the leader."""
        deadline = time.monotonic() + timeout
        while True:
            for node in self.nodes:
                if node.proc is not None and not node.alive() and node in conftest._live_servers:
                    raise AssertionError("%r exited with %s\n%s" % (node, node.proc.returncode, node.log_tail()))
            leader = self.stable(nodes, synced)
            if leader is not None:
                return leader
            if time.monotonic() >= deadline:
                raise AssertionError("ensemble not stable within %.0fs: %s\n%s"
                                     % (timeout, self.describe(nodes), self.log_tails()))
            time.sleep(0.05)

    def leader(self, timeout=STABLE_DEADLINE_S):
        """The leader of the running nodes, once they are stable."""
        return self.wait_stable(timeout=timeout)

    def followers(self, timeout=STABLE_DEADLINE_S):
        leader = self.wait_stable(timeout=timeout)
        return [n for n in self.running() if n is not leader and not n.observer]

    def observers(self):
        return [n for n in self.nodes if n.observer]

    def serving(self, node):
        """Whether the node accepts sessions (srvr shows a Mode)."""
        return node.mode() is not None

    # diagnostics ----------------------------------------------------------------

    def describe(self, nodes=None):
        nodes = self.nodes if nodes is None else nodes
        return ", ".join("%r mode=%s" % (n, n.mode()) for n in nodes)

    def log_tails(self, lines=25):
        return "\n".join(n.log_tail(lines) for n in self.nodes if n.starts)

    def __repr__(self):
        return "<Ensemble %s x%d %s>" % (self.kind, self.size, self.dir)


def kazoo(hosts, timeout=6.0, **kw):
    """A started KazooClient on a connect string (one node's or all), with
    processes.FAST_RECONNECT."""
    from kazoo.client import KazooClient

    kw.setdefault("connection_retry", dict(FAST_RECONNECT))
    client = KazooClient(hosts=hosts, timeout=timeout, **kw)
    client.start(timeout=30)
    return client


def paddock_cluster(*args):
    """Runs `paddock cluster <args>` from the repository root (the shipped conf/ folders)."""
    return subprocess.run([conftest.PADDOCK_BIN, "cluster", *args], cwd=str(conftest.REPO), capture_output=True,
                          text=True, timeout=120)


def assert_replicated(writer_hosts, reader_hosts, path, data):
    """Creates path on one connect string and reads it back, after a sync, on another."""
    from processes import close_kazoo

    writer, reader = kazoo(writer_hosts), kazoo(reader_hosts)
    try:
        writer.create(path, data)
        reader.sync(path)
        assert reader.get(path)[0] == data
    finally:
        close_kazoo(writer)
        close_kazoo(reader)


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module", params=conftest.KINDS, ids=conftest.KINDS)
def ensemble_kind(request):
    return request.param


@pytest.fixture
def ensemble3(ensemble_kind, tmp_path):
    ens = Ensemble(ensemble_kind, 3, tmp_path / "ens3").start()
    yield ens
    ens.stop()


@pytest.fixture
def ensemble5(ensemble_kind, tmp_path):
    ens = Ensemble(ensemble_kind, 5, tmp_path / "ens5").start()
    yield ens
    ens.stop()


@pytest.fixture
def make_ensemble(ensemble_kind, tmp_path):
    """make_ensemble(size, **zoo_cfg) -> a started fresh Ensemble of the
    test's kind under tmp_path, stopped at teardown."""
    counter = [0]

    def create(size, **cfg):
        counter[0] += 1
        return Ensemble(ensemble_kind, size, tmp_path / ("ens%d-%d" % (size, counter[0])), **cfg).start()

    yield from tracked(create, Ensemble.stop)


def _close_quietly(client):
    try:
        client.stop()
    except Exception:  # noqa: BLE001  (its servers may be gone)
        pass
    finally:
        client.close()


@pytest.fixture
def ensemble_clients():
    yield from tracked(kazoo, _close_quietly)
