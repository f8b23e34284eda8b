"""The client protocol byte by byte, through jute.RawClient.

test_reply_transcript_matches_golden replays one request sequence on a fresh
server and compares the decoded, normalised replies (zxids relative to the
first reply, times and session ids masked, children sorted) with
golden/zk38_transcript.txt, recorded from Apache ZooKeeper 3.8.  Regenerate it
with PADDOCK_IT_WRITE_GOLDEN=1 PADDOCK_SERVERS=zookeeper.
"""

import difflib
import os
import time
from pathlib import Path

import pytest

import jute
from conftest import wait_until
from jute import AddWatchMode, CreateMode, Err, EventType, Op, Reader, WatcherType

GOLDEN = Path(__file__).resolve().parent / "golden" / "zk38_transcript.txt"
NOW_SLACK_MS = 60_000


def barrier(client):
    """A read through the server's pipeline: every notification for changes
    applied before it was sent to this client ahead of its reply."""
    rep, _ = client.exists("/")
    assert rep.err == 0


# --- connect handshake ------------------------------------------------------------


def test_connect_response_layout(server):
    c = jute.RawClient(server.host, server.port)
    try:
        resp = c.connect(10000)
        assert resp.protocol_version == 0
        assert resp.timeout == 10000
        assert resp.session_id != 0
        assert len(resp.passwd) == 16 and resp.passwd != b"\x00" * 16
        assert resp.read_only is False
        assert len(resp.raw) == 4 + 4 + 8 + (4 + 16) + 1
    finally:
        c.close()
    # an old client that omits the readOnly flag gets a reply without it
    s = server.raw_socket()
    try:
        s.sendall(jute.frame(jute.connect_request(10000, with_read_only=False)))
        payload = jute.read_frame(s)
        assert len(payload) == 4 + 4 + 8 + (4 + 16)
        assert jute.parse_connect_response(payload).session_id != 0
    finally:
        s.close()


@pytest.mark.parametrize("requested,expected", [
    (1, 4000), (3999, 4000), (4000, 4000), (12345, 12345), (40000, 40000), (40001, 40000), (10 ** 9, 40000),
], ids=lambda v: str(v))
def test_session_timeout_negotiated_within_2_and_20_ticks(server, requested, expected):
    c = jute.RawClient(server.host, server.port)
    try:
        assert c.connect(requested).timeout == expected
    finally:
        c.close()


def test_wrong_password_gets_refusal_then_close(server, raw_factory):
    owner = raw_factory(server)
    bad = jute.RawClient(server.host, server.port)
    try:
        resp = bad.connect(10000, session_id=owner.session.session_id,
                           passwd=bytes(b ^ 1 for b in owner.session.passwd))
        # timeout 0, session id 0, a 16-byte zero password, readOnly false
        assert resp.raw == jute.REFUSED_CONNECT_RESPONSE
        jute.wait_for_eof(bad.sock, 10)
    finally:
        bad.close_socket()


def test_unknown_session_gets_refusal_then_close(server, raw_factory):
    owner = raw_factory(server)
    bogus_sid = owner.session.session_id ^ 0x5A5A5A
    bad = jute.RawClient(server.host, server.port)
    try:
        resp = bad.connect(10000, session_id=bogus_sid, passwd=owner.session.passwd)
        assert resp.raw == jute.REFUSED_CONNECT_RESPONSE
        jute.wait_for_eof(bad.sock, 10)
    finally:
        bad.close_socket()
    # the owner is unaffected
    assert owner.exists("/")[0].err == 0


def test_reconnect_moves_session_and_closes_old_connection(server, raw_factory, unique_path):
    first = raw_factory(server)
    assert first.create(unique_path, flags=CreateMode.EPHEMERAL)[0].err == 0
    second = raw_factory(server, session_id=first.session.session_id, passwd=first.session.passwd)
    assert second.session.session_id == first.session.session_id
    assert second.session.passwd == first.session.passwd
    assert second.session.timeout == first.session.timeout
    jute.wait_for_eof(first.sock, 10)
    rep, stat = second.exists(unique_path)
    assert rep.err == 0 and stat.ephemeralOwner == first.session.session_id


