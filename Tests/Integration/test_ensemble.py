"""Replicated ensembles (ZAB): elections, writes through followers, sessions
that live on one node and move to another, crashes of the leader, lost
proposals, partitions, and convergence afterwards.

Every test runs against each kind in PADDOCK_SERVERS with fresh ensembles of
real processes on loopback (ensemble.py); Apache ZooKeeper 3.8 is the oracle.
Only what clients and the four-letter words show is checked (srvr's Mode,
mntr's zk_server_state / zk_synced_followers, data, Stat), never log text.

Time is short everywhere: tickTime=200 ms, so a follower that loses its leader
and a leader that loses its quorum give up after syncLimit=5 ticks (1 s), and
elections take a fraction of a second.  Everything waits by polling with a
deadline; the only deliberate wait is the idle period of the ping test.
"""

import os
import shutil
import subprocess
import threading
import time
import types

import pytest
from kazoo.exceptions import (
    ConnectionClosedError,
    ConnectionLoss,
    OperationTimeoutError,
    SessionExpiredError,
)
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.protocol.states import KazooState

import conftest
import jute
from conftest import REPO
from ensemble import (  # noqa: F401  (fixtures are used by name)
    assert_replicated,
    ensemble3,
    ensemble5,
    ensemble_clients,
    ensemble_kind,
    kazoo,
    make_ensemble,
    parse_mntr,
    parse_mode,
)
from processes import close_kazoo, data_files, log_records, record_zxid, run_in_threads, stat_tuple, wait_until

# How a request may end when its server dies, steps down or loses its
# leader: the outcome is unknown (it may or may not have been applied).
UNKNOWN_OUTCOME = (ConnectionLoss, ConnectionClosedError, SessionExpiredError, KazooTimeoutError,
                   OperationTimeoutError)


# --- helpers ---------------------------------------------------------------------------


def read_tree(client, root):
    """{path: (data, stat fields, sorted children)} for root and everything
    under it, level by level with pipelined requests."""
    out = {}
    level = [root]
    while level:
        pending = [(p, client.get_async(p), client.get_children_async(p)) for p in level]
        level = []
        for path, data_result, children_result in pending:
            data, stat = data_result.get(timeout=30)
            children = sorted(children_result.get(timeout=30))
            out[path] = (data, stat_tuple(stat), children)
            level += [path.rstrip("/") + "/" + c for c in children]
    return out


def synced_tree(node, root):
    """The tree under root as `node` serves it after a sync (a fresh session
    connected to that node only)."""
    client = kazoo(node.hosts)
    try:
        client.sync(root)
        return read_tree(client, root)
    finally:
        close_kazoo(client)


def tree_differences(expected, actual, limit=10):
    problems = []
    for path in sorted(set(expected) | set(actual)):
        if path not in actual:
            problems.append("%s: missing" % path)
        elif path not in expected:
            problems.append("%s: unexpected" % path)
        elif expected[path] != actual[path]:
            e, a = expected[path], actual[path]
            if e[0] != a[0]:
                problems.append("%s: data %r != %r" % (path, e[0][:40], a[0][:40]))
            fields = ["%s %s != %s" % (f, e[1][f], a[1][f]) for f in e[1] if e[1][f] != a[1][f]]
            if fields:
                problems.append("%s: stat %s" % (path, ", ".join(fields)))
            if e[2] != a[2]:
                problems.append("%s: children differ (%d vs %d)" % (path, len(e[2]), len(a[2])))
        if len(problems) >= limit:
            break
    return problems


def converged_tree(ens, root, nodes=None, timeout=30.0):
    """Waits until every node (default: every running one) serves the same
    tree under root after a sync; returns it.  Polls because a request whose
    client went away mid-flight may still be committed a moment later."""
    nodes = ens.running() if nodes is None else nodes
    last = {}

    def same():
        trees = [synced_tree(n, root) for n in nodes]
        last["problems"] = {n.myid: tree_differences(trees[0], t) for n, t in zip(nodes[1:], trees[1:])}
        return trees[0] if not any(last["problems"].values()) else None

    try:
        return wait_until(same, timeout=timeout, interval=0.2, message="identical trees under %s" % root)
    except AssertionError as e:
        raise AssertionError("%s; differences from node %d: %r" % (e, nodes[0].myid, last.get("problems")))


