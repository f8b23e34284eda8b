"""Data-dir interoperability with Apache ZooKeeper 3.8, both directions.

One kind writes a tree into a dataDir (persistent, sequential, an ephemeral
held by a session that stays connected, binary data, versioned sets, a
digest ACL, a multi, a delete, a pipelined burst), every node's data, Stat
and ACL are recorded, the writer stops (SIGTERM), the other kind starts on the
same dataDir and port: the tree must be identical, field for field, and the
session must come back.  The reader then writes more and the first kind reads
that back (round trip).  Variants: plain snapshots with the default snapCount
(one snapshot, one long log), snapCount=20 (several snapshots and logs), and
gz snapshots with snapCount=20.

Paddock's `log dump` and `snapshot dump` are run on ZooKeeper's files and
compared with ZooKeeper's own TxnLogToolkit and SnapshotFormatter; ZooKeeper's
SnapshotFormatter also reads Paddock's newest snapshot.
"""

import pytest
from kazoo.security import make_digest_acl

from conftest import KINDS, free_port, tracked
from processes import (
    DataDirServer,
    close_kazoo,
    diff_trees,
    log_records,
    paddock_tool,
    parse_log_dump,
    parse_snapshot_dump,
    read_tree,
    snapshot_complete,
    wait_until,
    zookeeper_tool,
)

pytestmark = pytest.mark.skipif(not {"paddock", "zookeeper"} <= set(KINDS),
                                reason="interop needs both paddock and zookeeper in PADDOCK_SERVERS")

VARIANTS = {
    "plain": dict(gz=False, snap_count=None),
    "plain-snapcount20": dict(gz=False, snap_count=20),
    "gz-snapcount20": dict(gz=True, snap_count=20),
}

AUTH = [("digest", "alice:secret")]
ROOT = "/interop"
BINARY = bytes(range(256)) + b"\x00\xff\x00"
HOLDER_TIMEOUT_S = 20.0


@pytest.fixture
def servers(tmp_path):
    """servers(kind, variant, port): a server on tmp_path/data with the variant's settings."""

    def make(kind, variant, port):
        config, jvm_props = {}, []
        if variant["snap_count"]:
            config["snapCount"] = variant["snap_count"]
        if variant["gz"]:
            if kind == "zookeeper":
                jvm_props.append("-Dzookeeper.snapshot.compression.method=gz")
            else:
                config["zookeeper.snapshot.compression.method"] = "gz"
        return DataDirServer(kind, tmp_path / "data", config=config, port=port, jvm_props=jvm_props)

    yield from tracked(make, DataDirServer.cleanup)


def build_tree(zk, holder):
    """The first kind's writes; returns the paths of the pipelined burst."""
    zk.create(ROOT, b"root")
    zk.create(ROOT + "/binary", BINARY)
    zk.create(ROOT + "/empty", b"")
    zk.create(ROOT + "/a/b/c", b"deep", makepath=True)
    for i in range(3):
        zk.create(ROOT + "/seq/item-", b"%d" % i, sequence=True, makepath=(i == 0))
    holder.create(ROOT + "/eph", b"held", ephemeral=True)
    holder.create(ROOT + "/seq/eph-", b"held-seq", ephemeral=True, sequence=True)
    zk.set(ROOT + "/a", b"v1", version=0)
    zk.set(ROOT + "/a", b"v2", version=1)
    zk.set(ROOT + "/a/b", b"any", version=-1)
    zk.create(ROOT + "/secret", b"s3cret\x00", acl=[make_digest_acl("alice", "secret", all=True)])
    zk.set(ROOT + "/secret", b"s3cret\x01", version=0)
    zk.set_acls(ROOT + "/empty", [make_digest_acl("alice", "secret", read=True, write=True, admin=True)], version=0)
    # Without ADMIN, getACL shows the digest as "alice:x" (ZooKeeper's reply rule): same on both kinds.
    zk.create(ROOT + "/redacted", b"r", acl=[make_digest_acl("alice", "secret", read=True)])
    zk.create(ROOT + "/doomed", b"x")
    zk.delete(ROOT + "/doomed", version=0)
    tx = zk.transaction()
    tx.create(ROOT + "/multi-1", b"m1")
    tx.set_data(ROOT + "/binary", BINARY[::-1], version=0)
    tx.check(ROOT + "/a", 2)
    tx.create(ROOT + "/multi-2", b"m2")
    results = tx.commit()
    assert not any(isinstance(r, Exception) for r in results), results
    # A pipelined burst, so snapshots with snapCount=20 are taken while the tree changes.
    zk.create(ROOT + "/burst")
    burst = ["%s/burst/n%03d" % (ROOT, i) for i in range(60)]
    results = [zk.create_async(p, p.encode() + BINARY[:17]) for p in burst]
    results += [zk.set_async(p, b"set:" + p.encode(), version=0) for p in burst[::3]]
    for r in results:
        r.get(timeout=30)
    return burst