def test_reconnect_attempt_with_wrong_password_drops_current_connection(server, raw_factory, unique_path):
    # ZooKeeper 3.8 closes the session's live connection before it checks
    # the password of the new one (ZooKeeperServer.processConnectRequest).
    owner = raw_factory(server)
    assert owner.create(unique_path, flags=CreateMode.EPHEMERAL)[0].err == 0
    bad = jute.RawClient(server.host, server.port)
    try:
        resp = bad.connect(10000, session_id=owner.session.session_id, passwd=b"\x07" * 16)
        assert resp.session_id == 0
    finally:
        bad.close_socket()
    jute.wait_for_eof(owner.sock, 10)
    # but the session itself lives on
    again = raw_factory(server, session_id=owner.session.session_id, passwd=owner.session.passwd)
    rep, stat = again.exists(unique_path)
    assert rep.err == 0 and stat.ephemeralOwner == owner.session.session_id


def test_client_ahead_of_server_zxid_is_refused(server):
    c = jute.RawClient(server.host, server.port)
    try:
        c.sock.sendall(jute.frame(jute.connect_request(10000, last_zxid=1 << 40)))
        assert jute.wait_for_eof(c.sock, 10) == b""
    finally:
        c.close_socket()


def test_close_session_replies_then_closes(server, raw_factory, kazoo_factory, unique_path):
    c = raw_factory(server)
    assert c.create(unique_path, flags=CreateMode.EPHEMERAL)[0].err == 0
    before = c.exists("/")[0].zxid
    rep = c.call(Op.CLOSE_SESSION, b"")
    assert (rep.err, rep.body) == (0, b"")
    assert rep.zxid > before, "closeSession is a transaction"
    jute.wait_for_eof(c.sock, 10)
    assert kazoo_factory(server).exists(unique_path) is None


# --- headers, zxids, pings, auth --------------------------------------------------


def test_zxid_accounting_in_reply_headers(server, raw_factory, unique_path):
    c = raw_factory(server)
    z0 = c.exists("/")[0].zxid
    rep, _ = c.create(unique_path)
    assert rep.zxid == z0 + 1
    # reads and syncs report the last zxid without consuming one
    assert c.get_data(unique_path)[0].zxid == z0 + 1
    assert c.call(Op.SYNC, jute.path_body(unique_path)).zxid == z0 + 1
    assert c.ping().zxid == z0 + 1
    # failed writes consume a zxid (ZooKeeper logs an error txn)
    rep, _ = c.create(unique_path)
    assert (rep.err, rep.zxid) == (Err.NODE_EXISTS, z0 + 2)
    assert c.delete(unique_path + "/missing").zxid == z0 + 3
    assert c.set_data(unique_path, b"", version=9)[0].zxid == z0 + 4
    # a multi is one zxid, failed or not
    rep, _ = c.multi([(Op.CREATE, jute.create_body(unique_path + "/a")),
                      (Op.CREATE, jute.create_body(unique_path + "/b"))])
    assert (rep.err, rep.zxid) == (0, z0 + 5)
    rep, _ = c.multi([(Op.CREATE, jute.create_body(unique_path + "/a"))])
    assert rep.zxid == z0 + 6
    rep, _ = c.multi([])
    assert rep.zxid == z0 + 7
    rep, (_, stat) = c.create(unique_path + "/c")
    assert stat.czxid == rep.zxid == z0 + 8


def test_ping(server, raw_factory, unique_path):
    c = raw_factory(server)
    rep, _ = c.create(unique_path)
    p = c.ping()
    assert (p.xid, p.zxid, p.err, p.body) == (jute.PING_XID, rep.zxid, 0, b"")
    assert len(p.raw) == 16


def test_auth_packets(server, raw_factory):
    c = raw_factory(server)
    body = jute.Writer().int(0).string("digest").buffer(b"alice:secret").bytes()
    rep = c.call(Op.AUTH, body, xid=jute.AUTH_XID)
    assert (rep.xid, rep.zxid, rep.err, rep.body) == (jute.AUTH_XID, 0, 0, b"")
    rep, infos = c.who_am_i()
    assert rep.err == 0
    assert sorted(infos) == [("digest", "alice"), ("ip", "127.0.0.1")]
    # an unknown scheme fails the auth and ends the connection
    body = jute.Writer().int(0).string("no-such-scheme").buffer(b"x").bytes()
    rep = c.call(Op.AUTH, body, xid=jute.AUTH_XID)
    assert (rep.xid, rep.err) == (jute.AUTH_XID, Err.AUTH_FAILED)
    jute.wait_for_eof(c.sock, 10)
    # only the connection ended: the session can be resumed
    again = raw_factory(server, session_id=c.session.session_id, passwd=c.session.passwd)
    assert again.session.session_id == c.session.session_id


