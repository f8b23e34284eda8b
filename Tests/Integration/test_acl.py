"""ACL enforcement and the built-in auth schemes (world, auth, digest, ip, super).

ZooKeeper 3.8's rules, which Apache ZooKeeper itself checks as the oracle:
CREATE and DELETE are checked on the parent, WRITE for setData, ADMIN for
setACL, READ for getData/getChildren/getChildren2/getAllChildrenNumber,
multiRead's reads and check (in a multi); getACL needs READ or ADMIN and
hides digest hashes from callers without ADMIN; exists needs nothing.  An ACL
is validated (InvalidACL) before the node is looked up, and the permission
check comes before NodeExists / NoNode (of the node itself) / BadVersion.

Driven through kazoo, raw jute (exact error codes and reply headers) and the
C client (c/zkc.c over libzookeeper_mt, and cli_mt interactively).
"""

import base64
import hashlib

import pytest
from kazoo.exceptions import (
    AuthFailedError,
    BadVersionError,
    InvalidACLError,
    NoAuthError,
    NoNodeError,
    RolledBackError,
    RuntimeInconsistency,
)
from kazoo.protocol.states import KazooState
from kazoo.security import ACL, OPEN_ACL_UNSAFE, Id, make_digest_acl, make_digest_acl_credential

import jute
from acl_support import (
    ADMIN,
    ALL,
    CREATE,
    DELETE,
    LOOPBACK,
    PERM_NAMES,
    READ,
    WRITE,
    StateRecorder,
    acl_spec,
    add_auth,
    assert_no_access,
    assert_read_only_and_write_only,
    create,
    digest_id,
    force_reconnect,
    get_acl,
    get_children2,
    multi_read,
    set_acl,
    start_configured_server,
    who_am_i,
)
from conftest import wait_until
from jute import Err, Op

ALICE, ALICE_PW = "alice", "alice-pw"
BOB, BOB_PW = "bob", "bob-pw"
SUPER_PW = "super-secret"


def acl(perms, scheme, ident):
    return ACL(perms, Id(scheme, ident))


def as_tuples(acls):
    return sorted((a.perms, a.id.scheme, a.id.id) for a in acls)


def world(perms):
    return [acl(perms, "world", "anyone")]


def digest_auth(user, password):
    return {("digest", "%s:%s" % (user, password))}


@pytest.fixture
def admin(server, kazoo_factory, unique_path):
    """A kazoo client that made the test's root node (open ACL)."""
    client = kazoo_factory(server)
    client.create(unique_path)
    return client


# --- the permission matrix: each op x its permission, allowed and denied ------------------
#
# The node (or, for create/delete, the parent) gets the ACL world:anyone with
# exactly the op's permission (allowed) or with every permission but that one
# (denied), so the case shows both that the permission suffices and that no
# other one does.  The effect (or its absence) is observed with exists(),
# which needs no permission.


def _op_get_data(ctx):
    assert ctx.zk.get(ctx.path)[0] == b"payload"


def _op_get_children(ctx):
    assert ctx.zk.get_children(ctx.path) == ["c"]


def _op_get_children2(ctx):
    children, stat = ctx.zk.get_children(ctx.path, include_data=True)
    assert (children, stat.numChildren) == (["c"], 1)


def _op_get_all_children_number(ctx):
    rep, count = ctx.raw.get_all_children_number(ctx.path)
    if rep.err:
        raise NoAuthError() if rep.err == Err.NO_AUTH else AssertionError(rep)
    assert count == 1


def _op_multi_read_get_data(ctx):
    rep, results = multi_read(ctx.raw, [(Op.GET_DATA, ctx.path)])
    assert rep.err == 0
    if results[0].type == Op.ERROR:
        raise NoAuthError() if results[0].err == Err.NO_AUTH else AssertionError(results)
    assert results[0].value[0] == b"payload"


def _op_multi_read_get_children(ctx):
    rep, results = multi_read(ctx.raw, [(Op.GET_CHILDREN, ctx.path)])
    assert rep.err == 0
    if results[0].type == Op.ERROR:
        raise NoAuthError() if results[0].err == Err.NO_AUTH else AssertionError(results)
    assert results[0].value == ["c"]


def _op_check_in_multi(ctx):
    t = ctx.zk.transaction()
    t.check(ctx.path, 0)
    t.create(ctx.root + "/side-effect")
    results = t.commit()
    if isinstance(results[0], Exception):
        assert [type(r) for r in results] == [NoAuthError, RuntimeInconsistency]
        assert ctx.admin.exists(ctx.root + "/side-effect") is None
        raise results[0]
    assert results == [True, ctx.root + "/side-effect"]


def _op_set_data(ctx):
    try:
        ctx.zk.set(ctx.path, b"new")
    finally:
        ctx.version_after = ctx.admin.exists(ctx.path).version
    assert ctx.version_after == 1


def _op_create(ctx):
    try:
        ctx.zk.create(ctx.path + "/new")
    finally:
        ctx.created = ctx.admin.exists(ctx.path + "/new") is not None
    assert ctx.created


def _op_delete(ctx):
    try:
        ctx.zk.delete(ctx.path + "/c")
    finally:
        ctx.deleted = ctx.admin.exists(ctx.path + "/c") is None
    assert ctx.deleted


def _op_set_acl(ctx):
    try:
        ctx.zk.set_acls(ctx.path, OPEN_ACL_UNSAFE)
    finally:
        ctx.aversion_after = ctx.admin.exists(ctx.path).aversion
    assert ctx.aversion_after == 2  # 1 from the test's own setACL


MATRIX_OPS = [
    ("getData", READ, _op_get_data),
    ("getChildren", READ, _op_get_children),
    ("getChildren2", READ, _op_get_children2),
    ("getAllChildrenNumber", READ, _op_get_all_children_number),
    ("multiRead-getData", READ, _op_multi_read_get_data),
    ("multiRead-getChildren", READ, _op_multi_read_get_children),
    ("check-in-multi", READ, _op_check_in_multi),
    ("setData", WRITE, _op_set_data),
    ("create", CREATE, _op_create),
    ("delete", DELETE, _op_delete),
    ("setACL", ADMIN, _op_set_acl),
]


class _Ctx:
    pass


@pytest.mark.parametrize("allowed", [True, False], ids=["allowed", "denied"])
@pytest.mark.parametrize("name,perm,run", MATRIX_OPS,
                         ids=["%s-%s" % (n, PERM_NAMES[p]) for n, p, _ in MATRIX_OPS])