def more_writes(zk, holder):
    """The second kind's writes on top of the first kind's tree."""
    zk.create(ROOT + "/second", b"from the reader")
    zk.set(ROOT + "/a", b"v3", version=2)
    zk.set(ROOT + "/secret", b"s3cret\x02", version=1)
    children = sorted(c for c in zk.get_children(ROOT + "/seq") if c.startswith("item-"))
    zk.delete(ROOT + "/seq/" + children[0])
    zk.create(ROOT + "/seq/item-", b"later", sequence=True)
    holder.create(ROOT + "/eph2", b"held too", ephemeral=True)
    zk.delete(ROOT + "/burst/n000")


def max_zxid(tree):
    return max(max(n["stat"]["czxid"], n["stat"]["mzxid"], n["stat"]["pzxid"]) for n in tree.values())


def wait_settled(srv, variant):
    """With snapCount=20, until several snapshots exist and the newest is whole."""
    if not variant["snap_count"]:
        return

    def ready():
        snaps = srv.snapshots()
        return len(snaps) >= 3 and snapshot_complete(snaps[-1][1])

    wait_until(ready, timeout=30, message="3 whole snapshots in %s" % srv.snap_dir)


def wait_back(holder, session_id):
    wait_until(lambda: holder.connected, timeout=HOLDER_TIMEOUT_S, message="the holder session to reconnect")
    assert holder.client_id[0] == session_id, "the holder got a new session: its ephemerals are gone"


def assert_codec(srv, variant):
    """Every snapshot in the dir has the variant's suffix."""
    names = [p.name for _, p in srv.snapshots()]
    assert names and all(n.endswith(".gz") == variant["gz"] for n in names), names


def assert_loaded(srv, snapshot):
    """The server's start-up log says it read `snapshot` and no snapshot failed."""
    log = srv.log_text()
    if srv.kind == "paddock":
        assert "loaded snapshot %s" % snapshot in log, log
        assert "cannot load snapshot" not in log, log
    else:
        assert "Reading snapshot %s" % snapshot in log, log
        assert "problem reading snap file" not in log, log


def assert_same_tree(expected, actual, what):
    problems = diff_trees(expected, actual)
    assert not problems, "%s: %d differences:\n%s" % (what, len(problems), "\n".join(problems[:30]))


# --- the tools on another implementation's files ---------------------------------------


def check_paddock_log_dump(path):
    """`paddock log dump` reads a log: its framing and txn count match the file's."""
    out = paddock_tool("log", "dump", path).stdout
    lines = out.rstrip("\n").split("\n")
    assert lines[0] == "ZooKeeper Transactional Log File with dbid 0 txnlog format version 2", lines[0]
    records = log_records(path)
    assert lines[-1] == "EOF reached after %d txns." % len(records), lines[-1]
    txns = parse_log_dump(out)
    assert len(txns) == len(records), "%s: %d txn lines for %d records" % (path, len(txns), len(records))
    zxids = [t[2] for t in txns]
    assert zxids == list(range(zxids[0], zxids[0] + len(zxids))) if zxids else True, zxids
    return out, txns


def check_paddock_snapshot_dump(path):
    out = paddock_tool("snapshot", "dump", "-d", path).stdout
    count, nodes, sessions, last = parse_snapshot_dump(out)
    assert "/" in nodes and "/zookeeper" in nodes
    assert last is not None
    return count, nodes, sessions, last


def compare_snapshot_dumps(path):
    """Paddock's dump of a snapshot against ZooKeeper's SnapshotFormatter -d."""
    p_count, p_nodes, p_sessions, p_last = check_paddock_snapshot_dump(path)
    z_count, z_nodes, z_sessions, z_last = parse_snapshot_dump(
        zookeeper_tool("org.apache.zookeeper.server.SnapshotFormatter", "-d", path))
    assert (p_count, p_last) == (z_count, z_last), "count/last zxid differ for %s" % path
    assert sorted(p_sessions) == sorted(z_sessions)
    assert set(p_nodes) == set(z_nodes), "paths differ: %r" % (set(p_nodes) ^ set(z_nodes))
    for node, z in z_nodes.items():
        p = p_nodes[node]
        for key in ("cZxid", "ctime", "mZxid", "mtime", "pZxid", "cversion", "dataVersion", "aclVersion", "data"):
            assert p.get(key) == z.get(key), "%s %s: paddock %r, zookeeper %r" % (path, node, p.get(key), z.get(key))
        assert int(p["ephemeralOwner"], 16) == int(z["ephemeralOwner"], 16), node
    return p_nodes