def test_who_am_i_anonymous(server, raw_factory):
    rep, infos = raw_factory(server).who_am_i()
    assert rep.err == 0
    assert infos == [("ip", "127.0.0.1")]


# --- multi -------------------------------------------------------------------------


def test_failed_multi_reply_bytes(server, raw_factory, unique_path):
    c = raw_factory(server)
    c.create(unique_path)
    rep, results = c.multi([
        (Op.CREATE, jute.create_body(unique_path + "/new")),
        (Op.SET_DATA, jute.set_data_body(unique_path, b"x")),
        (Op.CREATE, jute.create_body(unique_path)),  # NodeExists
        (Op.DELETE, jute.delete_body(unique_path + "/new")),
        (Op.CHECK, jute.check_body(unique_path, 0)),
    ])
    # the reply header says OK; the errors are in the per-op results
    assert rep.err == 0
    w = jute.Writer()
    for err in (0, 0, Err.NODE_EXISTS, Err.RUNTIME_INCONSISTENCY, Err.RUNTIME_INCONSISTENCY):
        w.int(Op.ERROR).bool(False).int(err).int(err)
    w.int(-1).bool(True).int(-1)
    assert rep.body == w.bytes()
    assert [r.err for r in results] == [0, 0, -110, -2, -2]
    # nothing was applied
    _, stat = c.exists(unique_path)
    assert (stat.version, stat.numChildren, stat.cversion) == (0, 0, 0)


def test_successful_multi_reply_bytes(server, raw_factory, unique_path):
    c = raw_factory(server)
    c.create(unique_path)
    rep, results = c.multi([
        (Op.CREATE, jute.create_body(unique_path + "/a", b"1")),
        (Op.CREATE2, jute.create_body(unique_path + "/b")),
        (Op.SET_DATA, jute.set_data_body(unique_path + "/a", b"22", 0)),
        (Op.CHECK, jute.check_body(unique_path + "/a", 1)),
        (Op.DELETE, jute.delete_body(unique_path + "/b")),
    ])
    assert rep.err == 0
    # ZooKeeper answers a create2 inside a multi like a plain create
    assert [(r.type, r.err) for r in results] == [
        (Op.CREATE, 0), (Op.CREATE, 0), (Op.SET_DATA, 0), (Op.CHECK, 0), (Op.DELETE, 0)]
    assert results[0].value == unique_path + "/a"
    assert results[1].value == unique_path + "/b"
    stat = results[2].value
    assert (stat.version, stat.dataLength, stat.czxid, stat.mzxid) == (1, 2, rep.zxid, rep.zxid)


def test_multi_empty(server, raw_factory):
    rep, results = raw_factory(server).multi([])
    assert rep.err == 0 and results == []
    assert rep.body == jute.Writer().int(-1).bool(True).int(-1).bytes()


# --- watches and ordering -------------------------------------------------------------


def test_notification_precedes_own_write_reply(server, raw_factory, unique_path):
    c = raw_factory(server)
    c.create(unique_path, b"0")
    c.get_data(unique_path, watch=True)
    xid = c.send(Op.SET_DATA, jute.set_data_body(unique_path, b"1"))
    first = c.read_one()
    second = c.read_one()
    assert first[0] == "event", "the notification must come before the setData reply"
    ev = first[1]
    assert (ev.type, ev.state, ev.path) == (EventType.NODE_DATA_CHANGED, jute.KeeperState.SYNC_CONNECTED, unique_path)
    assert second[0] == "reply" and second[1].xid == xid and second[1].err == 0