def exists_on(node, path):
    """exists() on one node after a sync: the Stat or None."""
    client = kazoo(node.hosts)
    try:
        client.sync(path)
        return client.exists(path)
    finally:
        close_kazoo(client)


def exists_everywhere(ens, path):
    """{myid: Stat or None} over the running nodes, each after a sync."""
    return {n.myid: exists_on(n, path) for n in ens.running()}


class Writers:
    """`n` sessions on one connect string, each creating fresh nodes
    root/w<i>-<k> one at a time (paced, so trees stay small).  A create counts
    as acknowledged only when its reply arrived; one that ended with a lost
    connection is "unknown" (it may or may not exist).  A path is never
    reused, so any other error is a server bug."""

    def __init__(self, hosts, root, n=3, timeout=6.0, pace_s=0.01):
        self.root = root
        self.pace_s = pace_s
        self.clients = [kazoo(hosts, timeout=timeout) for _ in range(n)]
        self.lock = threading.Lock()
        self.acked = {}
        self.unknown = set()
        self.unexpected = []
        self.stop_event = threading.Event()
        self.threads = []

    def start(self):
        self.threads = run_in_threads(self._run, len(self.clients))
        return self

    def count(self):
        with self.lock:
            return len(self.acked)

    def wait_for(self, more, timeout=30.0, what="acknowledged writes"):
        """Waits until `more` writes beyond the current count are acknowledged."""
        target = self.count() + more
        wait_until(lambda: self.count() >= target or self.unexpected, timeout=timeout, interval=0.02,
                   message="%d more %s (have %d)" % (more, what, self.count()))
        assert not self.unexpected, self.unexpected[:5]

    def _run(self, i):
        client = self.clients[i]
        k = 0
        while not self.stop_event.is_set():
            path = "%s/w%d-%06d" % (self.root, i, k)
            data = path.encode()
            k += 1
            try:
                client.create(path, data)
            except UNKNOWN_OUTCOME:
                with self.lock:
                    self.unknown.add(path)
                self.stop_event.wait(0.02)  # back off while the client reconnects
                continue
            except Exception as e:  # noqa: BLE001  (recorded, then asserted on)
                with self.lock:
                    self.unexpected.append((path, repr(e)))
                return
            with self.lock:
                self.acked[path] = data
            self.stop_event.wait(self.pace_s)

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(30)
        assert not [t for t in self.threads if t.is_alive()], "writer threads still running"
        for client in self.clients:
            close_kazoo(client)
        assert not self.unexpected, "writes failed unexpectedly: %r" % self.unexpected[:5]

    def verify(self, tree):
        """Every acknowledged write is in tree with its data; nothing there
        that nobody tried to write; each session's acknowledged writes were
        committed in the order it made them (zxids rising across the
        failover).  Returns the epochs (zxid >> 32) of the acknowledged writes."""
        missing = [p for p, d in self.acked.items() if p not in tree or tree[p][0] != d]
        assert not missing, "%d acknowledged writes missing or wrong, e.g. %r" % (len(missing), sorted(missing)[:5])
        strays = [p for p in tree if p != self.root and p not in self.acked and p not in self.unknown]
        assert not strays, "nodes nobody wrote: %r" % strays[:5]
        for i in range(len(self.clients)):
            prefix = "%s/w%d-" % (self.root, i)
            mine = sorted(p for p in self.acked if p.startswith(prefix))
            out_of_order = [(a, b) for a, b in zip(mine, mine[1:]) if tree[a][1]["czxid"] >= tree[b][1]["czxid"]]
            assert not out_of_order, "session %d's writes committed out of order: %r" % (i, out_of_order[:3])
        return sorted({tree[p][1]["czxid"] >> 32 for p in self.acked})


def mntr_state(node):
    return parse_mntr(node.probe("mntr") or "").get("zk_server_state")


