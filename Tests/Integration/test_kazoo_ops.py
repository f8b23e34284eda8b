"""Znode semantics as seen through kazoo (the Python client).

Kazoo 2.11 normalises paths on the client side and lacks TTL/container
creates, addWatch and removeWatches; where a test needs those it sends the
request through jute.RawClient and still observes the result through kazoo.
Zxids are only ever compared with each other, never with fixed values.
"""

import threading
import time

import pytest
from kazoo.exceptions import (
    BadArgumentsError,
    BadVersionError,
    NoChildrenForEphemeralsError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    RolledBackError,
    RuntimeInconsistency,
    UnimplementedError,
)
from kazoo.protocol.serialization import Create, Delete, SetData
from kazoo.protocol.states import EventType
from kazoo.security import OPEN_ACL_UNSAFE

import jute
from conftest import wait_until

NOW_SLACK_S = 60
REAP_DEADLINE_S = 10.0  # container/TTL reaping: many check intervals


def assert_recent(ms):
    assert abs(ms / 1000.0 - time.time()) < NOW_SLACK_S, "time %d is not within a minute of now" % ms


def kazoo_raw_call(client, request):
    """Sends a kazoo request object without kazoo's client-side path
    normalisation, so the server's own validation is exercised."""
    result = client.handler.async_result()
    client._call(request, result)
    return result.get(timeout=10)


class Recorder:
    """A kazoo watch callback that records events and signals each one."""

    def __init__(self):
        self.events = []
        self.cond = threading.Condition()

    def __call__(self, event):
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def wait(self, count=1, timeout=10.0):
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.events) >= count, timeout)
        assert ok, "expected %d watch events, got %r" % (count, self.events)
        return self.events


def barrier(client, path):
    """Returns once every watch event the server sent this client before now
    has been dispatched: kazoo runs watch callbacks in order on one thread,
    so a fresh exists-watch fired after that point arrives after them."""
    rec = Recorder()
    client.exists(path, watch=rec)
    client.create(path)
    rec.wait(1)
    client.delete(path)


# --- basic CRUD and Stat ------------------------------------------------------


def test_create_get_set_delete_stat_fields(zk, unique_path):
    path, stat = zk.create(unique_path, b"hello", include_data=True)
    assert path == unique_path
    assert stat.czxid == stat.mzxid == stat.pzxid
    assert stat.czxid > 0
    assert stat.ctime == stat.mtime
    assert_recent(stat.ctime)
    assert (stat.version, stat.cversion, stat.aversion) == (0, 0, 0)
    assert stat.ephemeralOwner == 0
    assert stat.dataLength == 5
    assert stat.numChildren == 0

    data, got = zk.get(unique_path)
    assert data == b"hello"
    assert got == stat

    set_stat = zk.set(unique_path, b"changed!", version=0)
    assert set_stat.version == 1
    assert set_stat.mzxid > set_stat.czxid
    assert set_stat.czxid == stat.czxid
    assert set_stat.pzxid == stat.pzxid, "setData must not touch pzxid"
    assert set_stat.ctime == stat.ctime
    assert set_stat.mtime >= stat.mtime
    assert_recent(set_stat.mtime)
    assert set_stat.dataLength == 8
    assert (set_stat.cversion, set_stat.aversion) == (0, 0)
    assert zk.get(unique_path) == (b"changed!", set_stat)

    # version -1 means "any"
    any_stat = zk.set(unique_path, b"", version=-1)
    assert any_stat.version == 2
    assert any_stat.mzxid > set_stat.mzxid
    assert any_stat.dataLength == 0

    zk.delete(unique_path, version=2)
    assert zk.exists(unique_path) is None
    with pytest.raises(NoNodeError):
        zk.get(unique_path)


def test_bad_version_leaves_node_unchanged(zk, unique_path):
    zk.create(unique_path, b"v0")
    zk.set(unique_path, b"v1")
    before = zk.exists(unique_path)
    with pytest.raises(BadVersionError):
        zk.set(unique_path, b"nope", version=0)
    with pytest.raises(BadVersionError):
        zk.set(unique_path, b"nope", version=7)
    with pytest.raises(BadVersionError):
        zk.delete(unique_path, version=0)
    assert zk.get(unique_path) == (b"v1", before)
    zk.delete(unique_path, version=1)
    assert zk.exists(unique_path) is None