def test_permission_matrix(server, admin, kazoo_factory, raw_factory, unique_path, name, perm, run, allowed):
    ctx = _Ctx()
    ctx.root = unique_path
    ctx.path = unique_path + "/node"
    ctx.admin = admin
    admin.create(ctx.path, b"payload")
    admin.create(ctx.path + "/c")
    node_acl = world(perm if allowed else ALL & ~perm)
    assert admin.set_acls(ctx.path, node_acl).aversion == 1
    ctx.zk = kazoo_factory(server)  # anonymous: world:anyone and its ip only
    ctx.raw = raw_factory(server)
    if allowed:
        run(ctx)
    else:
        with pytest.raises(NoAuthError):
            run(ctx)
        # nothing changed: data version, children, ACL version
        stat = admin.exists(ctx.path)
        assert (stat.version, stat.numChildren, stat.aversion) == (0, 1, 1)
        assert as_tuples(admin.get_acls(ctx.path)[0]) == as_tuples(node_acl)


def test_create_and_delete_look_only_at_the_parent(server, admin, kazoo_factory, unique_path):
    anonymous = kazoo_factory(server)
    # creating a node whose own ACL gives the creator nothing is fine ...
    locked = unique_path + "/locked"
    anonymous.create(locked, b"x", acl=[make_digest_acl(ALICE, ALICE_PW, all=True)])
    with pytest.raises(NoAuthError):
        anonymous.get(locked)
    # ... and so is deleting it: DELETE is asked of the parent (open), not of the node
    anonymous.delete(locked)
    assert admin.exists(locked) is None
    # a parent with only CREATE and DELETE is enough for both, without READ on it
    admin.set_acls(unique_path, world(CREATE | DELETE))
    anonymous.create(unique_path + "/kid")
    anonymous.delete(unique_path + "/kid")
    with pytest.raises(NoAuthError):
        anonymous.get_children(unique_path)


def test_check_in_multi_acl_before_version(server, admin, kazoo_factory, unique_path):
    readable = unique_path + "/readable"
    unreadable = unique_path + "/unreadable"
    admin.create(readable, acl=world(READ))
    admin.create(unreadable, acl=world(ALL & ~READ))
    zk = kazoo_factory(server)
    t = zk.transaction()
    t.check(readable, 5)  # permitted: then the version is compared
    assert [type(r) for r in t.commit()] == [BadVersionError]
    t = zk.transaction()
    t.check(unreadable, 5)  # denied: NoAuth, whatever the version
    assert [type(r) for r in t.commit()] == [NoAuthError]


@pytest.mark.parametrize("perms,expect", [
    (READ, "redacted"),
    (ADMIN, "full"),
    (READ | ADMIN, "full"),
    (ALL & ~(READ | ADMIN), "denied"),
], ids=["READ", "ADMIN", "READ+ADMIN", "neither"])
def test_get_acl_needs_read_or_admin_and_hides_digests_without_admin(
        server, admin, kazoo_factory, raw_factory, unique_path, perms, expect):
    path = unique_path + "/n"
    alice = digest_id(ALICE, ALICE_PW)
    node_acl = [(perms, "world", "anyone"), (ALL, "digest", alice)]
    admin.create(path, acl=[acl(*e) for e in node_acl])
    c = raw_factory(server)
    rep, got = get_acl(c, path)
    if expect == "denied":
        assert (rep.err, got) == (Err.NO_AUTH, None)
    else:
        assert rep.err == 0
        shown = alice if expect == "full" else "alice:x"
        assert got[0] == [(perms, "world", "anyone"), (ALL, "digest", shown)]
        assert got[1] == jute.Reader(c.exists(path)[0].body).stat()
    # alice has ADMIN through her digest entry: she always sees the full list
    k = kazoo_factory(server, auth_data=digest_auth(ALICE, ALICE_PW))
    assert as_tuples(k.get_acls(path)[0]) == sorted(node_acl)


def test_exists_and_sync_need_no_permission(server, kazoo_factory, raw_factory, unique_path):
    owner = kazoo_factory(server, auth_data=digest_auth(ALICE, ALICE_PW))
    owner.create(unique_path, b"secret", acl=[make_digest_acl(ALICE, ALICE_PW, all=True)])
    owner.create(unique_path + "/kid", b"")
    anon = kazoo_factory(server)
    stat = anon.exists(unique_path)
    assert (stat.dataLength, stat.numChildren) == (6, 1)
    anon.sync(unique_path)
    with pytest.raises(NoAuthError):
        anon.get(unique_path)
    with pytest.raises(NoAuthError):
        anon.get_children(unique_path)
    # a missing node is NoNode, not NoAuth, even under a locked parent
    with pytest.raises(NoNodeError):
        anon.get(unique_path + "/missing")
    assert anon.exists(unique_path + "/missing") is None


# --- order of checks and exact error codes (raw) -----------------------------------------


def test_acl_check_comes_before_exists_and_version_errors(server, raw_factory, unique_path):
    c = raw_factory(server)
    p = unique_path
    assert create(c, p, jute.OPEN_ACL_UNSAFE).err == 0
    assert create(c, p + "/c", jute.OPEN_ACL_UNSAFE).err == 0
    assert set_acl(c, p, [(READ, "world", "anyone")])[0].err == 0
    assert set_acl(c, p + "/c", [(READ, "world", "anyone")])[0].err == 0
    # CREATE on the parent is checked before NodeExists
    assert create(c, p + "/c", jute.OPEN_ACL_UNSAFE).err == Err.NO_AUTH
    # DELETE on the parent is checked before the node is looked up or its version compared
    assert c.delete(p + "/missing").err == Err.NO_AUTH
    assert c.delete(p + "/c", version=99).err == Err.NO_AUTH
    # WRITE / ADMIN before BadVersion
    assert c.set_data(p, b"x", version=99)[0].err == Err.NO_AUTH
    assert set_acl(c, p, [(ALL, "world", "anyone")], version=99)[0].err == Err.NO_AUTH
    # a missing node (or parent) is NoNode whatever the ACLs
    assert create(c, p + "/missing/x", jute.OPEN_ACL_UNSAFE).err == Err.NO_NODE
    assert c.set_data(p + "/missing", b"x")[0].err == Err.NO_NODE
    assert c.get_data(p + "/missing")[0].err == Err.NO_NODE
    assert get_acl(c, p + "/missing")[0].err == Err.NO_NODE
    # the ACL is validated first of all: InvalidACL before NoAuth and before NoNode
    assert create(c, p + "/new", []).err == Err.INVALID_ACL
    assert create(c, p + "/missing/x", []).err == Err.INVALID_ACL
    assert set_acl(c, p + "/missing", [])[0].err == Err.INVALID_ACL
    assert set_acl(c, p + "/missing", [(ALL, "world", "anyone")])[0].err == Err.NO_NODE
    assert set_acl(c, p, [(ALL, "world", "nobody")], version=99)[0].err == Err.INVALID_ACL
    # nothing changed
    _, stat = c.exists(p)
    assert (stat.version, stat.cversion, stat.aversion, stat.numChildren) == (0, 1, 1, 1)


