"""Process-level durability: kill -9, restarts, snapshots, damaged files, purge.

Tests whose behaviour ZooKeeper 3.8 shares run against every kind in
PADDOCK_SERVERS (ZooKeeper is the oracle); tests of Paddock's own messages
and tools (torn-tail handling, `paddock purge`, `paddock snapshot dump`) run
on Paddock only.
"""

import collections
import re
import shutil
import subprocess
import threading
import time

import pytest
from kazoo.exceptions import ConnectionClosedError, ConnectionLoss, NoNodeError, SessionExpiredError
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.protocol.states import KazooState

from conftest import KINDS, ZK_CLASSPATH, tracked
from processes import (
    RECORD_OVERHEAD,
    DataDirServer,
    close_kazoo,
    data_files,
    diff_trees,
    flip_byte,
    kazoo_client,
    log_records,
    paddock_tool,
    parse_snapshot_dump,
    read_tree,
    record_zxid,
    run_in_threads,
    snapshot_complete,
    wait_until,
)

paddock_only = pytest.mark.skipif("paddock" not in KINDS, reason="Paddock's own behaviour; PADDOCK_SERVERS excludes paddock")

# Errors an in-flight request may end with when its server dies; anything
# else (BadVersion, NodeExists...) is a bug in the server or the test.
LOST = (ConnectionLoss, ConnectionClosedError, SessionExpiredError, KazooTimeoutError)


def only(*pairs):
    """Parameter sets whose first element (the server kind) is in PADDOCK_SERVERS.
    ZooKeeper runs only the tests (and variants) that check shared behaviour
    and are cheap enough for it: it is the oracle for the test, not the
    subject."""
    return [p for p in pairs if (p[0] if isinstance(p, tuple) else p) in KINDS]


@pytest.fixture
def servers(tmp_path):
    """servers(kind, data_dir=tmp_path/'data', **DataDirServer kwargs)."""
    yield from tracked(lambda kind, data_dir=None, **kw: DataDirServer(kind, data_dir or tmp_path / "data", **kw),
                       DataDirServer.cleanup)


# --- a concurrent write load that records what was acknowledged --------------------


def payload(path, version):
    """The data a node holds at `version`: a mismatch shows which write it came from."""
    return ("%s@%d:" % (path, version)).encode() + bytes(range(256))[version * 7 % 200:][:40]


class WriteLoad:
    """`nclients` sessions, each creating its own nodes and setting each of
    them `sets` times with the expected version, pipelining up to `window`
    requests.  A request counts as acknowledged only when its reply arrived;
    per session replies come in order, so acked[path] is the last version
    the server confirmed and attempted[path] the last one sent."""

    def __init__(self, clients, root, per_client, sets=2, window=48):
        self.clients = clients
        self.root = root
        self.per_client = per_client
        self.sets = sets
        self.window = window
        self.lock = threading.Lock()
        self.acked = {}
        self.attempted = {}
        self.ack_count = 0
        self.unexpected = []
        self.stop = threading.Event()
        self.threads = []

    def start(self):
        self.threads = run_in_threads(self._worker, len(self.clients))
        return self

    def join(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t for t in self.threads if t.is_alive()]
        assert not alive, "%d writer threads still running" % len(alive)
        assert not self.unexpected, "writes failed unexpectedly: %r" % self.unexpected[:5]

    def _settle(self, pending, path, version, result):
        try:
            result.get(timeout=20)
        except LOST:
            self.stop.set()
            return False
        except Exception as e:  # noqa: BLE001  (recorded, then asserted on)
            self.unexpected.append((path, version, repr(e)))
            self.stop.set()
            return False
        with self.lock:
            self.acked[path] = version
            self.ack_count += 1
        return True

    def _worker(self, i):
        client = self.clients[i]
        pending = collections.deque()
        try:
            for k in range(self.per_client):
                path = "%s/c%d-%05d" % (self.root, i, k)
                for version in range(self.sets + 1):
                    if self.stop.is_set():
                        return
                    with self.lock:
                        self.attempted[path] = version
                    if version == 0:
                        result = client.create_async(path, payload(path, 0))
                    else:
                        result = client.set_async(path, payload(path, version), version=version - 1)
                    pending.append((path, version, result))
                    while len(pending) > self.window:
                        if not self._settle(pending, *pending.popleft()):
                            return
            while pending:
                if not self._settle(pending, *pending.popleft()):
                    return
        except LOST:
            self.stop.set()  # the request could not even be queued

    def total_acked(self):
        with self.lock:
            return self.ack_count