# --- roles -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [3, 5])
def test_one_leader_and_the_rest_follow(make_ensemble, size):
    ens = make_ensemble(size)
    leader = ens.leader()
    followers = ens.followers()
    assert len(followers) == size - 1 and leader not in followers

    assert parse_mode(leader.probe("srvr")) == "leader"
    assert mntr_state(leader) == "leader"
    assert int(leader.mntr()["zk_synced_followers"]) == size - 1
    for f in followers:
        assert parse_mode(f.probe("srvr")) == "follower"
        assert mntr_state(f) == "follower"
    assert sorted(n.myid for n in [leader] + followers) == list(range(1, size + 1))


# --- writes and reads through any node -------------------------------------------------


def test_write_through_a_follower_is_read_everywhere_after_sync(ensemble3, ensemble_clients):
    ens = ensemble3
    leader = ens.leader()
    follower, other = ens.followers()
    writer = ensemble_clients(follower.hosts)

    writer.create("/w", b"root")
    writer.create("/w/a", b"via follower")
    # A session reads its own writes, on a follower too, without a sync.
    assert writer.get("/w/a")[0] == b"via follower"
    writer.set("/w/a", b"changed")
    data, stat = writer.get("/w/a")
    assert (data, stat.version) == (b"changed", 1)
    assert writer.exists("/w/a").mzxid == stat.mzxid

    # Sequential names come from one counter, whichever node takes the create.
    clients = {n.myid: ensemble_clients(n.hosts) for n in ens.nodes}
    writer.create("/w/s")
    order = [follower, leader, other, other, follower, leader]
    names = [clients[n.myid].create("/w/s/n-", str(n.myid).encode(), sequence=True) for n in order]
    assert names == ["/w/s/n-%010d" % i for i in range(len(order))], names

    trees = {}
    for n in ens.nodes:
        c = clients[n.myid]
        c.sync("/w")
        assert c.get("/w/a")[0] == b"changed", "node %d" % n.myid
        assert sorted(c.get_children("/w")) == ["a", "s"]
        assert sorted(c.get_children("/w/s")) == [p.rsplit("/", 1)[1] for p in names]
        for name, n_from in zip(names, order):
            assert c.get(name)[0] == str(n_from.myid).encode()
        trees[n.myid] = read_tree(c, "/w")
    first = trees[ens.nodes[0].myid]
    for myid, tree in trees.items():
        assert not tree_differences(first, tree), (myid, tree_differences(first, tree))


def test_c_client_writes_through_a_follower_and_reads_on_another_node(ensemble3, ensemble_clients, zkc_factory):
    ens = ensemble3
    leader = ens.leader()
    follower, other = ens.followers()
    writer = zkc_factory(follower)
    r = writer.do("create2 /cc hello 0")
    assert (r["rc"], r["path"], r["version"]) == (0, "/cc", 0)
    created = r
    r = writer.do("set /cc world 0")
    assert (r["rc"], r["version"]) == (0, 1)
    assert writer.do("get /cc")["data"] == b"world"  # own write, no sync
    assert writer.do("create /cc/e x 1")["rc"] == 0  # an ephemeral of the C session
    session_id = int(writer.do("session")["id"], 16)

    for reader_node in (other, leader):
        ensemble_clients(reader_node.hosts).sync("/cc")  # catches that node up
        reader = zkc_factory(reader_node)
        r = reader.do("get /cc")
        assert (r["rc"], r["data"], r["version"], r["czxid"]) == (0, b"world", 1, created["czxid"])
        r = reader.do("exists /cc/e")
        assert r["rc"] == 0 and r["ephemeralOwner"] == session_id
        reader.close()

    assert writer.close()["rc"] == 0
    wait_until(lambda: all(s is None for s in exists_everywhere(ens, "/cc/e").values()), timeout=15,
               message="the C session's ephemeral to vanish everywhere")


# --- sessions --------------------------------------------------------------------------