def test_notification_frame_layout(server, raw_factory, unique_path):
    w, c = raw_factory(server), raw_factory(server)
    w.exists(unique_path, watch=True)
    c.create(unique_path)
    ev = w.wait_event(10)
    # header: xid -1, zxid -1, err 0; then WatcherEvent(type, state, path)
    expected = (jute.Writer().int(-1).long(-1).int(0)
                .int(EventType.NODE_CREATED).int(jute.KeeperState.SYNC_CONNECTED).string(unique_path).bytes())
    assert ev.raw == expected


def test_notification_precedes_later_read_of_other_clients_write(server, raw_factory, unique_path):
    w, c = raw_factory(server), raw_factory(server)
    c.create(unique_path, b"old")
    w.get_data(unique_path, watch=True)
    assert c.set_data(unique_path, b"new")[0].err == 0
    xid = w.send(Op.GET_DATA, jute.path_watch_body(unique_path, False))
    kinds = []
    while True:
        kind, item = w.read_one()
        kinds.append(kind)
        if kind == "reply":
            assert item.xid == xid
            assert Reader(item.body).buffer() == b"new"
            break
    assert kinds == ["event", "reply"]


def test_get_data_watch_on_missing_node_is_not_set(server, raw_factory, unique_path):
    w, c = raw_factory(server), raw_factory(server)
    rep, _ = w.get_data(unique_path + "-a", watch=True)
    assert rep.err == Err.NO_NODE
    rep, _ = w.get_children(unique_path + "-b", watch=True)
    assert rep.err == Err.NO_NODE
    rep, _ = w.exists(unique_path + "-c", watch=True)
    assert rep.err == Err.NO_NODE  # ...but exists does leave a watch
    for suffix in ("-a", "-b", "-c"):
        c.create(unique_path + suffix)
    barrier(w)
    assert [(e.type, e.path) for e in w.events] == [(EventType.NODE_CREATED, unique_path + "-c")]


def test_persistent_watch(server, raw_factory, unique_path):
    w, c = raw_factory(server), raw_factory(server)
    rep = w.add_watch(unique_path, AddWatchMode.PERSISTENT)
    # addWatch answers with an ErrorResponse(0) body; a missing node is fine
    assert (rep.err, rep.body) == (0, b"\x00\x00\x00\x00")
    c.create(unique_path)
    c.set_data(unique_path, b"1")
    c.set_data(unique_path, b"2")
    c.create(unique_path + "/kid")
    c.create(unique_path + "/kid/grandkid")  # not reported: not recursive
    c.set_data(unique_path + "/kid", b"x")  # not reported either
    c.delete(unique_path + "/kid/grandkid")
    c.delete(unique_path + "/kid")
    c.delete(unique_path)
    c.create(unique_path)
    barrier(w)
    assert [(e.type, e.path) for e in w.events] == [
        (EventType.NODE_CREATED, unique_path),
        (EventType.NODE_DATA_CHANGED, unique_path),
        (EventType.NODE_DATA_CHANGED, unique_path),
        (EventType.NODE_CHILDREN_CHANGED, unique_path),
        (EventType.NODE_CHILDREN_CHANGED, unique_path),
        (EventType.NODE_DELETED, unique_path),
        (EventType.NODE_CREATED, unique_path),
    ]


def test_persistent_recursive_watch(server, raw_factory, unique_path):
    w, c = raw_factory(server), raw_factory(server)
    c.create(unique_path)
    assert w.add_watch(unique_path, AddWatchMode.PERSISTENT_RECURSIVE).err == 0
    c.create(unique_path + "/a")
    c.create(unique_path + "/a/b")
    c.set_data(unique_path + "/a/b", b"1")
    c.set_data(unique_path, b"top")
    c.delete(unique_path + "/a/b")
    c.create(unique_path + "-sibling")  # outside the watched subtree
    barrier(w)
    # no NodeChildrenChanged events for recursive watches
    assert [(e.type, e.path) for e in w.events] == [
        (EventType.NODE_CREATED, unique_path + "/a"),
        (EventType.NODE_CREATED, unique_path + "/a/b"),
        (EventType.NODE_DATA_CHANGED, unique_path + "/a/b"),
        (EventType.NODE_DATA_CHANGED, unique_path),
        (EventType.NODE_DELETED, unique_path + "/a/b"),
    ]