def verify_load(client, load, exact):
    """Every acknowledged write is there; every node holds the data of the
    version its Stat reports, between the acknowledged and the attempted one
    (exactly the acknowledged one when nothing was in flight)."""
    paths = sorted(load.attempted)
    results = [(p, client.get_async(p)) for p in paths]
    problems = []
    present = 0
    for path, result in results:
        try:
            data, stat = result.get(timeout=30)
        except NoNodeError:
            if path in load.acked:
                problems.append("%s: acknowledged (version %d) but missing" % (path, load.acked[path]))
            continue
        present += 1
        if data != payload(path, stat.version):
            problems.append("%s: data %r does not belong to version %d" % (path, data[:30], stat.version))
        low = load.acked.get(path, 0)
        high = load.attempted[path]
        if exact and stat.version != load.acked.get(path, -1):
            problems.append("%s: version %d, acknowledged %s" % (path, stat.version, load.acked.get(path)))
        elif not low <= stat.version <= high:
            problems.append("%s: version %d outside acknowledged..attempted %d..%d" % (path, stat.version, low, high))
    children = set(client.get_children(load.root))
    strays = sorted(set("%s/%s" % (load.root, c) for c in children) - set(paths))
    if strays:
        problems.append("nodes nobody created: %r" % strays[:5])
    assert not problems, "%d problems after restart:\n%s" % (len(problems), "\n".join(problems[:20]))
    return present


NCLIENTS = 5


def start_load(srv, make_client, root, per_client, sets=2):
    admin = make_client(srv)
    admin.create(root)
    sessions = [make_client(srv) for _ in range(NCLIENTS)]
    return WriteLoad(sessions, root, per_client, sets).start(), sessions


def stop_sessions(sessions):
    """Ends the (now serverless) clients so none of them replays queued
    requests into the restarted server."""
    for client in sessions:
        close_kazoo(client)


@pytest.mark.parametrize("kind,log_dir", only(("paddock", "same"), ("paddock", "separate"), ("zookeeper", "same")))
def test_kill9_mid_stream_keeps_every_acknowledged_write(kind, servers, clients, tmp_path, log_dir):
    data_log_dir = tmp_path / "txnlog" if log_dir == "separate" else None
    srv = servers(kind, data_log_dir=data_log_dir).start()
    # Far more work than will be done: the kill lands in the middle of it.
    load, sessions = start_load(srv, clients, "/dur", per_client=4000)
    wait_until(lambda: load.total_acked() >= 2500, timeout=60, message="2500 acknowledged writes")
    srv.kill9()
    load.stop.set()
    stop_sessions(sessions)
    load.join()
    acked, attempted = load.total_acked(), sum(v + 1 for v in load.attempted.values())
    assert attempted > acked, "nothing was in flight at the kill; the test proves little"

    if log_dir == "separate":
        assert srv.txn_logs() and not data_files(srv.snap_dir, "log"), "txn logs belong in dataLogDir only"
        assert srv.snapshots() and not data_files(srv.log_dir, "snapshot"), "snapshots belong in dataDir only"

    srv.start()
    present = verify_load(clients(srv), load, exact=False)
    assert present >= len(load.acked)


@pytest.mark.parametrize("kind", only("paddock"))
def test_kill9_right_after_a_burst(kind, servers, clients):
    srv = servers(kind).start()
    load, sessions = start_load(srv, clients, "/burst", per_client=200, sets=2)
    load.join()  # every reply arrived
    srv.kill9()
    stop_sessions(sessions)
    assert len(load.acked) == NCLIENTS * 200 and set(load.acked.values()) == {2}

    srv.start()
    verify_load(clients(srv), load, exact=True)


# --- sessions across restarts -----------------------------------------------------

SESSION_CONFIG = {"tickTime": 500, "minSessionTimeout": 1000, "maxSessionTimeout": 20000}