def test_null_and_empty_data_are_distinct(zk, unique_path):
    # a null buffer (length -1) is stored and returned as null, not as b""
    zk.create(unique_path, None)
    data, stat = zk.get(unique_path)
    assert data is None
    assert stat.dataLength == 0
    zk.create(unique_path + "-empty", b"")
    data, stat = zk.get(unique_path + "-empty")
    assert data == b""
    assert stat.dataLength == 0
    zk.set(unique_path, b"")
    assert zk.get(unique_path)[0] == b""
    zk.set(unique_path + "-empty", None)
    assert zk.get(unique_path + "-empty")[0] is None
    zk.set(unique_path, b"x" * 1000)
    assert zk.get(unique_path) == (b"x" * 1000, zk.exists(unique_path))
    assert zk.exists(unique_path).dataLength == 1000


def test_parent_stat_follows_children(zk, unique_path):
    zk.create(unique_path, b"parent")
    p0 = zk.exists(unique_path)

    _, c1 = zk.create(unique_path + "/a", include_data=True)
    p1 = zk.exists(unique_path)
    assert p1.cversion == 1
    assert p1.numChildren == 1
    assert p1.pzxid == c1.czxid
    assert (p1.mzxid, p1.version, p1.mtime) == (p0.mzxid, p0.version, p0.mtime)

    _, c2 = zk.create(unique_path + "/b", include_data=True)
    p2 = zk.exists(unique_path)
    assert (p2.cversion, p2.numChildren, p2.pzxid) == (2, 2, c2.czxid)

    zk.delete(unique_path + "/a")
    delete_zxid = zk.last_zxid
    p3 = zk.exists(unique_path)
    assert p3.cversion == 3, "delete bumps the parent's cversion"
    assert p3.numChildren == 1
    assert p3.pzxid == delete_zxid
    assert p3.pzxid > c2.czxid
    assert (p3.mzxid, p3.version) == (p0.mzxid, p0.version)

    # data changes of a child are not the parent's business
    zk.set(unique_path + "/b", b"x")
    assert zk.exists(unique_path) == p3

    children, p4 = zk.get_children(unique_path, include_data=True)
    assert children == ["b"]
    assert p4 == p3


def test_acl_version(zk, unique_path):
    zk.create(unique_path)
    acls, stat = zk.get_acls(unique_path)
    assert [(a.perms, a.id.scheme, a.id.id) for a in acls] == [(31, "world", "anyone")]
    assert stat.aversion == 0
    new = zk.set_acls(unique_path, OPEN_ACL_UNSAFE, version=0)
    assert new.aversion == 1
    assert new.version == 0 and new.mzxid == stat.mzxid
    with pytest.raises(BadVersionError):
        zk.set_acls(unique_path, OPEN_ACL_UNSAFE, version=0)


# --- errors -------------------------------------------------------------------


def test_node_exists_no_node_not_empty(zk, unique_path):
    zk.create(unique_path)
    with pytest.raises(NodeExistsError):
        zk.create(unique_path)
    with pytest.raises(NoNodeError):
        zk.create(unique_path + "/missing/child")
    with pytest.raises(NoNodeError):
        zk.set(unique_path + "/missing", b"")
    with pytest.raises(NoNodeError):
        zk.delete(unique_path + "/missing")
    with pytest.raises(NoNodeError):
        zk.get_children(unique_path + "/missing")
    assert zk.exists(unique_path + "/missing") is None
    zk.create(unique_path + "/kid")
    with pytest.raises(NotEmptyError):
        zk.delete(unique_path)
    assert zk.get_children(unique_path) == ["kid"]
    with pytest.raises(NodeExistsError):
        zk.create("/")
    with pytest.raises(BadArgumentsError):
        zk.delete("/")