def test_persistent_and_one_shot_watch_on_same_path(server, raw_factory, unique_path):
    w, c = raw_factory(server), raw_factory(server)
    c.create(unique_path)
    # (ZooKeeper 3.8 keeps one mode per connection and path, the last one
    # registered: a one-shot registered *after* a persistent watch
    # downgrades it.  Only the unambiguous order is tested here.)
    w.get_data(unique_path, watch=True)
    w.add_watch(unique_path, AddWatchMode.PERSISTENT)
    c.set_data(unique_path, b"1")
    c.set_data(unique_path, b"2")
    barrier(w)
    # one event per change: the one-shot and the persistent watch coalesce
    assert [(e.type, e.path) for e in w.events] == [
        (EventType.NODE_DATA_CHANGED, unique_path), (EventType.NODE_DATA_CHANGED, unique_path)]


def test_remove_watches(server, raw_factory, unique_path):
    w, c = raw_factory(server), raw_factory(server)
    c.create(unique_path)
    c.create(unique_path + "/k")
    w.get_data(unique_path, watch=True)
    w.get_children(unique_path, watch=True)
    w.exists(unique_path + "-missing", watch=True)

    rep = w.remove_watches(unique_path, WatcherType.CHILDREN)
    assert (rep.err, rep.body) == (0, b"")
    assert w.remove_watches(unique_path, WatcherType.CHILDREN).err == Err.NO_WATCHER
    # an exists watch is a data watch
    assert w.remove_watches(unique_path + "-missing", WatcherType.DATA).err == 0
    assert w.remove_watches("/no/watch/here", WatcherType.ANY).err == Err.NO_WATCHER

    c.create(unique_path + "/k2")  # child watch was removed
    c.create(unique_path + "-missing")  # exists watch was removed
    c.set_data(unique_path, b"x")  # data watch still there
    barrier(w)
    # the server sends no "watch removed" notifications: those are client-made
    assert [(e.type, e.path) for e in w.events] == [(EventType.NODE_DATA_CHANGED, unique_path)]


def test_remove_persistent_watches(server, raw_factory, unique_path):
    w, c = raw_factory(server), raw_factory(server)
    c.create(unique_path)
    w.add_watch(unique_path, AddWatchMode.PERSISTENT)
    w.add_watch(unique_path + "/r", AddWatchMode.PERSISTENT_RECURSIVE)
    rep = w.remove_watches(unique_path, WatcherType.ANY)
    assert rep.err == 0
    assert w.remove_watches(unique_path, WatcherType.ANY).err == Err.NO_WATCHER
    assert w.remove_watches(unique_path + "/r", WatcherType.ANY).err == 0
    c.set_data(unique_path, b"1")
    c.create(unique_path + "/r")
    c.create(unique_path + "/r/x")
    barrier(w)
    assert w.events == []


def test_watch_count_survives_one_shot_firing_only_once_per_session(server, raw_factory, unique_path):
    # two one-shot registrations of the same kind on one session are one watch
    w, c = raw_factory(server), raw_factory(server)
    c.create(unique_path)
    w.get_data(unique_path, watch=True)
    w.get_data(unique_path, watch=True)
    w.exists(unique_path, watch=True)
    c.set_data(unique_path, b"1")
    barrier(w)
    assert [(e.type, e.path) for e in w.events] == [(EventType.NODE_DATA_CHANGED, unique_path)]


# --- extra read ops: getEphemerals, getAllChildrenNumber ----------------------------------


def test_get_ephemerals(server, raw_factory, unique_path):
    mine, other = raw_factory(server), raw_factory(server)
    mine.create(unique_path)
    mine.create(unique_path + "/e1", flags=CreateMode.EPHEMERAL)
    mine.create(unique_path + "/seq-", flags=CreateMode.EPHEMERAL_SEQUENTIAL)
    mine.create(unique_path + "/persistent")
    other.create(unique_path + "/theirs", flags=CreateMode.EPHEMERAL)
    mine.create(unique_path + "-x", flags=CreateMode.EPHEMERAL)

    rep, got = mine.get_ephemerals(unique_path + "/")
    assert rep.err == 0
    assert sorted(got) == [unique_path + "/e1", unique_path + "/seq-0000000001"]
    # the prefix is a plain string prefix, not a path
    assert sorted(mine.get_ephemerals(unique_path)[1]) == [
        unique_path + "-x", unique_path + "/e1", unique_path + "/seq-0000000001"]
    assert sorted(other.get_ephemerals(unique_path)[1]) == [unique_path + "/theirs"]
    assert unique_path + "/e1" in mine.get_ephemerals("/")[1]
    rep, got = mine.get_ephemerals("/no/such/prefix")
    assert (rep.err, got) == (0, [])