def test_ephemeral_created_via_a_follower_vanishes_everywhere_when_its_session_closes(ensemble3, ensemble_clients):
    ens = ensemble3
    follower = ens.followers()[0]
    owner = ensemble_clients(follower.hosts)
    owner.create("/eph", b"mine", ephemeral=True)
    session_id = owner.client_id[0]
    for myid, stat in exists_everywhere(ens, "/eph").items():
        assert stat is not None and stat.ephemeralOwner == session_id, myid

    owner.stop()
    wait_until(lambda: all(s is None for s in exists_everywhere(ens, "/eph").values()), timeout=15,
               message="the ephemeral to vanish on every node")


def test_a_session_moves_between_nodes_and_keeps_its_ephemeral(ensemble3, ensemble_clients):
    ens = ensemble3
    leader = ens.leader()
    first, last = ens.followers()
    # Born on a follower; its connection then drops without a closeSession.
    raw = jute.connected_client(first.host, first.port, timeout_ms=6000)
    session_id, passwd = raw.session.session_id, raw.session.passwd
    rep, _ = raw.create("/moving", b"on %d" % first.myid, flags=jute.CreateMode.EPHEMERAL)
    assert rep.err == 0
    raw.close_socket()

    # Resumed on the leader with the same id and password (raw again, so
    # it can drop once more without closing).
    raw = jute.connected_client(leader.host, leader.port, timeout_ms=6000, session_id=session_id, passwd=passwd)
    assert raw.session.session_id == session_id
    rep, (data, stat) = raw.get_data("/moving")
    assert rep.err == 0 and stat.ephemeralOwner == session_id
    rep, _ = raw.create("/moving2", b"on leader", flags=jute.CreateMode.EPHEMERAL)
    assert rep.err == 0
    raw.close_socket()

    # And on the other follower through kazoo's client_id.
    client = ensemble_clients(last.hosts, client_id=(session_id, passwd))
    assert client.client_id[0] == session_id
    client.create("/moving3", b"on follower", ephemeral=True)
    for path in ("/moving", "/moving2", "/moving3"):
        for myid, stat in exists_everywhere(ens, path).items():
            assert stat is not None and stat.ephemeralOwner == session_id, (path, myid)

    # A wrong password does not get the session.
    bad = jute.RawClient(first.host, first.port)
    try:
        resp = bad.connect(6000, session_id=session_id, passwd=bytes(16))
        assert resp.session_id == 0 or resp.timeout <= 0, resp
    except jute.ConnectionClosed:
        pass
    finally:
        bad.close_socket()
    assert client.exists("/moving") is not None

    client.stop()
    gone = lambda: all(s is None for p in ("/moving", "/moving2", "/moving3")  # noqa: E731
                       for s in exists_everywhere(ens, p).values())
    wait_until(gone, timeout=15, message="the moved session's ephemerals to vanish everywhere")


SHORT_SESSION_S = 2.4  # 12 ticks: well above minSessionTimeout (2 ticks), and
# long enough for kazoo's ping deadline (read timeout / 2 minus up to 0.4 s of jitter)
EXPIRING_SESSION_MS = 1000


def test_idle_sessions_on_followers_live_and_expired_ones_lose_their_ephemerals(ensemble3, ensemble_clients):
    ens = ensemble3
    followers = ens.followers()
    idle = []
    for f in followers:
        client = ensemble_clients(f.hosts, timeout=SHORT_SESSION_S)
        states = []
        client.add_listener(states.append)
        path = "/idle-%d" % f.myid
        client.create(path, b"", ephemeral=True)
        idle.append((client, client.client_id[0], path, states))
        assert client._session_timeout <= SHORT_SESSION_S * 1000

    # A session that stops pinging (its connection drops, no closeSession).
    raw = jute.connected_client(followers[0].host, followers[0].port, timeout_ms=EXPIRING_SESSION_MS)
    assert raw.create("/doomed", b"", flags=jute.CreateMode.EPHEMERAL)[0].err == 0
    raw.close_socket()
    dropped = time.monotonic()

    wait_until(lambda: all(s is None for s in exists_everywhere(ens, "/doomed").values()), timeout=15,
               message="the expired session's ephemeral to vanish on every node")
    expired_after = time.monotonic() - dropped
    assert expired_after >= EXPIRING_SESSION_MS / 1000.0 * 0.5, "expired after only %.2fs" % expired_after

    # Idle (pings only) for several session timeouts, counted from the start.
    idle_s = 3 * SHORT_SESSION_S
    time.sleep(max(0.0, idle_s - (time.monotonic() - dropped)))

    for client, session_id, path, states in idle:
        assert states == [], "session 0x%x changed state while idle: %r" % (session_id, states)
        assert client.state == KazooState.CONNECTED and client.client_id[0] == session_id
        for myid, stat in exists_everywhere(ens, path).items():
            assert stat is not None and stat.ephemeralOwner == session_id, (path, myid)
        client.set(path, b"still here")