def test_no_children_for_ephemerals(zk, unique_path):
    zk.create(unique_path, ephemeral=True)
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(unique_path + "/child")
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(unique_path + "/seq-", sequence=True)
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(unique_path + "/eph", ephemeral=True)
    assert zk.get_children(unique_path) == []


# Server-side path validation.  Kazoo would normalise these paths, so the
# requests are sent as raw kazoo request objects.  ZooKeeper checks a
# create's parent before validating the full path, so a path whose parent
# part is itself malformed (e.g. "/a//b" -> parent "/a/") reports NoNode.
CREATE_PATH_ERRORS = [
    ("{p}/", BadArgumentsError),  # trailing slash, parent exists
    ("{p}/.", BadArgumentsError),
    ("{p}/..", BadArgumentsError),
    ("/zookeeper/..", BadArgumentsError),
    ("/.", BadArgumentsError),
    ("relative", BadArgumentsError),  # no slash at all
    ("{p}/a\u0001b", BadArgumentsError),  # control character
    ("{p}/a\u007fb", BadArgumentsError),
    ("{p}/a\ufff5", BadArgumentsError),  # reserved code point
    ("{p}/a\u0000b", BadArgumentsError),  # NUL
    ("{p}//b", NoNodeError),  # parent "{p}/" does not exist
    ("{p}/./b", NoNodeError),
    ("{p}/missing/", NoNodeError),
]


@pytest.mark.parametrize("template,error", CREATE_PATH_ERRORS,
                         ids=[repr(t) for t, _ in CREATE_PATH_ERRORS])
def test_create_path_validation(zk, unique_path, template, error):
    zk.ensure_path(unique_path)
    path = template.format(p=unique_path)
    with pytest.raises(error):
        kazoo_raw_call(zk, Create(path, b"", OPEN_ACL_UNSAFE, 0))
    assert zk.get_children(unique_path) == []


def test_set_and_delete_path_validation(zk, unique_path):
    zk.ensure_path(unique_path)
    for bad in (unique_path + "/", unique_path + "//x", "relative", unique_path + "/."):
        with pytest.raises(BadArgumentsError):
            kazoo_raw_call(zk, SetData(bad, b"", -1))
    with pytest.raises(BadArgumentsError):
        kazoo_raw_call(zk, Delete("relative", -1))
    # delete checks the parent exists before validating the whole path
    with pytest.raises(NoNodeError):
        kazoo_raw_call(zk, Delete(unique_path + "//x", -1))
    # dots and control characters allowed elsewhere in a name
    for ok in (unique_path + "/..x", unique_path + "/.x", unique_path + "/x.y", unique_path + "/\u00e9"):
        zk.create(ok)
        zk.delete(ok)


# --- sequential nodes -----------------------------------------------------------


def test_sequential_suffix_counts_child_creations(zk, unique_path):
    zk.create(unique_path)
    assert zk.create(unique_path + "/job-", sequence=True) == unique_path + "/job-0000000000"
    assert zk.create(unique_path + "/job-", sequence=True) == unique_path + "/job-0000000001"
    zk.create(unique_path + "/plain")  # a plain create also advances the counter
    assert zk.create(unique_path + "/other", sequence=True) == unique_path + "/other0000000003"
    zk.delete(unique_path + "/plain")
    zk.delete(unique_path + "/job-0000000000")
    stat = zk.exists(unique_path)
    # visible cversion counts creations and deletions...
    assert stat.cversion == 6
    assert stat.numChildren == 2
    # ...but the suffix is the number of creations (ZooKeeper stores the
    # creation count and shows 2*creations - numChildren as cversion)
    assert zk.create(unique_path + "/job-", sequence=True) == unique_path + "/job-0000000004"
    eph = zk.create(unique_path + "/e-", ephemeral=True, sequence=True)
    assert eph == unique_path + "/e-0000000005"
    assert zk.exists(eph).ephemeralOwner == zk.client_id[0]
    # a failed create does not advance it
    with pytest.raises(NodeExistsError):
        zk.create(unique_path + "/other0000000003")
    assert zk.create(unique_path + "/", sequence=True) == unique_path + "/0000000006"
    assert sorted(zk.get_children(unique_path)) == [
        "0000000006", "e-0000000005", "job-0000000001", "job-0000000004", "other0000000003"]