@pytest.mark.parametrize("kind,how", only(("paddock", "sigterm"), ("paddock", "sigkill"), ("zookeeper", "sigterm")))
def test_restart_keeps_a_returning_session_and_its_ephemeral(kind, servers, clients, how):
    srv = servers(kind, config=SESSION_CONFIG).start()
    # Long enough for a JVM restart, short enough to wait out.
    holder = clients(srv, timeout=3.0 if kind == "paddock" else 4.0)
    states = []
    holder.add_listener(states.append)
    session_id = holder.client_id[0]
    holder.create("/eph", b"mine", ephemeral=True)
    timeout_s = holder._session_timeout / 1000.0

    if how == "sigkill":
        srv.kill9()
    else:
        srv.stop()
    wait_until(lambda: not holder.connected, timeout=10, message="the client to notice the restart")
    srv.start()
    wait_until(lambda: holder.connected, timeout=15, message="the client to reconnect")
    assert holder.client_id[0] == session_id
    assert KazooState.LOST not in states

    observer = clients(srv)
    stat = observer.exists("/eph")
    assert stat is not None and stat.ephemeralOwner == session_id
    # The session is live, not merely restored: it outlasts its timeout (a
    # restored session left alone expires within timeout + a tick or two).
    deleted = threading.Event()
    observer.exists("/eph", watch=lambda event: deleted.set())
    assert not deleted.wait(timeout_s + 1.5), "the returning session's ephemeral was deleted"
    assert holder.connected and holder.client_id[0] == session_id
    assert holder.get("/eph")[0] == b"mine"


@pytest.mark.parametrize("kind", only("paddock", "zookeeper"))
def test_restart_expires_a_session_that_does_not_return(kind, servers, clients):
    srv = servers(kind, config=SESSION_CONFIG).start()
    # Long enough for the server to come back and the observer to look before it expires.
    holder = kazoo_client(srv, timeout=2.0 if kind == "paddock" else 4.0)
    session_id = holder.client_id[0]
    holder.create("/gone", b"", ephemeral=True)
    holder.create("/kept", b"")

    srv.stop()
    close_kazoo(holder)  # server down: no closeSession reaches anyone
    srv.start()

    observer = clients(srv)
    deleted = threading.Event()
    stat = observer.exists("/gone", watch=lambda event: deleted.set())
    assert stat is not None and stat.ephemeralOwner == session_id, "the session was not restored"
    assert deleted.wait(20), "the restored session never expired"
    assert observer.exists("/gone") is None
    assert observer.exists("/kept") is not None


# --- snapshots ----------------------------------------------------------------------


def wait_snapshots(srv, count, timeout=30):
    """Until `count` snapshot files exist and the newest is whole; returns them."""
    def ready():
        snaps = srv.snapshots()
        if len(snaps) >= count and snapshot_complete(snaps[-1][1]):
            return snaps
        return None
    return wait_until(ready, timeout=timeout, message="%d complete snapshots" % count)


def write_nodes(client, root, count, start=0):
    """Creates nodes root/n<start>..root/n<start+count-1> (pipelined); returns {path: data}."""
    client.ensure_path(root)
    written = {}
    results = []
    for i in range(start, start + count):
        path = "%s/n%04d" % (root, i)
        written[path] = payload(path, 0)
        results.append(client.create_async(path, written[path]))
    for r in results:
        r.get(timeout=30)
    return written


def write_until_snapshots(srv, client, root, nodes, snapshots, timeout=60):
    """Writes at least `nodes` nodes, in small batches, until the dir also
    holds `snapshots` snapshot files; then waits for the newest to be whole.
    (A server skips a snapshot while the previous one is still being written,
    so a single fast burst can leave fewer than snapCount predicts.)"""
    written = {}
    deadline = time.monotonic() + timeout
    while len(written) < nodes or len(srv.snapshots()) < snapshots:
        assert time.monotonic() < deadline, "only %d snapshots after %d writes" % (len(srv.snapshots()), len(written))
        written.update(write_nodes(client, root, 5, start=len(written)))
    wait_snapshots(srv, snapshots)
    return written


def assert_nodes(client, written):
    for path, data in written.items():
        got = client.get(path)[0]
        assert got == data, "%s: %r != %r" % (path, got[:30], data[:30])


@paddock_only
def test_snap_count_snapshots_then_kill9_loads_newest_and_replays(servers, clients):
    srv = servers("paddock", config={"snapCount": 20}).start()
    zk = clients(srv)
    # One snapshot at start-up, then one after every 11..20 txns (fewer if one is still being written).
    written = write_until_snapshots(srv, zk, "/snap", 200, 6)
    zk.create("/snap/after", b"x")  # logged after the snapshot it may trigger starts: replay has work
    after_zxid = zk.exists("/snap/after").czxid
    wait_until(lambda: "snapshot %s written" % srv.snapshots()[-1][1] in srv.log_text(), timeout=10,
               message="the newest snapshot to be finished")
    newest_zxid, newest = srv.snapshots()[-1]
    assert newest_zxid < after_zxid
    srv.kill9()

    # The dump of the newest lists every node created at or before its zxid, with its cZxid.
    count, nodes, _, dump_last = parse_snapshot_dump(paddock_tool("snapshot", "dump", newest).stdout)
    assert count >= len(nodes) and dump_last >= newest_zxid

    srv.start()
    log = srv.log_text()
    assert "loaded snapshot %s" % newest in log, log
    m = re.search(r"replayed (\d+) txns", log)
    assert m and int(m.group(1)) >= after_zxid - newest_zxid, log
    zk2 = clients(srv)
    assert_nodes(zk2, written)
    assert zk2.get("/snap/after")[0] == b"x"
    in_snapshot = 0
    for path in written:
        czxid = zk2.exists(path).czxid
        if czxid <= newest_zxid:
            in_snapshot += 1
            assert path in nodes, "%s (czxid 0x%x) missing from the dump of %s" % (path, czxid, newest.name)
            assert nodes[path]["cZxid"] == "0x%014x" % czxid
    assert in_snapshot >= 100, "the newest snapshot holds only %d of the nodes" % in_snapshot