def test_get_all_children_number(server, raw_factory, unique_path):
    c = raw_factory(server)
    c.create(unique_path)
    for p in ("/a", "/a/b", "/a/b/c", "/d", "/d/e"):
        c.create(unique_path + p)
    rep, n = c.get_all_children_number(unique_path)
    assert (rep.err, n) == (0, 5), "all descendants, not counting the node itself"
    assert c.get_all_children_number(unique_path + "/a")[1] == 2
    assert c.get_all_children_number(unique_path + "/a/b/c")[1] == 0
    rep, n = c.get_all_children_number(unique_path + "/missing")
    assert (rep.err, n) == (Err.NO_NODE, None)


def test_special_nodes(server, raw_factory):
    c = raw_factory(server)
    rep, children = c.get_children("/zookeeper")
    assert rep.err == 0 and sorted(children) == ["config", "quota"]
    rep, stat = c.exists("/zookeeper")
    assert (stat.czxid, stat.ctime, stat.numChildren, stat.cversion) == (0, 0, 2, -2)
    rep, (data, stat) = c.get_data("/zookeeper/config")
    assert data == b"" and stat.aversion == -1
    rep = c.call(Op.GET_ACL, jute.path_body("/zookeeper/config"))
    assert Reader(rep.body).acl() == [(1, "world", "anyone")]
    assert c.delete("/zookeeper").err == Err.BAD_ARGUMENTS
    rep, stat = c.exists("/")
    assert (stat.czxid, stat.ctime, stat.ephemeralOwner) == (0, 0, 0)


# --- the golden transcript --------------------------------------------------------------


class Normaliser:
    def __init__(self, session_id):
        self.sid = session_id
        self.base = None

    def zxid(self, z):
        if z in (0, -1):
            return str(z)
        if self.base is None:
            self.base = z
        return "Z%+d" % (z - self.base)

    def time(self, ms):
        if ms == 0:
            return "0"
        if abs(ms - time.time() * 1000) < NOW_SLACK_MS:
            return "T"
        return "BADTIME(%d)" % ms

    def owner(self, o):
        if o == 0:
            return "0"
        return "SID" if o == self.sid else "OTHER(%x)" % o

    def stat(self, s):
        return ("stat(czxid=%s mzxid=%s ctime=%s mtime=%s version=%d cversion=%d aversion=%d "
                "owner=%s dataLength=%d numChildren=%d pzxid=%s)" % (
                    self.zxid(s.czxid), self.zxid(s.mzxid), self.time(s.ctime), self.time(s.mtime),
                    s.version, s.cversion, s.aversion, self.owner(s.ephemeralOwner), s.dataLength,
                    s.numChildren, self.zxid(s.pzxid)))


def _decode(n, kind, r):
    if kind == "none":
        return ""
    if kind == "stat":
        return n.stat(r.stat())
    if kind == "path":
        return "path=%s" % r.string()
    if kind == "path_stat":
        return "path=%s %s" % (r.string(), n.stat(r.stat()))
    if kind == "data_stat":
        return "data=%r %s" % (r.buffer(), n.stat(r.stat()))
    if kind == "children":
        return "children=%s" % sorted(r.strings())
    if kind == "children_stat":
        return "children=%s %s" % (sorted(r.strings()), n.stat(r.stat()))
    if kind == "acl_stat":
        return "acl=%s %s" % (r.acl(), n.stat(r.stat()))
    if kind == "int":
        return "n=%d" % r.int()
    if kind == "strings_sorted":
        return "strings=%s" % sorted(r.strings())
    if kind == "client_info":
        return "info=%s" % sorted(r.vector(lambda x: (x.string(), x.string())))
    if kind == "multi":
        out = []
        for res in jute.parse_multi_response(r.data[r.pos:]):
            v = res.value
            if res.type in (Op.CREATE2, Op.CREATE_CONTAINER, Op.CREATE_TTL):
                v = "%s %s" % (v[0], n.stat(v[1]))
            elif res.type == Op.SET_DATA:
                v = n.stat(v)
            out.append("(type=%d err=%d %s)" % (res.type, res.err, v))
        r.pos = len(r.data)
        return "results=[" + ", ".join(out) + "]"
    raise AssertionError(kind)