# --- ephemeral nodes --------------------------------------------------------------


def test_ephemeral_owner_and_removal_on_close(server, kazoo_factory, unique_path):
    owner = kazoo_factory(server)
    observer = kazoo_factory(server)
    observer.create(unique_path)
    path, stat = owner.create(unique_path + "/eph", b"x", ephemeral=True, include_data=True)
    sid = owner.client_id[0]
    assert stat.ephemeralOwner == sid
    assert observer.exists(path).ephemeralOwner == sid
    assert observer.exists(unique_path).ephemeralOwner == 0

    data_rec, child_rec = Recorder(), Recorder()
    observer.get(path, watch=data_rec)
    observer.get_children(unique_path, watch=child_rec)
    owner.stop()  # closeSession

    ev = data_rec.wait(1)[0]
    assert (ev.type, ev.path) == (EventType.DELETED, path)
    ev = child_rec.wait(1)[0]
    assert (ev.type, ev.path) == (EventType.CHILD, unique_path)
    assert observer.exists(path) is None
    assert observer.get_children(unique_path) == []
    assert observer.exists(unique_path).cversion == 2


def test_ephemeral_removed_on_session_expiry(fast_server, kazoo_factory, raw_factory, unique_path):
    observer = kazoo_factory(fast_server)
    observer.create(unique_path)
    dying = raw_factory(fast_server, timeout_ms=1000)
    assert dying.session.timeout == 1000
    rep, res = dying.create(unique_path + "/eph", flags=jute.CreateMode.EPHEMERAL)
    assert rep.err == 0
    assert res[1].ephemeralOwner == dying.session.session_id

    rec, child_rec = Recorder(), Recorder()
    assert observer.exists(unique_path + "/eph", watch=rec) is not None
    observer.get_children(unique_path, watch=child_rec)
    lost_at = time.monotonic()
    dying.close_socket()  # no closeSession: the session must time out
    # the session (and its node) outlives the connection for a while
    assert observer.exists(unique_path + "/eph") is not None

    ev = rec.wait(1, timeout=15)[0]
    elapsed = time.monotonic() - lost_at
    assert (ev.type, ev.path) == (EventType.DELETED, unique_path + "/eph")
    assert elapsed >= 0.5, "ephemeral removed %.2fs after disconnect, before the session timeout" % elapsed
    assert child_rec.wait(1)[0].type == EventType.CHILD
    assert observer.get_children(unique_path) == []
    # the expired session cannot be resumed
    retry = jute.RawClient(fast_server.host, fast_server.port)
    try:
        resp = retry.connect(1000, session_id=dying.session.session_id, passwd=dying.session.passwd)
        assert resp.raw == jute.REFUSED_CONNECT_RESPONSE
        jute.wait_for_eof(retry.sock, 10)
    finally:
        retry.close_socket()


def test_resume_session_with_id_and_password(server, kazoo_factory, raw_factory, unique_path):
    first = raw_factory(server, timeout_ms=10000)
    sid, passwd = first.session.session_id, first.session.passwd
    assert first.create(unique_path, flags=jute.CreateMode.EPHEMERAL)[0].err == 0
    first.close_socket()  # drop the connection, keep the session

    resumed = kazoo_factory(server, client_id=(sid, passwd))
    assert resumed.client_id[0] == sid
    assert resumed.client_id[1] == passwd
    assert resumed.exists(unique_path).ephemeralOwner == sid
    resumed.set(unique_path, b"still mine")

    observer = kazoo_factory(server)
    rec = Recorder()
    observer.exists(unique_path, watch=rec)
    resumed.stop()  # closing the resumed session removes the ephemeral
    assert rec.wait(1)[0].type == EventType.DELETED
    assert observer.exists(unique_path) is None