def test_denied_writes_reply_no_auth_and_consume_a_zxid(server, raw_factory, unique_path):
    c = raw_factory(server)
    assert create(c, unique_path, [(READ, "world", "anyone")]).err == 0
    z0 = c.exists("/")[0].zxid
    rep = create(c, unique_path + "/s-", jute.OPEN_ACL_UNSAFE, flags=jute.CreateMode.PERSISTENT_SEQUENTIAL)
    assert (rep.xid, rep.err, rep.body) == (c.xid, Err.NO_AUTH, b"")
    assert rep.zxid == z0 + 1, "a denied write is an error txn with its own zxid, as in ZooKeeper"
    rep = c.call(Op.SET_DATA, jute.set_data_body(unique_path, b"x"))
    assert (rep.err, rep.zxid, rep.body) == (Err.NO_AUTH, z0 + 2, b"")
    # a denied read consumes nothing
    rep = c.call(Op.GET_DATA, jute.path_watch_body(unique_path))
    assert rep.err == 0
    _, stat = c.exists(unique_path)
    # the denied sequential create did not bump the parent's cversion (no sequence number used)
    assert (stat.cversion, stat.version, stat.mzxid) == (0, 0, stat.czxid)
    rep = create(c, unique_path + "-sibling", jute.OPEN_ACL_UNSAFE)
    assert (rep.err, rep.zxid) == (0, z0 + 3)


INVALID_ACLS = [
    ("empty", []),
    ("world-not-anyone", [(ALL, "world", "someone")]),
    ("unknown-scheme", [(ALL, "nosuch", "x")]),
    ("super-scheme", [(ALL, "super", "")]),
    ("auth-without-authenticated-id", [(ALL, "auth", "")]),
    ("digest-without-colon", [(ALL, "digest", "alice")]),
    ("digest-two-colons", [(ALL, "digest", "alice:a:b")]),
    ("ip-hostname", [(ALL, "ip", "localhost")]),
    ("ip-three-octets", [(ALL, "ip", "1.2.3")]),
    ("ip-octet-over-255", [(ALL, "ip", "300.0.0.1")]),
    ("ip-prefix-over-32", [(ALL, "ip", "127.0.0.0/33")]),
    ("ip-prefix-not-a-number", [(ALL, "ip", "127.0.0.0/x")]),
    ("one-bad-among-good", [(ALL, "world", "anyone"), (READ, "nosuch", "x")]),
]


@pytest.mark.parametrize("node_acl", [a for _, a in INVALID_ACLS], ids=[n for n, _ in INVALID_ACLS])
def test_invalid_acl_on_create_and_set_acl(server, raw_factory, kazoo_factory, unique_path, node_acl):
    c = raw_factory(server)  # anonymous: its only id is ip, which `auth` does not use
    rep = create(c, unique_path, node_acl)
    assert (rep.err, rep.body) == (Err.INVALID_ACL, b"")
    assert c.exists(unique_path)[0].err == Err.NO_NODE
    assert create(c, unique_path, jute.OPEN_ACL_UNSAFE).err == 0
    rep, _ = set_acl(c, unique_path, node_acl)
    assert rep.err == Err.INVALID_ACL
    _, (got, stat) = get_acl(c, unique_path)
    assert (got, stat.aversion) == (jute.OPEN_ACL_UNSAFE, 0)
    # kazoo maps the code to InvalidACLError (kazoo sends its default ACL for an empty list)
    if node_acl:
        with pytest.raises(InvalidACLError):
            kazoo_factory(server).create(unique_path + "/k", acl=[acl(*e) for e in node_acl])


def test_digest_id_with_trailing_colon_is_invalid(server, raw_factory, unique_path):
    # ZooKeeper's DigestAuthenticationProvider.isValid is id.split(":").length == 2, and
    # Java's split drops the trailing empty string: "alice:" is one part, so InvalidACL
    c = raw_factory(server)
    assert create(c, unique_path, [(ALL, "digest", "alice:")]).err == Err.INVALID_ACL
    assert create(c, unique_path, [(ALL, "digest", ":hash")]).err == 0  # two parts, valid


def test_duplicate_entries_are_removed(server, kazoo_factory, unique_path):
    zk = kazoo_factory(server)
    zk.create(unique_path, acl=world(READ) + world(READ) + world(ALL))
    assert as_tuples(zk.get_acls(unique_path)[0]) == [(READ, "world", "anyone"), (ALL, "world", "anyone")]


# --- setACL versions -----------------------------------------------------------------------


def test_set_acl_version_checks_and_aversion(zk, unique_path):
    created = zk.create(unique_path, b"d", include_data=True)[1]
    assert created.aversion == 0
    rw = world(READ | WRITE | ADMIN)
    stat = zk.set_acls(unique_path, rw, version=0)
    assert stat.aversion == 1
    # only aversion moves: not version, cversion, mzxid or pzxid
    assert (stat.version, stat.cversion, stat.mzxid, stat.pzxid, stat.czxid) == (
        0, 0, created.mzxid, created.pzxid, created.czxid)
    assert zk.exists(unique_path) == stat
    with pytest.raises(BadVersionError):
        zk.set_acls(unique_path, OPEN_ACL_UNSAFE, version=0)
    with pytest.raises(BadVersionError):
        zk.set_acls(unique_path, OPEN_ACL_UNSAFE, version=7)
    acls, stat = zk.get_acls(unique_path)
    assert (as_tuples(acls), stat.aversion) == ([(READ | WRITE | ADMIN, "world", "anyone")], 1)
    # -1 matches any version; the same ACL again still counts
    assert zk.set_acls(unique_path, rw, version=-1).aversion == 2
    assert zk.set_acls(unique_path, rw, version=2).aversion == 3
    # setData moves version, not aversion
    stat = zk.set(unique_path, b"e")
    assert (stat.version, stat.aversion) == (1, 3)
    assert zk.get_acls(unique_path)[1] == stat