@pytest.mark.parametrize("kind", only("paddock", "zookeeper"))
def test_damaged_newest_snapshot_falls_back_to_an_older_one(kind, servers, clients):
    srv = servers(kind, config={"snapCount": 20}).start()
    zk = clients(srv)
    written = write_until_snapshots(srv, zk, "/fallback", 80, 4)
    zk.set("/fallback/n0000", b"changed", version=0)
    # Both kinds write snapshots in the background (the set may start one): stopping mid-write
    # would leave the newest torn (ZooKeeper's can even be empty), which is another test's case.
    wait_until(lambda: snapshot_complete(srv.snapshots()[-1][1]), timeout=10, message="the newest snapshot to be finished")
    srv.stop()

    snaps = srv.snapshots()
    newest_zxid, newest = snaps[-1]
    older_zxid, older = snaps[-2]
    size = newest.stat().st_size
    flip_byte(newest, size // 2)

    srv.start()
    zk2 = clients(srv)
    written["/fallback/n0000"] = b"changed"
    assert_nodes(zk2, written)
    if kind == "paddock":
        log = srv.log_text()
        assert "cannot load snapshot %s" % newest in log, log
        assert "loaded snapshot %s" % older in log, log
    # The start-up snapshot now supersedes the damaged one; a second restart is clean.
    zk2.create("/fallback/again", b"y")
    srv.stop()
    srv.start()
    zk3 = clients(srv)
    assert_nodes(zk3, written)
    assert zk3.get("/fallback/again")[0] == b"y"


# --- damaged txn logs ---------------------------------------------------------------


def last_log_with_records(srv):
    for zxid, path in reversed(srv.txn_logs()):
        records = log_records(path)
        if records:
            return path, records
    raise AssertionError("no txn log with records in %s" % srv.log_dir)


def cut_mid_record(path, offset, length):
    """Truncates the file in the middle of the record at offset."""
    with open(path, "r+b") as f:
        f.truncate(offset + 12 + length // 2)


def zero_from_mid_record(path, offset, length):
    """Zeroes everything from the middle of the record on, as if the write
    reached only part of the preallocated space (beyond the record the file
    is zeros already)."""
    start = offset + 12 + length // 2
    end = min(path.stat().st_size, offset + RECORD_OVERHEAD + length + 4096)
    with open(path, "r+b") as f:
        f.seek(start)
        f.write(b"\x00" * (end - start))


def bad_checksum(path, offset, length):
    flip_byte(path, offset + 12 + length // 2)


@paddock_only
@pytest.mark.parametrize("damage", [cut_mid_record, zero_from_mid_record, bad_checksum],
                         ids=["cut", "zero-filled", "bad-checksum"])
def test_torn_log_tail_is_truncated_and_start_up_continues(servers, clients, damage):
    srv = servers("paddock").start()
    zk = clients(srv)
    written = write_nodes(zk, "/torn", 50)
    srv.kill9()

    path, records = last_log_with_records(srv)
    last_offset, last_length = records[-1]
    last_txn_zxid = record_zxid(path, last_offset)
    damage(path, last_offset, last_length)

    srv.start()
    log = srv.log_text()
    assert "torn tail" in log, log
    zk2 = clients(srv)
    lost = "/torn/n0049"  # the last txn: its record is the damaged one
    assert zk2.exists(lost) is None
    assert zk2.exists("/torn").pzxid < last_txn_zxid
    del written[lost]
    assert_nodes(zk2, written)

    # The damaged tail is gone from the file, not just skipped: a dump sees only whole records ...
    dump = paddock_tool("log", "dump", path).stdout
    assert "damaged" not in dump, dump[-500:]
    assert dump.rstrip().endswith("EOF reached after %d txns." % (len(records) - 1)), dump[-300:]
    # ... and later logs after it do not make the next start-up refuse.
    zk2.create(lost, b"again")
    srv.kill9()
    srv.start()
    zk3 = clients(srv)
    assert_nodes(zk3, written)
    assert zk3.get(lost)[0] == b"again"


@paddock_only
@pytest.mark.parametrize("where", ["early-record", "older-log-tail"])
def test_corruption_before_valid_history_stops_start_up(servers, clients, where):
    srv = servers("paddock").start()
    zk = clients(srv)
    write_nodes(zk, "/mid", 30)
    if where == "older-log-tail":
        srv.kill9()
        srv.start()  # the next txns go to a new log
        write_nodes(clients(srv), "/mid2", 10)
    srv.kill9()

    logs = [p for _, p in srv.txn_logs() if log_records(p)]
    if where == "early-record":
        path = logs[-1]
        records = log_records(path)
        assert len(records) > 10
        offset, length = records[3]
        flip_byte(path, offset + 12 + length // 2)  # inside the entry: checksum mismatch
    else:
        assert len(logs) >= 2
        path = logs[-2]
        offset, length = log_records(path)[-1]
        cut_mid_record(path, offset, length)
    before = path.read_bytes()

    status, log = srv.expect_start_failure()
    assert status != 0, log
    assert "refusing to drop committed history" in log, log
    assert path.read_bytes() == before, "start-up modified the damaged log"
    assert not srv.serving()


# --- purge --------------------------------------------------------------------------


@paddock_only
def test_purge_keeps_three_newest_snapshots_and_the_logs_they_need(servers, clients, tmp_path):
    srv = servers("paddock", config={"snapCount": 20}).start()
    zk = clients(srv)
    write_until_snapshots(srv, zk, "/purge", 120, 6)
    wait_until(lambda: "snapshot %s written" % srv.snapshots()[-1][1] in srv.log_text(), timeout=10,
               message="the newest snapshot to be finished")
    zk.set("/purge/n0001", b"last", version=0)
    expected = read_tree(zk, "/purge")
    srv.stop()

    snaps_before = srv.snapshots()
    logs_before = srv.txn_logs()
    assert len(snaps_before) >= 5
    oldest_kept = snaps_before[-3][0]
    # ZooKeeper's rule: keep logs from the newest one starting at or before the oldest kept snapshot.
    first_kept_log = max(z for z, _ in logs_before if z <= oldest_kept)
    expected_logs = [p for z, p in logs_before if z >= first_kept_log]
    expected_snaps = [p for _, p in snaps_before[-3:]]

    # ZooKeeper's own PurgeTxnLog on a copy of the dir is the oracle for which files go.
    # It reads snapshots (to skip invalid ones) but only the names of logs, so
    # the copy's logs are empty files rather than 64 MB of preallocation each.
    if "zookeeper" in KINDS:
        oracle_dir = tmp_path / "oracle"
        (oracle_dir / "version-2").mkdir(parents=True)
        for _, snap in snaps_before:
            shutil.copy(snap, oracle_dir / "version-2" / snap.name)
        for _, log in logs_before:
            (oracle_dir / "version-2" / log.name).touch()
        subprocess.run(["java", "-cp", ZK_CLASSPATH, "org.apache.zookeeper.server.PurgeTxnLog",
                        str(oracle_dir), str(oracle_dir), "-n", "3"],
                       check=True, capture_output=True, timeout=60)
        oracle_left = sorted(p.name for p in (oracle_dir / "version-2").iterdir())
    else:
        oracle_left = None

    refused = paddock_tool("purge", "--config", srv.config_path, "-n", "2", check=False)
    assert refused.returncode != 0
    assert len(srv.snapshots()) == len(snaps_before)

    out = paddock_tool("purge", "--config", srv.config_path, "-n", "3").stdout
    removed = len(snaps_before) + len(logs_before) - len(srv.snapshots()) - len(srv.txn_logs())
    assert "removed %d files" % removed in out, out
    assert [p for _, p in srv.snapshots()] == expected_snaps
    assert [p for _, p in srv.txn_logs()] == expected_logs
    if oracle_left is not None:
        left = sorted(p.name for p in srv.snap_dir.iterdir())
        assert left == oracle_left, "ZooKeeper's PurgeTxnLog leaves %r" % oracle_left

    srv.start()
    zk2 = clients(srv)
    assert not diff_trees(expected, read_tree(zk2, "/purge"))