def test_wrong_password_is_refused(server, kazoo_factory, raw_factory, unique_path):
    owner = raw_factory(server, timeout_ms=10000)
    sid, passwd = owner.session.session_id, owner.session.passwd
    assert owner.create(unique_path, flags=jute.CreateMode.EPHEMERAL)[0].err == 0
    wrong = bytes((b ^ 0xFF) for b in passwd)

    # kazoo treats the refusal (a connect response with session id 0 and
    # timeout 0) as an expired session and then starts a new session
    client = kazoo_factory(server, client_id=(sid, wrong))
    assert client.client_id[0] not in (0, sid)
    assert client.client_id[1] != wrong
    assert client.exists(unique_path).ephemeralOwner == sid
    client.stop()
    # the original session survives the refused attempt (ZooKeeper does drop
    # its current connection, see test_raw_protocol): resume it properly
    owner.close_socket()
    again = raw_factory(server, timeout_ms=10000, session_id=sid, passwd=passwd)
    assert again.session.session_id == sid
    rep, stat = again.exists(unique_path)
    assert rep.err == 0 and stat.ephemeralOwner == sid


# --- containers and TTL nodes ----------------------------------------------------


def test_container_removed_after_last_child(zk, raw_factory, server, unique_path):
    raw = raw_factory(server)
    zk.create(unique_path)
    rep, res = raw.create(unique_path + "/box", flags=jute.CreateMode.CONTAINER,
                          op=jute.Op.CREATE_CONTAINER)
    assert rep.err == 0
    assert res[1].ephemeralOwner == 0, "containers show ephemeralOwner 0"
    rep, _ = raw.create(unique_path + "/never-used", flags=jute.CreateMode.CONTAINER,
                        op=jute.Op.CREATE_CONTAINER)
    assert rep.err == 0

    zk.create(unique_path + "/box/a")
    zk.create(unique_path + "/box/b")
    rec = Recorder()
    zk.exists(unique_path + "/box", watch=rec)
    zk.delete(unique_path + "/box/a")
    assert zk.exists(unique_path + "/box") is not None  # one child left
    zk.delete(unique_path + "/box/b")
    started = time.monotonic()
    ev = rec.wait(1, timeout=REAP_DEADLINE_S)[0]
    assert (ev.type, ev.path) == (EventType.DELETED, unique_path + "/box")
    assert time.monotonic() - started < REAP_DEADLINE_S
    # a container that never had a child is left alone
    assert zk.exists(unique_path + "/never-used") is not None
    assert zk.get_children(unique_path) == ["never-used"]


def test_container_with_child_kept(zk, raw_factory, server, unique_path):
    raw = raw_factory(server)
    zk.create(unique_path)
    for name in ("keep", "sentinel"):
        rep, _ = raw.create(unique_path + "/" + name, flags=jute.CreateMode.CONTAINER,
                            op=jute.Op.CREATE_CONTAINER)
        assert rep.err == 0
    zk.create(unique_path + "/keep/a")
    zk.create(unique_path + "/keep/b")
    zk.delete(unique_path + "/keep/a")
    zk.create(unique_path + "/sentinel/x")
    rec = Recorder()
    zk.exists(unique_path + "/sentinel", watch=rec)
    zk.delete(unique_path + "/sentinel/x")
    assert rec.wait(1, timeout=REAP_DEADLINE_S)[0].type == EventType.DELETED
    # the reaper ran (it removed the sentinel) yet kept the non-empty container
    assert zk.get_children(unique_path + "/keep") == ["b"]