def test_set_acl_bad_version_code_and_no_node(server, raw_factory, unique_path):
    c = raw_factory(server)
    assert create(c, unique_path, jute.OPEN_ACL_UNSAFE).err == 0
    rep, stat = set_acl(c, unique_path, [(ALL, "world", "anyone")], version=1)
    assert (rep.err, rep.body, stat) == (Err.BAD_VERSION, b"", None)
    rep, stat = set_acl(c, unique_path, [(ALL, "world", "anyone")], version=0)
    assert rep.err == 0 and stat.aversion == 1
    rep, _ = set_acl(c, unique_path + "/missing", [(ALL, "world", "anyone")], version=0)
    assert rep.err == Err.NO_NODE


def test_set_acl_can_remove_own_admin(zk, unique_path):
    zk.create(unique_path)
    zk.set_acls(unique_path, world(READ))
    with pytest.raises(NoAuthError):
        zk.set_acls(unique_path, OPEN_ACL_UNSAFE)
    with pytest.raises(NoAuthError):
        zk.set(unique_path, b"x")
    acls, stat = zk.get_acls(unique_path)  # READ is enough for getACL
    assert (as_tuples(acls), stat.aversion) == ([(READ, "world", "anyone")], 1)


# --- digest --------------------------------------------------------------------------------


def test_digest_id_is_zookeepers_formula(server, kazoo_factory, unique_path):
    assert make_digest_acl_credential(ALICE, ALICE_PW) == digest_id(ALICE, ALICE_PW)
    zk = kazoo_factory(server, auth_data=digest_auth(ALICE, ALICE_PW))
    # `auth` expands to the id the server computed for alice
    zk.create(unique_path, acl=[acl(ALL, "auth", "")])
    assert as_tuples(zk.get_acls(unique_path)[0]) == [(ALL, "digest", digest_id(ALICE, ALICE_PW))]


def test_digest_acl_grants_only_that_user(server, kazoo_factory, unique_path):
    alice = kazoo_factory(server, auth_data=digest_auth(ALICE, ALICE_PW))
    alice.create(unique_path, b"mine", acl=[make_digest_acl(ALICE, ALICE_PW, all=True)])
    # every permission for alice
    assert alice.get(unique_path)[0] == b"mine"
    alice.set(unique_path, b"still mine")
    alice.create(unique_path + "/kid")
    assert alice.get_children(unique_path) == ["kid"]
    alice.delete(unique_path + "/kid")
    alice.set_acls(unique_path, [make_digest_acl(ALICE, ALICE_PW, all=True)])
    # nobody else: anonymous, another user, alice with a wrong password
    anonymous = kazoo_factory(server)
    bob = kazoo_factory(server, auth_data=digest_auth(BOB, BOB_PW))
    impostor = kazoo_factory(server)
    impostor.add_auth("digest", "%s:wrong" % ALICE)  # digest addauth always succeeds
    for other in (anonymous, bob, impostor):
        assert_no_access(other, unique_path)
    # the same user in a new session
    again = kazoo_factory(server)
    again.add_auth("digest", "%s:%s" % (ALICE, ALICE_PW))
    assert again.get(unique_path)[0] == b"still mine"


def test_digest_permissions_per_id_and_several_ids_per_session(server, kazoo_factory, unique_path):
    admin = kazoo_factory(server)
    admin.create(unique_path, b"v0", acl=[make_digest_acl(ALICE, ALICE_PW, read=True),
                                          make_digest_acl(BOB, BOB_PW, write=True)])
    alice = kazoo_factory(server, auth_data=digest_auth(ALICE, ALICE_PW))
    bob = kazoo_factory(server, auth_data=digest_auth(BOB, BOB_PW))
    assert_read_only_and_write_only(alice, bob, unique_path)
    both = kazoo_factory(server)
    both.add_auth("digest", "%s:%s" % (ALICE, ALICE_PW))
    both.add_auth("digest", "%s:%s" % (BOB, BOB_PW))
    both.set(unique_path, b"both")
    assert both.get(unique_path)[0] == b"both"


def test_who_am_i_lists_session_ids(server, raw_factory):
    c = raw_factory(server)
    assert who_am_i(c) == [("ip", LOOPBACK)]
    rep = add_auth(c, "digest", "%s:%s" % (ALICE, ALICE_PW))
    assert (rep.xid, rep.zxid, rep.err, rep.body) == (jute.AUTH_XID, 0, 0, b"")
    add_auth(c, "digest", "%s:%s" % (BOB, BOB_PW))
    add_auth(c, "digest", "%s:%s" % (ALICE, ALICE_PW))  # again: no duplicate
    assert who_am_i(c) == [("digest", ALICE), ("digest", BOB), ("ip", LOOPBACK)]


def test_digest_auth_without_colon_succeeds(server, raw_factory, unique_path):
    # ZooKeeper hashes whatever it is given: "nocolon" becomes the id
    # nocolon:base64(sha1("nocolon")); it is not an auth failure
    c = raw_factory(server)
    rep = add_auth(c, "digest", "nocolon")
    assert (rep.xid, rep.err) == (jute.AUTH_XID, 0)
    assert who_am_i(c) == [("digest", "nocolon"), ("ip", LOOPBACK)]
    assert create(c, unique_path, [(ALL, "auth", "")]).err == 0
    _, (got, _) = get_acl(c, unique_path)
    expected = "nocolon:" + base64.b64encode(hashlib.sha1(b"nocolon").digest()).decode()
    assert got == [(ALL, "digest", expected)]


# --- ip --------------------------------------------------------------------------------------


IP_CASES = [
    ("127.0.0.1", True),
    ("127.0.0.1/32", True),
    ("127.0.0.0/8", True),
    ("127.1.2.3/8", True),  # host bits in the ACL are masked away
    ("127.0.0.0/31", True),
    ("0.0.0.0/0", True),
    ("127.0.0.2", False),
    ("127.0.0.2/31", False),
    ("10.0.0.0/8", False),
    ("128.0.0.0/1", False),
]