# --- crashes ---------------------------------------------------------------------------


class CWriter:
    """One C client session (c/zkc.c over libzookeeper_mt, connect string of
    every node) creating root/c-<k> one at a time, classified as Writers does:
    rc 0 acknowledged; a lost connection, timeout or expiry unknown; anything
    else a server bug."""

    UNKNOWN_RC = (-4, -7, -112)  # ZCONNECTIONLOSS, ZOPERATIONTIMEOUT, ZSESSIONEXPIRED

    def __init__(self, zkc_factory, hosts, root):
        self.root = root
        self.zkc = zkc_factory(types.SimpleNamespace(hosts=hosts))
        self.acked, self.unknown, self.unexpected = set(), set(), []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        k = 0
        while not self.stop_event.is_set():
            path = "%s/c-%06d" % (self.root, k)
            k += 1
            rc = self.zkc.do("create %s c 0" % path)["rc"]
            if rc == 0:
                self.acked.add(path)
            elif rc in self.UNKNOWN_RC:
                self.unknown.add(path)
                self.stop_event.wait(0.05)
            else:
                self.unexpected.append((path, rc))
                return

    def stop(self):
        self.stop_event.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the C writer is still running"
        assert not self.unexpected, self.unexpected[:5]

    def verify(self, tree):
        present = {path for path in tree if path != self.root}
        assert self.acked <= present, "acknowledged C writes lost: %r" % sorted(self.acked - present)[:5]
        assert present <= self.acked | self.unknown, "nodes nobody wrote: %r" % sorted(present - self.acked - self.unknown)[:5]


def test_kill9_the_leader_under_load_keeps_every_acknowledged_write(make_ensemble, zkc_factory):
    ens = make_ensemble(3)
    old = ens.leader()
    setup = kazoo(ens.hosts)
    setup.create("/load")
    setup.create("/cload")
    close_kazoo(setup)
    # Unpaced, so a create is on the wire at the kill whatever the server's speed.
    writers = Writers(ens.hosts, "/load", n=3, pace_s=0).start()
    c_writer = CWriter(zkc_factory, ens.hosts, "/cload")
    try:
        writers.wait_for(60)
        old.kill9()
        killed = time.monotonic()
        rest = [n for n in ens.nodes if n is not old]
        new = ens.wait_stable(rest)
        elected_s = time.monotonic() - killed
        assert new is not old and new in rest
        writers.wait_for(60, what="writes acknowledged by the new leader's quorum")

        old.restart()
        assert ens.wait_stable() is new
        assert ens.mode(old) == "follower"
        writers.wait_for(30)
        c_acked = len(c_writer.acked)
        wait_until(lambda: len(c_writer.acked) > c_acked, timeout=30, message="the C client writing again")
    finally:
        writers.stop()
        c_writer.stop()
    assert writers.unknown, "no write was in flight at the kill; the test proves little"
    c_writer.verify(converged_tree(ens, "/cload"))
    tree = converged_tree(ens, "/load")
    epochs = writers.verify(tree)
    assert len(epochs) >= 2, "acknowledged writes all in epochs %r: the new leader took none" % epochs
    print("leader %d killed; %d elected in %.2fs; %d acknowledged, %d unknown"
          % (old.myid, new.myid, elected_s, len(writers.acked), len(writers.unknown)))