def test_ttl_node_removed_after_ttl(zk, raw_factory, server, unique_path):
    raw = raw_factory(server)
    zk.create(unique_path)
    ttl_ms = 500
    rep, res = raw.create(unique_path + "/ttl", b"t", flags=jute.CreateMode.PERSISTENT_WITH_TTL, ttl=ttl_ms)
    assert rep.err == 0
    created = time.monotonic()
    stat = res[1]
    assert stat.ephemeralOwner == 0, "TTL nodes show ephemeralOwner 0"
    assert stat.dataLength == 1
    rep, res = raw.create(unique_path + "/ttlseq-", flags=jute.CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL,
                          ttl=ttl_ms)
    assert rep.err == 0
    assert res[0] == unique_path + "/ttlseq-0000000001"

    rec = Recorder()
    assert zk.exists(unique_path + "/ttl", watch=rec) is not None
    ev = rec.wait(1, timeout=REAP_DEADLINE_S)[0]
    assert (ev.type, ev.path) == (EventType.DELETED, unique_path + "/ttl")
    assert time.monotonic() - created >= ttl_ms / 1000.0 * 0.9
    wait_until(lambda: zk.get_children(unique_path) == [], timeout=REAP_DEADLINE_S,
               message="sequential TTL node reaped")


def test_ttl_node_with_children_outlives_ttl(zk, raw_factory, server, unique_path):
    raw = raw_factory(server)
    zk.create(unique_path)
    for name in ("parent", "sentinel"):
        rep, _ = raw.create(unique_path + "/" + name, flags=jute.CreateMode.PERSISTENT_WITH_TTL, ttl=200)
        assert rep.err == 0
    zk.create(unique_path + "/parent/kid")
    rec = Recorder()
    zk.exists(unique_path + "/sentinel", watch=rec)
    assert rec.wait(1, timeout=REAP_DEADLINE_S)[0].type == EventType.DELETED
    # the TTL has passed for both, but a TTL node with a child stays
    assert zk.get_children(unique_path + "/parent") == ["kid"]
    # creating a TTL node that already exists is still NodeExists
    rep, _ = raw.create(unique_path + "/parent", flags=jute.CreateMode.PERSISTENT_WITH_TTL, ttl=200)
    assert rep.err == jute.Err.NODE_EXISTS

    rec = Recorder()
    zk.exists(unique_path + "/parent", watch=rec)
    zk.delete(unique_path + "/parent/kid")
    assert rec.wait(1, timeout=REAP_DEADLINE_S)[0].type == EventType.DELETED


@pytest.mark.parametrize("flags,ttl,op", [
    (jute.CreateMode.PERSISTENT_WITH_TTL, 0, jute.Op.CREATE_TTL),
    (jute.CreateMode.PERSISTENT_WITH_TTL, -1, jute.Op.CREATE_TTL),
    (jute.CreateMode.PERSISTENT_WITH_TTL, 1 << 60, jute.Op.CREATE_TTL),  # above the max TTL
    (jute.CreateMode.PERSISTENT, 1000, jute.Op.CREATE_TTL),  # TTL op, non-TTL mode
    (jute.CreateMode.EPHEMERAL, 1000, jute.Op.CREATE_TTL),
    (jute.CreateMode.CONTAINER, 1000, jute.Op.CREATE_TTL),
    (jute.CreateMode.PERSISTENT_WITH_TTL, None, jute.Op.CREATE2),  # TTL mode without a TTL
], ids=["ttl0", "ttl-1", "ttl-huge", "ttl-op-persistent", "ttl-op-ephemeral",
        "ttl-op-container", "ttl-mode-create2"])
def test_ttl_bad_arguments(zk, raw_factory, server, unique_path, flags, ttl, op):
    raw = raw_factory(server)
    zk.ensure_path(unique_path)
    rep = raw.call(op, jute.create_body(unique_path + "/t", b"", flags, ttl=ttl))
    assert rep.err == jute.Err.BAD_ARGUMENTS
    assert zk.exists(unique_path + "/t") is None


def test_ttl_needs_extended_types(make_server, kazoo_factory):
    srv = make_server(extendedTypesEnabled=None)
    raw = srv.raw()
    try:
        rep, _ = raw.create("/ttl", flags=jute.CreateMode.PERSISTENT_WITH_TTL, ttl=1000)
        assert rep.err == jute.Err.UNIMPLEMENTED
        # containers do not need extended types
        rep, _ = raw.create("/box", flags=jute.CreateMode.CONTAINER, op=jute.Op.CREATE_CONTAINER)
        assert rep.err == 0
    finally:
        raw.close()
    zk = kazoo_factory(srv)
    assert zk.exists("/ttl") is None
    assert zk.exists("/box") is not None
    with pytest.raises(UnimplementedError):
        kazoo_raw_call(zk, _CreateTTL("/ttl2", b"", OPEN_ACL_UNSAFE, 5, 1000))