@pytest.mark.parametrize("expression,allowed", IP_CASES, ids=[e for e, _ in IP_CASES])
def test_ip_acl(server, admin, kazoo_factory, unique_path, expression, allowed):
    path = unique_path + "/n"
    admin.create(path, b"by-address", acl=[acl(READ, "ip", expression), acl(ADMIN, "world", "anyone")])
    assert as_tuples(admin.get_acls(path)[0]) == [(READ, "ip", expression), (ADMIN, "world", "anyone")]
    client = kazoo_factory(server)  # no addauth: every session has its ip id
    if allowed:
        assert client.get(path)[0] == b"by-address"
    else:
        with pytest.raises(NoAuthError):
            client.get(path)


def test_ipv6_acl_and_an_ipv4_client(server, raw_factory, unique_path):
    c = raw_factory(server)
    rep = create(c, unique_path, [(READ, "ip", "::1"), (ADMIN, "world", "anyone")])
    if server.kind == "zookeeper":
        # ZooKeeper 3.8's IPAuthenticationProvider parses IPv4 only (v4addr2Bytes):
        # an IPv6 entry is not a valid ip id
        assert rep.err == Err.INVALID_ACL
        assert create(c, unique_path, [(READ, "ip", "::1/128")]).err == Err.INVALID_ACL
        return
    # Paddock reads IPv6 entries too; ::1 (or ::/0) never matches an IPv4 client
    assert rep.err == 0
    assert c.get_data(unique_path)[0].err == Err.NO_AUTH
    assert create(c, unique_path + "-all6", [(READ, "ip", "::/0")]).err == 0
    assert c.get_data(unique_path + "-all6")[0].err == Err.NO_AUTH
    assert create(c, unique_path + "-bad6", [(READ, "ip", "::1/129")]).err == Err.INVALID_ACL


def test_every_session_has_its_ip_id_and_addauth_ip_works(server, raw_factory, unique_path):
    c = raw_factory(server)
    assert who_am_i(c) == [("ip", LOOPBACK)]
    rep = add_auth(c, "ip", "ignored")
    assert (rep.xid, rep.zxid, rep.err) == (jute.AUTH_XID, 0, 0)
    assert who_am_i(c) == [("ip", LOOPBACK)]  # the same id, not twice
    assert create(c, unique_path, [(READ, "ip", LOOPBACK)], b"x").err == 0
    assert c.get_data(unique_path)[1][0] == b"x"
    # ip is not an authenticated scheme: `auth` cannot use it
    assert create(c, unique_path + "-auth", [(ALL, "auth", "")]).err == Err.INVALID_ACL


def test_ip_and_digest_entries_combine(server, kazoo_factory, unique_path):
    owner = kazoo_factory(server)
    owner.create(unique_path, b"x", acl=[acl(READ, "ip", "10.0.0.0/8"), acl(WRITE, "ip", "127.0.0.0/8"),
                                         make_digest_acl(ALICE, ALICE_PW, read=True)])
    anonymous = kazoo_factory(server)
    with pytest.raises(NoAuthError):
        anonymous.get(unique_path)
    anonymous.set(unique_path, b"y")  # WRITE through the loopback range
    alice = kazoo_factory(server, auth_data=digest_auth(ALICE, ALICE_PW))
    assert alice.get(unique_path)[0] == b"y"


# --- the `auth` scheme -------------------------------------------------------------------------


def test_auth_scheme_expands_to_the_sessions_authenticated_ids(server, kazoo_factory, unique_path):
    both = kazoo_factory(server)
    both.add_auth("digest", "%s:%s" % (ALICE, ALICE_PW))
    both.add_auth("digest", "%s:%s" % (BOB, BOB_PW))
    rwa = READ | WRITE | ADMIN
    both.create(unique_path, b"ours", acl=[acl(rwa, "auth", "whatever")])
    # the id in an auth entry is ignored; ip ids are not used
    assert as_tuples(both.get_acls(unique_path)[0]) == sorted([
        (rwa, "digest", digest_id(ALICE, ALICE_PW)),
        (rwa, "digest", digest_id(BOB, BOB_PW))])
    alice = kazoo_factory(server, auth_data=digest_auth(ALICE, ALICE_PW))
    assert alice.get(unique_path)[0] == b"ours"
    alice.set(unique_path, b"alice")
    with pytest.raises(NoAuthError):
        kazoo_factory(server, auth_data=digest_auth("carol", "pw")).get(unique_path)
    with pytest.raises(NoAuthError):
        kazoo_factory(server).get(unique_path)
    with pytest.raises(NoAuthError):  # no CREATE
        alice.create(unique_path + "/kid")
    # setACL expands it too
    alice.create(unique_path + "-2", acl=world(ALL))
    alice.set_acls(unique_path + "-2", [acl(ALL, "auth", "")])
    assert as_tuples(alice.get_acls(unique_path + "-2")[0]) == [(ALL, "digest", digest_id(ALICE, ALICE_PW))]


def test_auth_scheme_alongside_an_explicit_entry(server, raw_factory, unique_path):
    # ZooKeeper removes duplicates from the list as sent, then expands `auth`:
    # an explicit entry equal to the expansion stays twice
    c = raw_factory(server)
    add_auth(c, "digest", "%s:%s" % (ALICE, ALICE_PW))
    alice = digest_id(ALICE, ALICE_PW)
    assert create(c, unique_path, [(ALL, "digest", alice), (ALL, "auth", "")]).err == 0
    _, (got, _) = get_acl(c, unique_path)
    assert got == [(ALL, "digest", alice), (ALL, "digest", alice)]


# --- super ------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["unprefixed-key", "prefixed-key"])
def super_server(server_kind, request):
    """A server whose superuser is super:SUPER_PW, configured by
    DigestAuthenticationProvider.superDigest in zoo.cfg, or by
    zookeeper.DigestAuthenticationProvider.superDigest (in zoo.cfg for
    Paddock; ZooKeeper reads that spelling only as a -D system property)."""
    value = digest_id("super", SUPER_PW)
    key = "DigestAuthenticationProvider.superDigest"
    if request.param == "unprefixed-key":
        srv = start_configured_server(server_kind, {key: value})
    elif server_kind == "paddock":
        srv = start_configured_server(server_kind, {"zookeeper." + key: value})
    else:
        srv = start_configured_server(server_kind, jvm_properties={"zookeeper." + key: value})
    yield srv
    srv.cleanup()