def check_tools_on_zookeeper_files(srv, tree):
    """Paddock's dumps of every ZooKeeper file succeed and agree with ZooKeeper's tools."""
    logs = srv.txn_logs()
    snaps = srv.snapshots()
    assert logs and snaps
    by_zxid = {}
    for _, path in logs:
        _, txns = check_paddock_log_dump(path)
        for t in txns:
            by_zxid[t[2]] = t
    # Every node of the tree was created by a logged txn naming it (the first snapshot is empty).
    for node, entry in tree.items():
        czxid = entry["stat"]["czxid"]
        if czxid == 0:
            continue
        assert czxid in by_zxid, "%s: no txn 0x%x in the dumps" % (node, czxid)
        _, _, _, op, line = by_zxid[czxid]
        assert op in ("create", "create2", "multi") and "'%s," % node in line, line
    # The busiest log, txn for txn, as ZooKeeper's TxnLogToolkit reads it.
    _, busiest = max(logs, key=lambda zp: len(log_records(zp[1])))
    ours = [t[:4] for t in parse_log_dump(paddock_tool("log", "dump", busiest).stdout)]
    theirs = [t[:4] for t in parse_log_dump(
        zookeeper_tool("org.apache.zookeeper.server.persistence.TxnLogToolkit", busiest))]
    assert ours == theirs, "log dump of %s differs from TxnLogToolkit" % busiest
    for _, path in snaps[:-1]:
        check_paddock_snapshot_dump(path)
    nodes = compare_snapshot_dumps(snaps[-1][1])
    newest_zxid = snaps[-1][0]
    for node, entry in tree.items():
        if entry["stat"]["czxid"] <= newest_zxid:
            assert node in nodes, "%s (czxid 0x%x) missing from %s" % (node, entry["stat"]["czxid"], snaps[-1][1])


# --- the tests --------------------------------------------------------------------------


@pytest.mark.parametrize("variant_name", list(VARIANTS))
@pytest.mark.parametrize("writer,reader", [("zookeeper", "paddock"), ("paddock", "zookeeper")],
                         ids=["zookeeper-to-paddock", "paddock-to-zookeeper"])
def test_data_dir_round_trip(servers, clients, writer, reader, variant_name):
    variant = VARIANTS[variant_name]
    port = free_port()

    # 1. The writer builds the tree.
    first = servers(writer, variant, port).start()
    holder = clients(first, timeout=HOLDER_TIMEOUT_S)
    session_id = holder.client_id[0]
    zk = clients(first, auth=AUTH)
    build_tree(zk, holder)
    wait_settled(first, variant)
    before = read_tree(zk)
    assert before[ROOT + "/eph"]["stat"]["ephemeralOwner"] == session_id
    close_kazoo(zk)
    first.stop()
    if variant["snap_count"]:
        assert len(first.snapshots()) >= 3 and len(first.txn_logs()) >= 3
    assert_codec(first, variant)

    if writer == "zookeeper":
        check_tools_on_zookeeper_files(first, before)
    else:
        # ZooKeeper's own formatter reads Paddock's newest snapshot, and agrees with Paddock's dump.
        compare_snapshot_dumps(first.snapshots()[-1][1])

    # 2. The reader loads it (the newest snapshot, not a fallback): identical
    #    tree, and the holder's session survives.
    newest = first.snapshots()[-1][1]
    second = servers(reader, variant, port).start()
    assert_loaded(second, newest)
    wait_back(holder, session_id)
    zk = clients(second, auth=AUTH)
    after = read_tree(zk)
    assert_same_tree(before, after, "%s read %s's dir" % (reader, writer))

    # 3. The reader continues the history; the writer reads that back.
    more_writes(zk, holder)
    latest = read_tree(zk)
    assert latest[ROOT + "/second"]["stat"]["czxid"] > max_zxid(before), "zxids went backwards"
    wait_settled(second, variant)
    close_kazoo(zk)
    second.stop()

    assert_codec(second, variant)
    newest = second.snapshots()[-1][1]
    third = servers(writer, variant, port).start()
    assert_loaded(third, newest)
    wait_back(holder, session_id)
    zk = clients(third, auth=AUTH)
    assert_same_tree(latest, read_tree(zk), "%s read the dir back from %s" % (writer, reader))
    assert holder.get(ROOT + "/eph2")[0] == b"held too"