class _CreateTTL:
    """A kazoo request object for createTTL (kazoo has none)."""

    type = jute.Op.CREATE_TTL

    def __init__(self, path, data, acl, flags, ttl):
        self.path, self.data, self.acl, self.flags, self.ttl = path, data, acl, flags, ttl

    def serialize(self):
        acl = [(a.perms, a.id.scheme, a.id.id) for a in self.acl]
        return jute.create_body(self.path, self.data, self.flags, acl=acl, ttl=self.ttl)

    @classmethod
    def deserialize(cls, data, offset):
        return jute.Reader(data, offset).string()


# --- one-shot watches ----------------------------------------------------------------


def test_data_watch_fires_once(server, kazoo_factory, unique_path):
    watcher, writer = kazoo_factory(server), kazoo_factory(server)
    writer.create(unique_path, b"0")
    rec = Recorder()
    watcher.get(unique_path, watch=rec)
    writer.set(unique_path, b"1")
    writer.set(unique_path, b"2")
    barrier(watcher, unique_path + "-barrier")
    assert [(e.type, e.path) for e in rec.events] == [(EventType.CHANGED, unique_path)]


def test_exists_watch_on_missing_node_fires_created(server, kazoo_factory, unique_path):
    watcher, writer = kazoo_factory(server), kazoo_factory(server)
    rec = Recorder()
    assert watcher.exists(unique_path, watch=rec) is None
    writer.create(unique_path)
    writer.set(unique_path, b"x")
    writer.delete(unique_path)
    barrier(watcher, unique_path + "-barrier")
    assert [(e.type, e.path) for e in rec.events] == [(EventType.CREATED, unique_path)]


def test_child_watch_fires_once_and_not_for_data(server, kazoo_factory, unique_path):
    watcher, writer = kazoo_factory(server), kazoo_factory(server)
    writer.create(unique_path)
    writer.create(unique_path + "/existing")
    rec = Recorder()
    watcher.get_children(unique_path, watch=rec)
    writer.set(unique_path, b"data change is not a child change")
    writer.set(unique_path + "/existing", b"nor is a child's data")
    writer.create(unique_path + "/a")
    writer.create(unique_path + "/b")
    barrier(watcher, unique_path + "-barrier")
    assert [(e.type, e.path) for e in rec.events] == [(EventType.CHILD, unique_path)]


def test_delete_fires_data_and_child_watches(server, kazoo_factory, unique_path):
    watcher, writer = kazoo_factory(server), kazoo_factory(server)
    writer.create(unique_path)
    writer.create(unique_path + "/n")
    data_rec, child_rec, parent_rec = Recorder(), Recorder(), Recorder()
    watcher.get(unique_path + "/n", watch=data_rec)
    watcher.get_children(unique_path + "/n", watch=child_rec)
    watcher.get_children(unique_path, watch=parent_rec)
    writer.delete(unique_path + "/n")
    barrier(watcher, unique_path + "-barrier")
    assert [(e.type, e.path) for e in data_rec.events] == [(EventType.DELETED, unique_path + "/n")]
    assert [(e.type, e.path) for e in child_rec.events] == [(EventType.DELETED, unique_path + "/n")]
    assert [(e.type, e.path) for e in parent_rec.events] == [(EventType.CHILD, unique_path)]


def test_own_write_triggers_own_watch(zk, unique_path):
    zk.create(unique_path)
    rec = Recorder()
    zk.get(unique_path, watch=rec)
    zk.set(unique_path, b"mine")
    ev = rec.wait(1)[0]
    assert (ev.type, ev.path) == (EventType.CHANGED, unique_path)