def _locked_node(owner, path):
    owner.create(path, b"locked", acl=[make_digest_acl(ALICE, ALICE_PW, all=True)])
    owner.create(path + "/kid", b"")


def test_super_bypasses_every_permission(super_server, kazoo_factory, unique_path):
    alice = kazoo_factory(super_server, auth_data=digest_auth(ALICE, ALICE_PW))
    _locked_node(alice, unique_path)
    alice.set_acls(unique_path, [acl(0, "digest", digest_id(ALICE, ALICE_PW))])  # nobody has anything
    su = kazoo_factory(super_server, auth_data=digest_auth("super", SUPER_PW))
    assert su.get(unique_path)[0] == b"locked"
    assert su.get_children(unique_path) == ["kid"]
    su.set(unique_path, b"super was here")
    su.create(unique_path + "/su")
    su.delete(unique_path + "/kid")
    acls, _ = su.get_acls(unique_path)  # full digests: super has ADMIN
    assert as_tuples(acls) == [(0, "digest", digest_id(ALICE, ALICE_PW))]
    t = su.transaction()
    t.check(unique_path, 1)
    t.set_data(unique_path, b"multi")
    assert t.commit()[1].version == 2
    su.set_acls(unique_path, OPEN_ACL_UNSAFE)
    assert kazoo_factory(super_server).get(unique_path)[0] == b"multi"


def test_super_needs_the_right_password(super_server, kazoo_factory, raw_factory, unique_path):
    alice = kazoo_factory(super_server, auth_data=digest_auth(ALICE, ALICE_PW))
    _locked_node(alice, unique_path)
    wrong = kazoo_factory(super_server, auth_data=digest_auth("super", "not-it"))
    with pytest.raises(NoAuthError):
        wrong.get(unique_path)
    c = raw_factory(super_server)
    add_auth(c, "digest", "super:not-it")
    assert who_am_i(c) == [("digest", "super"), ("ip", LOOPBACK)]
    c2 = raw_factory(super_server)
    assert add_auth(c2, "digest", "super:" + SUPER_PW).err == 0
    assert who_am_i(c2) == [("digest", "super"), ("ip", LOOPBACK), ("super", "")]
    # `auth` does not expand to the super id (no provider), only to the digest one
    assert create(c2, unique_path + "-a", [(ALL, "auth", "")]).err == 0
    _, (got, _) = get_acl(c2, unique_path + "-a")
    assert got == [(ALL, "digest", digest_id("super", SUPER_PW))]


def test_without_super_digest_super_is_an_ordinary_user(server, kazoo_factory, unique_path):
    alice = kazoo_factory(server, auth_data=digest_auth(ALICE, ALICE_PW))
    _locked_node(alice, unique_path)
    su = kazoo_factory(server, auth_data=digest_auth("super", SUPER_PW))
    with pytest.raises(NoAuthError):
        su.get(unique_path)


# --- skipACL -------------------------------------------------------------------------------------


def test_skip_acl_disables_checks_but_not_validation(make_configured_server, kazoo_factory, raw_factory):
    srv = make_configured_server(config={"skipACL": "yes"})
    alice = kazoo_factory(srv, auth_data=digest_auth(ALICE, ALICE_PW))
    alice.create("/locked", b"x", acl=[acl(0, "digest", digest_id(ALICE, ALICE_PW))])
    alice.create("/locked/kid")
    anon = kazoo_factory(srv)
    assert anon.get("/locked")[0] == b"x"
    assert anon.get_children("/locked") == ["kid"]
    anon.set("/locked", b"y")
    anon.create("/locked/new")
    anon.delete("/locked/kid")
    # getACL passes the ADMIN check too, so digests are not hidden
    assert as_tuples(anon.get_acls("/locked")[0]) == [(0, "digest", digest_id(ALICE, ALICE_PW))]
    anon.set_acls("/locked", OPEN_ACL_UNSAFE, version=0)
    c = raw_factory(srv)
    assert create(c, "/bad", []).err == Err.INVALID_ACL
    assert create(c, "/bad", [(ALL, "world", "nobody")]).err == Err.INVALID_ACL
    assert create(c, "/bad", [(ALL, "auth", "")]).err == Err.INVALID_ACL


# --- AuthFailed ------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["nosuch", "super", "world", "auth", "token"])
def test_addauth_unknown_scheme_fails_and_closes_the_connection(server, raw_factory, unique_path, scheme):
    c = raw_factory(server)
    assert create(c, unique_path, jute.OPEN_ACL_UNSAFE).err == 0
    rep = add_auth(c, scheme, "anything:at-all")
    assert (rep.xid, rep.zxid, rep.err, rep.body) == (jute.AUTH_XID, 0, Err.AUTH_FAILED, b"")
    assert len(rep.raw) == 16
    jute.wait_for_eof(c.sock, 10)
    # other sessions are untouched and the failed one's session still exists
    other = raw_factory(server)
    assert other.exists(unique_path)[0].err == 0
    again = raw_factory(server, session_id=c.session.session_id, passwd=c.session.passwd)
    assert again.session.session_id == c.session.session_id
    assert who_am_i(again) == [("ip", LOOPBACK)]


def test_kazoo_add_auth_failure(server, kazoo_factory, unique_path):
    zk = kazoo_factory(server)
    zk.create(unique_path)
    recorder = StateRecorder()
    zk.add_listener(recorder)
    with pytest.raises(AuthFailedError):
        zk.add_auth("nosuch", "x")
    wait_until(lambda: zk.state == KazooState.LOST, message="kazoo to give up the session after AUTH_FAILED")
    assert KazooState.LOST in recorder.states
    with pytest.raises(AuthFailedError):
        zk.get(unique_path)
    assert kazoo_factory(server).exists(unique_path) is not None


# --- reconnects ---------------------------------------------------------------------------------------


def test_kazoo_keeps_access_across_a_reconnect(server, kazoo_factory, unique_path):
    zk = kazoo_factory(server, auth_data=digest_auth(ALICE, ALICE_PW))
    zk.create(unique_path, b"mine", acl=[make_digest_acl(ALICE, ALICE_PW, all=True)])
    session = zk.client_id
    recorder = StateRecorder()
    zk.add_listener(recorder)
    states = force_reconnect(zk, recorder)
    assert states[0] == KazooState.SUSPENDED and states[-1] == KazooState.CONNECTED
    assert zk.client_id == session, "the same session"
    # kazoo re-sends its addauth on the new connection before any request
    assert zk.get(unique_path)[0] == b"mine"
    zk.set(unique_path, b"after reconnect")
    with pytest.raises(NoAuthError):
        kazoo_factory(server).get(unique_path)