def propose_to_frozen_followers_then_kill_the_leader(ens):
    """Freezes both followers (SIGSTOP), has the leader propose a create that
    cannot be acknowledged, waits until the leader's txn log holds it, and
    kills the leader (-9).  Returns (old leader, followers, the create's
    kazoo result).  The followers stay frozen; the proposal sits unread in
    their sockets' kernel buffers."""
    old = ens.leader()
    followers = ens.followers()
    client = kazoo(old.hosts)
    client.create("/lost", b"")
    committed_zxid = client.exists("/lost").czxid

    def logged_beyond_committed():
        for _, log in data_files(old.log_dir, "log"):
            if any(record_zxid(log, off) > committed_zxid for off, _ in log_records(log)):
                return True
        return False

    for f in followers:
        f.pause()
    pending = client.create_async("/lost/never", b"unacknowledged")
    wait_until(logged_beyond_committed, timeout=5, message="the leader to log its proposal")
    assert not pending.ready(), "a create was acknowledged with both followers frozen"
    old.kill9()
    with pytest.raises(UNKNOWN_OUTCOME):
        pending.get(timeout=15)
    close_kazoo(client)
    return old, followers


# syncLimit=25 (5 s): the leader keeps leading with both followers frozen,
# its proposal pending, long enough to see it logged and kill the leader.
PATIENT_LEADER = dict(syncLimit=25)


def test_a_proposal_no_follower_read_is_dropped(make_ensemble, ensemble_clients):
    ens = make_ensemble(3, **PATIENT_LEADER)
    old, followers = propose_to_frozen_followers_then_kill_the_leader(ens)
    # The followers die frozen, the proposal unread: only the dead leader
    # ever had it.  They come back from their disks and elect one of them.
    for f in followers:
        f.kill9()
    for f in followers:
        f.restart()
    new = ens.wait_stable(followers)
    assert new in followers
    old.restart()
    assert ens.wait_stable() is new
    assert ens.mode(old) == "follower"

    for myid, stat in exists_everywhere(ens, "/lost/never").items():
        assert stat is None, "node %d holds a create only the dead leader logged" % myid
    # The ensemble writes on, through the old leader too.
    ensemble_clients(old.hosts).create("/lost/after", b"x")
    tree = converged_tree(ens, "/lost")
    assert sorted(tree) == ["/lost", "/lost/after"]


def test_a_proposal_frozen_followers_read_on_waking_is_decided_once(make_ensemble, ensemble_clients):
    ens = make_ensemble(3, **PATIENT_LEADER)
    old, followers = propose_to_frozen_followers_then_kill_the_leader(ens)
    # Thawed, each follower reads what its socket holds: the proposal, then
    # the end of the dead leader's connection.  Having logged it, they may
    # commit it under the next leader (ZooKeeper 3.8 does) or drop it; the
    # client was never told either way.  Every node must agree.
    for f in followers:
        f.resume()
    new = ens.wait_stable(followers)
    assert new in followers
    old.restart()
    assert ens.wait_stable() is new
    assert ens.mode(old) == "follower"

    ensemble_clients(old.hosts).create("/lost/after", b"x")
    tree = converged_tree(ens, "/lost")
    assert sorted(set(tree) - {"/lost/never"}) == ["/lost", "/lost/after"]
    if "/lost/never" in tree:
        assert tree["/lost/never"][0] == b"unacknowledged"
        assert tree["/lost/never"][1]["czxid"] < tree["/lost/after"][1]["czxid"]
    print("the proposal frozen followers woke up to was %s" % ("committed" if "/lost/never" in tree else "dropped"))