def transcript_steps():
    c, w = jute.create_body, jute.Writer
    eph, seq = CreateMode.EPHEMERAL, CreateMode.PERSISTENT_SEQUENTIAL
    acl_body = w().string("/g").acl([(jute.PERM_ALL, "world", "anyone")]).int(0).bytes()
    return [
        ("exists /", Op.EXISTS, jute.path_watch_body("/"), "stat"),
        ("getChildren2 /", Op.GET_CHILDREN2, jute.path_watch_body("/"), "children_stat"),
        ("getChildren /zookeeper", Op.GET_CHILDREN, jute.path_watch_body("/zookeeper"), "children"),
        ("create /g", Op.CREATE, c("/g", b"abc"), "path"),
        ("create2 /g/c1", Op.CREATE2, c("/g/c1", b"x"), "path_stat"),
        ("create2 /g/c1 again", Op.CREATE2, c("/g/c1"), "none"),
        ("create /missing/x", Op.CREATE, c("/missing/x"), "none"),
        ("create2 /g/s- seq", Op.CREATE2, c("/g/s-", b"", seq), "path_stat"),
        ("create2 /g/e eph", Op.CREATE2, c("/g/e", b"", eph), "path_stat"),
        ("create /g/e/x", Op.CREATE, c("/g/e/x"), "none"),
        ("create /g/ bad path", Op.CREATE, c("/g/"), "none"),
        ("exists /g watch", Op.EXISTS, jute.path_watch_body("/g", True), "stat"),
        ("setData /g v0", Op.SET_DATA, jute.set_data_body("/g", b"defg", 0), "stat"),
        ("setData /g v0 again", Op.SET_DATA, jute.set_data_body("/g", b"zzz", 0), "none"),
        ("getData /g", Op.GET_DATA, jute.path_watch_body("/g"), "data_stat"),
        ("getChildren2 /g watch", Op.GET_CHILDREN2, jute.path_watch_body("/g", True), "children_stat"),
        ("exists /nope", Op.EXISTS, jute.path_watch_body("/nope"), "none"),
        ("getData /nope", Op.GET_DATA, jute.path_watch_body("/nope"), "none"),
        ("delete /g", Op.DELETE, jute.delete_body("/g"), "none"),
        ("delete /g/c1 v5", Op.DELETE, jute.delete_body("/g/c1", 5), "none"),
        ("delete /g/c1", Op.DELETE, jute.delete_body("/g/c1", 0), "none"),
        ("getACL /g", Op.GET_ACL, jute.path_body("/g"), "acl_stat"),
        ("setACL /g v0", Op.SET_ACL, acl_body, "stat"),
        ("multi ok", Op.MULTI, jute.multi_body([
            (Op.CREATE, c("/g/m1", b"1")), (Op.CREATE2, c("/g/m2")),
            (Op.SET_DATA, jute.set_data_body("/g/m1", b"22", 0)), (Op.CHECK, jute.check_body("/g/m1", 1)),
            (Op.DELETE, jute.delete_body("/g/m2"))]), "multi"),
        ("multi fail", Op.MULTI, jute.multi_body([
            (Op.CREATE, c("/g/m3")), (Op.DELETE, jute.delete_body("/g/none")), (Op.CREATE, c("/g/m4"))]), "multi"),
        ("multi empty", Op.MULTI, jute.multi_body([]), "multi"),
        ("sync /g", Op.SYNC, jute.path_body("/g"), "path"),
        ("getAllChildrenNumber /g", Op.GET_ALL_CHILDREN_NUMBER, jute.path_body("/g"), "int"),
        ("getEphemerals /g", Op.GET_EPHEMERALS, jute.path_body("/g"), "strings_sorted"),
        ("whoAmI", Op.WHO_AM_I, b"", "client_info"),
        ("addWatch /g/p persistent", Op.ADD_WATCH, jute.add_watch_body("/g/p", AddWatchMode.PERSISTENT), "int"),
        ("create /g/p", Op.CREATE, c("/g/p"), "path"),
        ("removeWatches /g/p any", Op.REMOVE_WATCHES, jute.remove_watches_body("/g/p", WatcherType.ANY), "none"),
        ("removeWatches /g/p any again", Op.REMOVE_WATCHES,
         jute.remove_watches_body("/g/p", WatcherType.ANY), "none"),
        ("createContainer /ct", Op.CREATE_CONTAINER, c("/ct", b"", CreateMode.CONTAINER), "path_stat"),
        ("createTTL /ttl", Op.CREATE_TTL, c("/ttl", b"", CreateMode.PERSISTENT_WITH_TTL, ttl=3_600_000),
         "path_stat"),
        ("createTTL /ttl0 ttl=0", Op.CREATE_TTL, c("/ttl0", b"", CreateMode.PERSISTENT_WITH_TTL, ttl=0), "none"),
        ("delete /g/e (ephemeral)", Op.DELETE, jute.delete_body("/g/e"), "none"),
        ("exists /", Op.EXISTS, jute.path_watch_body("/"), "stat"),
        ("closeSession", Op.CLOSE_SESSION, b"", "none"),
    ]