def test_auth_after_reconnecting_the_same_session(server, raw_factory, unique_path):
    # ZooKeeper keeps addauth ids on the connection (ServerCnxn.authInfo): a reconnect of the
    # same session starts with the ip id only until the client sends addauth again (kazoo and
    # the C client do so by themselves). Paddock keeps them on the session, so they survive the
    # reconnect and will travel with the session between servers (issue 4 asks for this); a
    # client that re-sends addauth sees no difference.
    c = raw_factory(server)
    add_auth(c, "digest", "%s:%s" % (ALICE, ALICE_PW))
    assert create(c, unique_path, [(ALL, "digest", digest_id(ALICE, ALICE_PW))], b"x").err == 0
    assert c.get_data(unique_path)[0].err == 0
    sid, passwd = c.session.session_id, c.session.passwd
    c.close_socket()
    again = raw_factory(server, session_id=sid, passwd=passwd)
    assert again.session.session_id == sid
    if server.kind == "zookeeper":
        assert who_am_i(again) == [("ip", LOOPBACK)]
        assert again.get_data(unique_path)[0].err == Err.NO_AUTH
    else:
        assert who_am_i(again) == sorted([("digest", ALICE), ("ip", LOOPBACK)])
        assert again.get_data(unique_path)[0].err == 0
    assert add_auth(again, "digest", "%s:%s" % (ALICE, ALICE_PW)).err == 0
    assert who_am_i(again) == sorted([("digest", ALICE), ("ip", LOOPBACK)]), "no duplicate id"
    assert again.get_data(unique_path)[0].err == 0


# --- multi ----------------------------------------------------------------------------------------


def test_multi_denied_op_fails_the_whole_multi(server, admin, raw_factory, unique_path):
    p = unique_path
    admin.create(p + "/ro", b"r", acl=world(READ))  # no WRITE
    admin.create(p + "/noread", b"n", acl=world(ALL & ~READ))
    admin.create(p + "/nocreate", acl=world(ALL & ~CREATE))
    admin.create(p + "/nodelete", acl=world(ALL & ~DELETE))
    admin.create(p + "/nodelete/kid")
    c = raw_factory(server)
    z0 = c.exists("/")[0].zxid
    cases = [
        # (ops, expected per-op errors)
        ([(Op.CREATE, jute.create_body(p + "/a")),
          (Op.SET_DATA, jute.set_data_body(p + "/ro", b"x")),
          (Op.CREATE, jute.create_body(p + "/b"))],
         [0, Err.NO_AUTH, Err.RUNTIME_INCONSISTENCY]),
        ([(Op.CHECK, jute.check_body(p + "/noread", 0)),
          (Op.CREATE, jute.create_body(p + "/a"))],
         [Err.NO_AUTH, Err.RUNTIME_INCONSISTENCY]),
        ([(Op.CREATE, jute.create_body(p + "/a")),
          (Op.SET_DATA, jute.set_data_body(p + "/noread", b"x")),
          (Op.CREATE, jute.create_body(p + "/nocreate/x"))],
         [0, 0, Err.NO_AUTH]),
        ([(Op.DELETE, jute.delete_body(p + "/nodelete/kid")),
          (Op.CREATE, jute.create_body(p + "/a"))],
         [Err.NO_AUTH, Err.RUNTIME_INCONSISTENCY]),
        # the ACL check of a create comes before NodeExists inside a multi too
        ([(Op.CREATE, jute.create_body(p + "/a")),
          (Op.CREATE, jute.create_body(p + "/nodelete/kid", acl=[])),
          (Op.CREATE, jute.create_body(p + "/b"))],
         [0, Err.INVALID_ACL, Err.RUNTIME_INCONSISTENCY]),
    ]
    for i, (ops, errs) in enumerate(cases):
        rep, results = c.multi(ops)
        assert rep.err == 0, "the reply header says OK; the errors are per op (case %d)" % i
        assert rep.zxid == z0 + 1 + i, "a failed multi is one error txn (case %d)" % i
        assert [(r.type, r.err) for r in results] == [(Op.ERROR, e) for e in errs], "case %d" % i
    # nothing was applied
    assert admin.exists(p + "/a") is None and admin.exists(p + "/b") is None
    assert admin.exists(p + "/ro").version == 0
    assert admin.exists(p + "/noread").version == 0
    assert admin.exists(p + "/nodelete/kid") is not None
    # with the permission the same kind of multi goes through
    rep, results = c.multi([(Op.CREATE, jute.create_body(p + "/a")),
                            (Op.SET_DATA, jute.set_data_body(p + "/noread", b"x")),
                            (Op.CHECK, jute.check_body(p + "/ro", 0))])
    assert [(r.type, r.err) for r in results] == [(Op.CREATE, 0), (Op.SET_DATA, 0), (Op.CHECK, 0)]


def test_kazoo_transaction_with_a_denied_op(server, admin, kazoo_factory, unique_path):
    admin.create(unique_path + "/ro", acl=world(READ))
    zk = kazoo_factory(server)
    t = zk.transaction()
    t.create(unique_path + "/a")
    t.set_data(unique_path + "/ro", b"x")
    t.create(unique_path + "/b")
    assert [type(r) for r in t.commit()] == [RolledBackError, NoAuthError, RuntimeInconsistency]
    assert zk.get_children(unique_path) == ["ro"]
    # digest auth grants what world does not
    admin.create(unique_path + "/alice", acl=[make_digest_acl(ALICE, ALICE_PW, read=True, write=True)])
    alice = kazoo_factory(server, auth_data=digest_auth(ALICE, ALICE_PW))
    t = alice.transaction()
    t.check(unique_path + "/alice", 0)
    t.set_data(unique_path + "/alice", b"alice")
    results = t.commit()
    assert results[0] is True and results[1].version == 1