def test_a_write_a_quorum_logged_survives_its_leader_dying_before_commit(make_ensemble, ensemble_kind):
    """ZAB's first recovery guarantee: the leader dies after a quorum has the
    proposal on disk but before any COMMIT left it (paddock's crash site; kill
    -9 from outside cannot hit that step).  The next leader commits it, and
    the old leader, back, agrees."""
    if ensemble_kind != "paddock":
        pytest.skip("needs paddock's PADDOCK_FAULT crash site")
    ens = make_ensemble(3, env={"PADDOCK_FAULT": "crash-before-commit:/doomed"})
    old = ens.leader()
    followers = ens.followers()
    client = kazoo(ens.hosts_of(followers))
    try:
        client.create("/before", b"")
        with pytest.raises(UNKNOWN_OUTCOME):
            client.create("/doomed", b"logged by a quorum")
    finally:
        close_kazoo(client)
    wait_until(lambda: not old.alive(), timeout=10, message="the leader to die at the crash site")
    old.kill9()  # reap it: it died by its own SIGKILL
    new = ens.wait_stable(followers)
    assert new in followers
    for node in followers:
        doomed, before = exists_on(node, "/doomed"), exists_on(node, "/before")
        assert doomed is not None, "node %d lost a write a quorum had logged" % node.myid
        # The old leader's own proposal, committed as it was: the epoch of the write before it.
        assert doomed.czxid >> 32 == before.czxid >> 32
    old.restart()
    assert ens.wait_stable() is new
    tree = converged_tree(ens, "/")
    assert "/doomed" in tree and "/before" in tree


def test_a_frozen_leader_is_replaced_and_cannot_acknowledge_when_it_wakes(ensemble3, ensemble_clients):
    ens = ensemble3
    old = ens.leader()
    followers = ens.followers()
    ensemble_clients(old.hosts).create("/stale", b"")
    # A session on the leader whose request will wait in the frozen
    # process's socket buffer.
    raw = jute.connected_client(old.host, old.port, timeout_ms=20000)

    old.pause()
    try:
        # Its followers hear nothing for syncLimit ticks and elect one of them.
        new = ens.wait_stable(followers)
        assert new in followers
        ensemble_clients(ens.hosts_of(followers)).create("/stale/during", b"new epoch")
        xid = raw.send(jute.Op.CREATE, jute.create_body("/stale/never", b"to a stale leader"))
    finally:
        old.resume()
    # Awake, it still believes it leads for a moment: whatever it does with
    # the request, it must not acknowledge it.
    try:
        reply = raw.wait_reply(xid, timeout=15)
        assert reply.err != 0, "a frozen ex-leader acknowledged a write after the ensemble moved on"
        outcome = "error %d" % reply.err
    except (jute.ConnectionClosed, OSError, TimeoutError) as e:
        outcome = "no reply (%s)" % type(e).__name__
    finally:
        raw.close_socket()
    print("a request to the frozen ex-leader ended with %s" % outcome)

    assert ens.wait_stable() is new
    assert ens.mode(old) == "follower"
    tree = converged_tree(ens, "/stale")
    assert sorted(tree) == ["/stale", "/stale/during"]


def test_a_follower_back_after_more_than_the_leaders_memory_catches_up_by_snapshot(ensemble3):
    """A follower that missed more writes than the leader keeps in memory for
    DIFF (500, ZooKeeper's commitLogCount) is brought back by SNAP: the whole
    tree streamed, then the writes that follow."""
    ens = ensemble3
    away = ens.followers()[0]
    away.kill9()
    client = kazoo(ens.hosts_of(ens.running()))
    try:
        client.create("/bulk")
        pending = [client.create_async("/bulk/n%04d" % i, b"v%d" % i) for i in range(700)]
        for result in pending:
            result.get(timeout=30)
        away.restart()
        ens.wait_stable()
        client.set("/bulk", b"after the catch-up")
    finally:
        close_kazoo(client)
    tree = converged_tree(ens, "/bulk")
    assert len(tree) == 701 and tree["/bulk"][0] == b"after the catch-up"


def test_five_nodes_survive_losing_two_and_converge(ensemble5):
    ens = ensemble5
    old_leader = ens.leader()
    victim = ens.followers()[0]
    setup = kazoo(ens.hosts)
    setup.create("/five")
    close_kazoo(setup)
    writers = Writers(ens.hosts, "/five", n=3).start()
    try:
        writers.wait_for(60)
        old_leader.kill9()
        victim.kill9()
        rest = [n for n in ens.nodes if n not in (old_leader, victim)]
        new = ens.wait_stable(rest)
        assert new in rest
        writers.wait_for(60, what="writes acknowledged by three of five")

        victim.restart()
        old_leader.restart()
        assert ens.wait_stable() is new
        assert ens.mode(old_leader) == ens.mode(victim) == "follower"
        writers.wait_for(30)
    finally:
        writers.stop()
    tree = converged_tree(ens, "/five")
    epochs = writers.verify(tree)
    assert len(epochs) >= 2, "acknowledged writes all in epochs %r: the new leader took none" % epochs