def test_failed_write_fires_no_watch(server, kazoo_factory, unique_path):
    watcher, writer = kazoo_factory(server), kazoo_factory(server)
    writer.create(unique_path)
    rec = Recorder()
    watcher.get(unique_path, watch=rec)
    with pytest.raises(BadVersionError):
        writer.set(unique_path, b"x", version=42)
    with pytest.raises(NodeExistsError):
        writer.create(unique_path)
    barrier(watcher, unique_path + "-barrier")
    assert rec.events == []


# --- multi (transactions) -------------------------------------------------------------


def test_transaction_success_results(zk, unique_path):
    zk.create(unique_path, b"v0")
    t = zk.transaction()
    t.create(unique_path + "/a", b"a")
    t.set_data(unique_path, b"v1", version=0)
    t.check(unique_path, 1)
    t.create(unique_path + "/s-", sequence=True)
    t.delete(unique_path + "/a")
    results = t.commit()
    multi_zxid = zk.last_zxid
    assert results[0] == unique_path + "/a"
    assert results[1].version == 1
    assert results[1].mzxid == multi_zxid, "all ops of a multi share one zxid"
    assert results[2] is True
    assert results[3] == unique_path + "/s-0000000001"
    assert results[4] is True
    stat = zk.exists(unique_path)
    assert stat.pzxid == multi_zxid
    assert zk.get_children(unique_path) == ["s-0000000001"]
    assert zk.exists(unique_path + "/s-0000000001").czxid == multi_zxid


def test_transaction_failure_is_all_or_nothing(zk, unique_path):
    zk.create(unique_path, b"v0")
    before = zk.exists(unique_path)
    t = zk.transaction()
    t.create(unique_path + "/new", b"x")
    t.set_data(unique_path, b"v1")
    t.create(unique_path)  # NodeExists: the failing op
    t.delete(unique_path + "/new")
    t.check(unique_path, 0)
    results = t.commit()
    assert [type(r) for r in results] == [
        RolledBackError, RolledBackError, NodeExistsError, RuntimeInconsistency, RuntimeInconsistency]
    assert zk.exists(unique_path + "/new") is None
    assert zk.get(unique_path) == (b"v0", before)


def test_transaction_check_version_failure(zk, unique_path):
    zk.create(unique_path)
    t = zk.transaction()
    t.check(unique_path, 5)
    t.create(unique_path + "/x")
    results = t.commit()
    assert [type(r) for r in results] == [BadVersionError, RuntimeInconsistency]
    t = zk.transaction()
    t.create(unique_path + "/y")
    t.check(unique_path + "/missing", 0)
    results = t.commit()
    assert [type(r) for r in results] == [RolledBackError, NoNodeError]
    assert zk.get_children(unique_path) == []


def test_transaction_sees_its_own_earlier_ops(zk, unique_path):
    t = zk.transaction()
    t.create(unique_path)
    t.create(unique_path + "/child")
    t.set_data(unique_path + "/child", b"x", version=0)
    t.check(unique_path + "/child", 1)
    t.delete(unique_path + "/child", version=1)
    results = t.commit()
    assert results[0] == unique_path and results[1] == unique_path + "/child"
    assert results[3] is True and results[4] is True
    stat = zk.exists(unique_path)
    assert stat.numChildren == 0 and stat.cversion == 2


# --- sync, reads after writes ---------------------------------------------------------


def test_sync_then_read_sees_other_clients_write(server, kazoo_factory, unique_path):
    reader, writer = kazoo_factory(server), kazoo_factory(server)
    writer.create(unique_path, b"fresh")
    assert reader.sync(unique_path) == unique_path
    assert reader.get(unique_path)[0] == b"fresh"
    # sync does not check that the node exists
    assert reader.sync(unique_path + "/nope") == unique_path + "/nope"


def test_many_children_listing(zk, unique_path):
    zk.create(unique_path)
    names = ["c%03d" % i for i in range(50)]
    t = zk.transaction()
    for n in names:
        t.create(unique_path + "/" + n)
    assert all(isinstance(r, str) for r in t.commit())
    assert sorted(zk.get_children(unique_path)) == names
    assert zk.exists(unique_path).numChildren == 50