def test_multi_read_checks_each_op(server, admin, raw_factory, unique_path):
    p = unique_path
    admin.create(p + "/open", b"o")
    admin.create(p + "/closed", b"c", acl=world(ALL & ~READ))
    admin.create(p + "/closed/kid")
    c = raw_factory(server)
    rep, results = multi_read(c, [(Op.GET_DATA, p + "/open"), (Op.GET_DATA, p + "/closed"),
                                  (Op.GET_CHILDREN, p + "/closed"), (Op.GET_CHILDREN, p)])
    # multiRead is not atomic: a denied read is an error result, the others are answered
    assert rep.err == 0
    assert [(r.type, r.err) for r in results] == [
        (Op.GET_DATA, 0), (Op.ERROR, Err.NO_AUTH), (Op.ERROR, Err.NO_AUTH), (Op.GET_CHILDREN, 0)]
    assert results[0].value[0] == b"o"
    assert sorted(results[3].value) == ["closed", "open"]


def test_get_children2_and_all_children_number_raw_codes(server, admin, raw_factory, unique_path):
    admin.create(unique_path + "/n", acl=world(ALL & ~READ))
    admin.create(unique_path + "/n/kid")
    c = raw_factory(server)
    rep, got = get_children2(c, unique_path + "/n")
    assert (rep.err, rep.body, got) == (Err.NO_AUTH, b"", None)
    rep, count = c.get_all_children_number(unique_path + "/n")
    assert (rep.err, count) == (Err.NO_AUTH, None)
    rep, got = get_children2(c, unique_path)
    assert rep.err == 0 and got[0] == ["n"]


# --- the C client --------------------------------------------------------------------------------


def test_c_client_digest_acl(server, zkc_factory, unique_path):
    alice_id = digest_id(ALICE, ALICE_PW)
    owner = zkc_factory(server)
    r = owner.do("addauth digest %s:%s" % (ALICE, ALICE_PW))
    assert (r["rc"], r["state"]) == (0, 3)
    r = owner.do("create %s hello 0 %s" % (unique_path, acl_spec([(READ | WRITE | ADMIN, "digest", alice_id),
                                                                   (READ, "world", "anyone")])))
    assert r["rc"] == 0
    r = owner.do("set %s world -1" % unique_path)
    assert (r["rc"], r["version"]) == (0, 1)
    r = owner.do("getacl %s" % unique_path)
    assert r["acl"] == [(READ | WRITE | ADMIN, "digest", alice_id), (READ, "world", "anyone")]

    other = zkc_factory(server)
    r = other.do("get %s" % unique_path)
    assert (r["rc"], r["data"]) == (0, b"world")
    r = other.do("set %s mine -1" % unique_path)
    assert (r["rc"], r["err"]) == (-102, "not_authenticated")
    r = other.do("getacl %s" % unique_path)  # READ without ADMIN: the hash is hidden
    assert r["rc"] == 0 and r["acl"] == [(READ | WRITE | ADMIN, "digest", "alice:x"), (READ, "world", "anyone")]
    r = other.do("create %s/kid x 0 open" % unique_path)
    assert r["rc"] == -102
    r = other.do("create %s-bad x 0 31:world:nobody" % unique_path)
    assert (r["rc"], r["err"]) == (-114, "invalid_acl")
    r = other.do("create %s-auth x 0 31:auth:" % unique_path)
    assert r["rc"] == -114
    r = other.do("addauth digest %s:%s" % (ALICE, ALICE_PW))
    assert r["rc"] == 0
    assert other.do("set %s mine -1" % unique_path)["rc"] == 0
    r = other.do("create %s-auth x 0 31:auth:" % unique_path)
    assert r["rc"] == 0
    assert other.do("getacl %s-auth" % unique_path)["acl"] == [(ALL, "digest", alice_id)]


def test_c_client_set_acl_versions(server, zkc_factory, unique_path):
    c = zkc_factory(server)
    assert c.do("create %s x 0 open" % unique_path)["rc"] == 0
    r = c.do("setacl %s 0 %s" % (unique_path, acl_spec([(READ | ADMIN, "world", "anyone")])))
    assert r["rc"] == 0
    r = c.do("setacl %s 0 open" % unique_path)
    assert (r["rc"], r["err"]) == (-103, "bad_version")
    r = c.do("getacl %s" % unique_path)
    assert (r["acl"], r["aversion"], r["version"]) == ([(READ | ADMIN, "world", "anyone")], 1, 0)
    assert c.do("set %s y -1" % unique_path)["rc"] == -102
    assert c.do("setacl %s 1 %s" % (unique_path, acl_spec([(READ, "world", "anyone")])))["rc"] == 0
    assert c.do("setacl %s 2 open" % unique_path)["rc"] == -102  # ADMIN is gone: NoAuth before version
    assert c.do("setacl %s -1 " % unique_path + "31:nosuch:x")["rc"] == -114
    assert c.do("exists %s" % unique_path)["aversion"] == 2


def test_c_client_multi_and_auth_failed(server, admin, zkc_factory, unique_path):
    admin.create(unique_path + "/ro", acl=world(READ))
    c = zkc_factory(server)
    r = c.do("multi c:%s/a s:%s/ro c:%s/b" % (unique_path, unique_path, unique_path))
    assert (r["rc"], r["ops"]) == (-102, [0, -102, -2])
    r = c.do("multi k:%s/ro:0 c:%s/a" % (unique_path, unique_path))
    assert (r["rc"], r["ops"]) == (0, [0, 0])
    r = c.do("addauth nosuch x")
    assert (r["rc"], r["err"], r["state"]) == (-115, "authentication_failed", -113)  # ZOO_AUTH_FAILED_STATE
    r = c.do("get %s/ro" % unique_path)
    assert r["rc"] == -9  # ZINVALIDSTATE: the handle is dead


def test_cli_mt_addauth(server, cli_mt_shell, kazoo_factory, unique_path):
    owner = kazoo_factory(server, auth_data=digest_auth(ALICE, ALICE_PW))
    owner.create(unique_path, b"for-alice", acl=[make_digest_acl(ALICE, ALICE_PW, read=True)])
    shell = cli_mt_shell(server)
    shell.send("get %s" % unique_path)
    shell.expect(r"%s: rc = -102\b" % unique_path)
    # cli_mt's syntax: addauth <scheme> <credential>
    shell.send("addauth digest %s:%s" % (ALICE, ALICE_PW))
    shell.send("get %s" % unique_path)
    shell.expect(r"%s: rc = 0\n value_len = 9\nfor-alice" % unique_path)
    shell.send("set %s changed" % unique_path)  # alice may only read
    shell.expect(r"%s: rc = -102\b" % unique_path)
