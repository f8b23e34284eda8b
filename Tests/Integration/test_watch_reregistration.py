"""setWatches / setWatches2 after a reconnect, checkWatches, multiRead and reconfig, through the
raw protocol, on paddock and on ZooKeeper 3.8 alike."""
import jute
from jute import Err, EventType, Op, Reader, Writer, WatcherType


def set_watches_body(relative_zxid, data=(), exist=(), child=(), persistent=None, recursive=None):
    w = Writer().long(relative_zxid)
    for paths in (data, exist, child) + (() if persistent is None else (persistent, recursive)):
        w.vector(list(paths), lambda w2, p: w2.string(p))
    return w.bytes()


def last_zxid(client):
    return client.ping().zxid


def test_set_watches_fires_what_changed_while_away_before_its_reply(server, raw_factory, unique_path):
    writer = raw_factory(server)
    base = unique_path
    for name in ("changed", "deleted", "parent", "same"):
        assert writer.create(f"{base}-{name}", b"v")[0].err == 0
    seen = last_zxid(writer)
    # changes the returning client missed
    assert writer.set_data(f"{base}-changed", b"w")[0].err == 0
    assert writer.delete(f"{base}-deleted").err == 0
    assert writer.create(f"{base}-parent/kid")[0].err == 0
    assert writer.create(f"{base}-born")[0].err == 0

    back = raw_factory(server)
    xid = back.send(Op.SET_WATCHES, set_watches_body(
        seen,
        data=[f"{base}-changed", f"{base}-deleted", f"{base}-same"],
        exist=[f"{base}-born", f"{base}-unborn"],
        child=[f"{base}-parent"]), xid=jute.SET_WATCHES_XID)
    reply = back.wait_reply(xid)
    assert reply.err == 0
    kinds = [kind for kind, _ in back.log]
    assert kinds[-1] == "reply", "every missed-change event comes before the setWatches reply"
    got = sorted((ev.type, ev.path) for ev in back.events)
    assert got == sorted([
        (EventType.NODE_DATA_CHANGED, f"{base}-changed"),
        (EventType.NODE_DELETED, f"{base}-deleted"),
        (EventType.NODE_CREATED, f"{base}-born"),
        (EventType.NODE_CHILDREN_CHANGED, f"{base}-parent"),
    ])
    back.events.clear()
    # the watches that had nothing to report are armed now
    assert writer.set_data(f"{base}-same", b"x")[0].err == 0
    ev = back.wait_event()
    assert (ev.type, ev.path) == (EventType.NODE_DATA_CHANGED, f"{base}-same")
    assert writer.create(f"{base}-unborn")[0].err == 0
    ev = back.wait_event()
    assert (ev.type, ev.path) == (EventType.NODE_CREATED, f"{base}-unborn")


def test_set_watches2_rearms_persistent_watches_without_events(server, raw_factory, unique_path):
    writer = raw_factory(server)
    assert writer.create(unique_path, b"v")[0].err == 0
    seen = last_zxid(writer)
    assert writer.set_data(unique_path, b"w")[0].err == 0
    back = raw_factory(server)
    xid = back.send(Op.SET_WATCHES2, set_watches_body(seen, persistent=[unique_path], recursive=[unique_path]),
                    xid=jute.SET_WATCHES_XID)
    assert back.wait_reply(xid).err == 0
    assert back.events == [], "persistent watches are re-added, not fired for the past"
    assert writer.create(unique_path + "/kid")[0].err == 0
    assert writer.set_data(unique_path, b"x")[0].err == 0
    events = [back.wait_event() for _ in range(2)]
    # the recursive registration (the later one) replaces the persistent one: it reports the
    # child's creation and the data change, and no NodeChildrenChanged
    assert sorted((e.type, e.path) for e in events) == sorted([
        (EventType.NODE_CREATED, unique_path + "/kid"),
        (EventType.NODE_DATA_CHANGED, unique_path),
    ])
    assert back.expect_no_event() == []


def test_check_watches(server, raw_factory, unique_path):
    c = raw_factory(server)
    assert c.create(unique_path)[0].err == 0
    body = Writer().string(unique_path).int(WatcherType.DATA).bytes()
    assert c.call(Op.CHECK_WATCHES, body).err == Err.NO_WATCHER
    assert c.exists(unique_path, watch=True)[0].err == 0
    assert c.call(Op.CHECK_WATCHES, body).err == 0
    assert c.call(Op.CHECK_WATCHES, Writer().string(unique_path).int(WatcherType.CHILDREN).bytes()).err == Err.NO_WATCHER


def test_multi_read_answers_each_op_on_its_own(server, raw_factory, unique_path):
    c = raw_factory(server)
    assert c.create(unique_path, b"data")[0].err == 0
    assert c.create(unique_path + "/kid")[0].err == 0
    body = Writer()
    for op, path in ((Op.GET_DATA, unique_path), (Op.GET_CHILDREN, unique_path), (Op.GET_DATA, unique_path + "/nope")):
        body.int(op).bool(False).int(-1).string(path).bool(False)
    body.int(-1).bool(True).int(-1)
    rep = c.call(Op.MULTI_READ, body.bytes())
    assert rep.err == 0
    r = Reader(rep.body)
    assert (r.int(), r.bool(), r.int()) == (Op.GET_DATA, False, 0)
    assert r.buffer() == b"data"
    r.stat()
    assert (r.int(), r.bool(), r.int()) == (Op.GET_CHILDREN, False, 0)
    assert r.strings() == ["kid"]
    assert (r.int(), r.bool(), r.int()) == (-1, False, Err.NO_NODE)
    assert r.int() == Err.NO_NODE
    assert (r.int(), r.bool(), r.int()) == (-1, True, -1)
    assert r.at_end()


def test_reconfig_is_refused_as_disabled_and_takes_a_zxid(server, raw_factory):
    c = raw_factory(server)
    before = last_zxid(c)
    body = Writer().string("").string("").string("").long(-1).bytes()
    rep = c.call(Op.RECONFIG, body)
    assert rep.err == Err.RECONFIG_DISABLED
    assert rep.zxid == before + 1


def test_latest_watch_registration_wins(server, raw_factory, unique_path):
    writer = raw_factory(server)
    assert writer.create(unique_path)[0].err == 0
    # persistent, then recursive on the same path: only the recursive behaviour remains
    c = raw_factory(server)
    assert c.add_watch(unique_path, 0).err == 0
    assert c.add_watch(unique_path, 1).err == 0
    assert writer.create(unique_path + "/a")[0].err == 0
    assert [(e.type, e.path) for e in c.expect_no_event(0.5)] == [(EventType.NODE_CREATED, unique_path + "/a")]
    # persistent, then a one-shot data watch: the data watch is one-shot now
    d = raw_factory(server)
    assert d.add_watch(unique_path, 0).err == 0
    assert d.get_data(unique_path, watch=True)[0].err == 0
    assert writer.set_data(unique_path, b"1")[0].err == 0
    assert writer.set_data(unique_path, b"2")[0].err == 0
    assert [(e.type, e.path) for e in d.expect_no_event(0.5)] == [(EventType.NODE_DATA_CHANGED, unique_path)]