def run_transcript(srv):
    client = jute.RawClient(srv.host, srv.port)
    lines = []
    try:
        resp = client.connect(10000)
        n = Normaliser(resp.session_id)
        lines.append("connect: protocol=%d timeout=%d sid_nonzero=%s passwd_len=%d read_only=%s len=%d" % (
            resp.protocol_version, resp.timeout, resp.session_id != 0, len(resp.passwd),
            resp.read_only, len(resp.raw)))
        for label, op, body, kind in transcript_steps():
            xid = client.send(op, body)
            while True:
                k, item = client.read_one()
                if k == "event":
                    lines.append("  event type=%d state=%d path=%s zxid=%d" % (
                        item.type, item.state, item.path, item.zxid))
                    continue
                assert item.xid == xid, "%s: reply xid %d, expected %d" % (label, item.xid, xid)
                r = Reader(item.body)
                decoded = "" if item.err else _decode(n, kind, r)
                assert r.at_end(), "%s: %d undecoded bytes in reply" % (label, r.remaining)
                lines.append(("%s -> zxid=%s err=%d %s" % (label, n.zxid(item.zxid), item.err, decoded)).rstrip())
                break
        jute.wait_for_eof(client.sock, 10)
        lines.append("closed by server")
    finally:
        client.close_socket()
    return lines


def test_reply_transcript_matches_golden(make_server):
    srv = make_server()
    lines = run_transcript(srv)
    text = "\n".join(lines) + "\n"
    if os.environ.get("PADDOCK_IT_WRITE_GOLDEN") == "1" and srv.kind == "zookeeper":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    expected = GOLDEN.read_text()
    if text != expected:
        diff = "".join(difflib.unified_diff(
            expected.splitlines(True), text.splitlines(True), "golden (ZooKeeper 3.8)", srv.kind))
        pytest.fail("reply transcript differs from ZooKeeper's:\n" + diff)


# --- connection limits ------------------------------------------------------------------


def test_max_client_cnxns_per_address(make_server):
    srv = make_server(maxClientCnxns=2)

    def try_connect():
        try:
            return srv.raw()
        except (jute.ConnectionClosed, OSError):
            return None

    # the readiness probes' 4lw connections may take a moment to go away
    first = wait_until(try_connect, timeout=10, message="first connection")
    second = wait_until(try_connect, timeout=10, message="second connection")
    try:
        # over the limit: the connection is dropped without a reply (so
        # fast that connect() or send() itself may already fail)
        try:
            third = srv.raw_socket()
        except OSError:
            third = None
        if third is not None:
            try:
                third.sendall(jute.frame(jute.connect_request(10000)))
            except OSError:
                pass
            try:
                assert jute.wait_for_eof(third, 10) == b""
            finally:
                third.close()
        assert first.exists("/")[0].err == 0 and second.exists("/")[0].err == 0
        second.close()
        # a slot is free again once a connection closes
        wait_until(try_connect, timeout=10, message="a connection slot to free up").close()
    finally:
        first.close()
        second.close()