# --- partitions ------------------------------------------------------------------------


def test_a_minority_stops_taking_writes_and_recovers(ensemble3, ensemble_clients):
    ens = ensemble3
    leader = ens.leader()
    f1, f2 = ens.followers()
    on_leader = ensemble_clients(leader.hosts)
    on_f2 = ensemble_clients(f2.hosts)
    on_leader.create("/part", b"")

    f1.pause()
    try:
        # Two of three still form a quorum, through either of them.
        on_leader.create("/part/with-one-frozen", b"1")
        on_f2.create("/part/via-follower", b"2")
        assert ens.stable([leader, f2]) is leader

        f2.pause()
        attempt = on_leader.create_async("/part/alone", b"3")
        # The leader hears from no quorum for syncLimit ticks and stops
        # serving: the write is never acknowledged.
        wait_until(lambda: ens.mode(leader) is None, timeout=15,
                   message="the lone node to stop serving (srvr)")
        with pytest.raises(UNKNOWN_OUTCOME):
            attempt.get(timeout=15)
    finally:
        f1.resume()
        f2.resume()

    ens.wait_stable()
    after = kazoo(ens.hosts)
    try:
        after.create("/part/recovered", b"5")
    finally:
        close_kazoo(after)
    tree = converged_tree(ens, "/part")
    for path in ("/part/with-one-frozen", "/part/via-follower", "/part/recovered"):
        assert path in tree, path
    # /part/alone was logged by the lone leader but never acknowledged;
    # after the merge it is either committed by the next leader or dropped,
    # the same on every node (converged_tree checked that).
    print("the lone leader's unacknowledged create was %s" % ("committed" if "/part/alone" in tree else "dropped"))


# --- the shipped loopback ensemble ---------------------------------------------------------


def test_the_shipped_conf_ensemble_starts_with_one_command_and_replicates(ensemble_kind):
    """scripts/ensemble.sh up on conf/ensemble/zoo{1,2,3}.cfg (the README's
    one-liner) gives one leader and two followers on 127.0.0.1:2181-2183, a
    write on one node is read on another, and `down` stops them all."""
    if ensemble_kind != "paddock":
        pytest.skip("scripts/ensemble.sh runs paddock")
    script = str(REPO / "scripts" / "ensemble.sh")
    data = REPO / "data" / "ensemble"
    if data.exists():
        pytest.skip("%s exists: an ensemble of the repository may be running" % data)
    env = dict(os.environ, PADDOCK_BIN=conftest.PADDOCK_BIN)
    try:
        up = subprocess.run([script, "up"], env=env, capture_output=True, text=True, timeout=120)
        assert up.returncode == 0, up.stdout + up.stderr
        status = subprocess.run([script, "status"], env=env, capture_output=True, text=True, timeout=30).stdout
        assert status.count("Mode: leader") == 1 and status.count("Mode: follower") == 2, status
        assert_replicated("127.0.0.1:2181", "127.0.0.1:2183", "/shipped", b"replicated")
    finally:
        down = subprocess.run([script, "down"], env=env, capture_output=True, text=True, timeout=60)
        shutil.rmtree(data, ignore_errors=True)
    assert down.returncode == 0, down.stdout + down.stderr
    assert down.stdout.count("stopped") == 3, down.stdout


def test_quorum_ports_on_a_transport_of_their_own(make_ensemble):
    """paddock.quorum.transport gives the quorum and election ports their own
    transport instance (event loop); replication works the same.  ZooKeeper
    passes the unknown key on as a system property and ignores it."""
    ens = make_ensemble(3, **{"paddock.quorum.transport": "libuv"})
    follower, other = ens.followers()
    assert_replicated(follower.hosts, other.hosts, "/own-loop", b"replicated")
