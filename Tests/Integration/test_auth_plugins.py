"""Out-of-tree auth plugins: Paddock's C ABI (Plugins/AuthPluginABI/include/paddock_auth_plugin.h).

Paddock only (ZooKeeper's providers are Java classes): these tests run when
PADDOCK_SERVERS names paddock.

- The example plugin libpaddock-token-auth.so (scheme `token`, next to the
  paddock binary) loaded by `authProvider.1=<path>`: `addauth token
  alice:<token>` succeeds when that line is in the file named by
  PADDOCK_TOKEN_AUTH_FILE in the server's environment; ACL ids are user names
  or `*`.  Used through kazoo, raw jute, the C client (c/zkc.c) and cli_mt.
- The same source built out of tree with gcc, as its header comment says.
- A test plugin compiled here (scheme `tagged`: the id is the credential plus
  "@" and the client's address; not an authenticated scheme) for the
  remote_host argument, is_authenticated and two plugins side by side.
- Plugins the server must refuse at start-up (exit non-zero, naming the
  authProvider.N key): a missing file, a library without the entry symbol,
  a wrong ABI version, a NULL description, a description without a function.
"""

import ctypes
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from kazoo.exceptions import AuthFailedError, InvalidACLError, NoAuthError
from kazoo.security import ACL, Id

import jute
from c_client import compile_c
from acl_support import (
    ADMIN,
    ALL,
    LOOPBACK,
    READ,
    WRITE,
    ConfiguredServer,
    StateRecorder,
    acl_spec,
    add_auth,
    assert_no_access,
    assert_read_only_and_write_only,
    create,
    force_reconnect,
    get_acl,
    run_until_exit,
    start_configured_server,
    who_am_i,
)
from conftest import KINDS, PADDOCK_BIN, REPO
from jute import Err, Op

pytestmark = pytest.mark.skipif("paddock" not in KINDS, reason="auth plugins are a Paddock feature")

TOKEN_PLUGIN = os.environ.get("PADDOCK_TOKEN_PLUGIN", str(Path(PADDOCK_BIN).parent / "libpaddock-token-auth.so"))
ABI_INCLUDE = REPO / "Plugins" / "AuthPluginABI" / "include"
TOKEN_SOURCE_DIR = REPO / "Plugins" / "TokenAuthExample"
ENTRY = "paddock_auth_plugin_v1"
START_FAILURE_DEADLINE_S = 30

TOKENS = {"alice": "tok-alice-1", "bob": "tok-bob-2"}


def acl(perms, scheme, ident):
    return ACL(perms, Id(scheme, ident))


def as_tuples(acls):
    return sorted((a.perms, a.id.scheme, a.id.id) for a in acls)


def token_cred(user, token=None):
    return "%s:%s" % (user, TOKENS[user] if token is None else token)


def token_auth(user):
    return {("token", token_cred(user))}


def write_tokens(path, tokens):
    path.write_text("".join("%s:%s\n" % kv for kv in tokens.items()))


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def token_plugin():
    if not os.path.isfile(TOKEN_PLUGIN):
        pytest.fail("example auth plugin not found at %s (build the package, or set PADDOCK_TOKEN_PLUGIN)"
                    % TOKEN_PLUGIN)
    return TOKEN_PLUGIN


@pytest.fixture(scope="module")
def plugin_dir():
    d = Path(tempfile.mkdtemp(prefix="paddock-it-plugins-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def tokens_file(plugin_dir):
    path = plugin_dir / "tokens"
    write_tokens(path, TOKENS)
    return path


@pytest.fixture(scope="module")
def token_server(token_plugin, tokens_file):
    srv = start_configured_server("paddock", {"authProvider.1": token_plugin},
                                  env={"PADDOCK_TOKEN_AUTH_FILE": str(tokens_file)})
    yield srv
    srv.cleanup()


@pytest.fixture
def fresh_token_server(token_plugin, plugin_dir, request):
    """A token server with its own tokens file the test may rewrite."""
    path = plugin_dir / ("tokens-" + request.node.name)
    write_tokens(path, TOKENS)
    srv = start_configured_server("paddock", {"authProvider.1": token_plugin},
                                  env={"PADDOCK_TOKEN_AUTH_FILE": str(path)})
    yield srv, path
    srv.cleanup()


TEST_PLUGIN_SOURCE = r"""
/* scheme "tagged": id = <credential>@<client address>; not an authenticated scheme.
 * Build variants (-D): ABI=<n>, NO_ENTRY, NULL_ENTRY, NO_AUTHENTICATE. */
#include <stdio.h>
#include <string.h>
#include "paddock_auth_plugin.h"

#ifndef ABI
#define ABI PADDOCK_AUTH_PLUGIN_ABI_VERSION
#endif

static int tagged_authenticate(const uint8_t *auth, size_t auth_length, const char *remote_host,
                               char *id_out, size_t id_capacity) {
    if (auth_length == 0 || memchr(auth, '@', auth_length) != NULL) return 1;
    int n = snprintf(id_out, id_capacity, "%.*s@%s", (int)auth_length, (const char *)auth, remote_host);
    return n < 0 || (size_t)n >= id_capacity;
}

static int tagged_matches(const char *id, const char *expression) { return strcmp(id, expression) == 0; }

static int tagged_is_valid(const char *expression) {
    const char *at = strchr(expression, '@');
    return at != NULL && at != expression && at[1] != '\0';
}

static const paddock_auth_plugin tagged_plugin = {
    .abi_version = ABI,
    .scheme = "tagged",
    .is_authenticated = 0,
#ifdef NO_AUTHENTICATE
    .authenticate = NULL,
#else
    .authenticate = tagged_authenticate,
#endif
    .matches = tagged_matches,
    .is_valid = tagged_is_valid,
};

#ifdef NO_ENTRY
int not_a_paddock_plugin(void) { return 42; }
#else
const paddock_auth_plugin *paddock_auth_plugin_v1(void) {
#ifdef NULL_ENTRY
    return NULL;
#else
    return &tagged_plugin;
#endif
}
#endif
"""


def build_test_plugin(directory, name, *defines):
    source = Path(directory) / "tagged_plugin.c"
    if not source.exists():
        source.write_text(TEST_PLUGIN_SOURCE)
    return compile_c([source], Path(directory) / name,
                     ["-I", str(ABI_INCLUDE)] + ["-D" + d for d in defines], shared=True)


@pytest.fixture(scope="module")
def tagged_plugin(plugin_dir):
    return build_test_plugin(plugin_dir, "libtagged.so")


# --- the example plugin as a library ---------------------------------------------------------


class _PluginDescription(ctypes.Structure):
    _fields_ = [("abi_version", ctypes.c_uint32), ("scheme", ctypes.c_char_p),
                ("is_authenticated", ctypes.c_int), ("authenticate", ctypes.c_void_p),
                ("matches", ctypes.c_void_p), ("is_valid", ctypes.c_void_p)]


def test_example_plugin_exports_the_abi(token_plugin):
    lib = ctypes.CDLL(token_plugin)
    entry = getattr(lib, ENTRY)
    entry.restype = ctypes.POINTER(_PluginDescription)
    description = entry().contents
    assert (description.abi_version, description.scheme, description.is_authenticated) == (1, b"token", 1)
    assert description.authenticate and description.matches and description.is_valid
    header = (ABI_INCLUDE / "paddock_auth_plugin.h").read_text()
    assert "#define PADDOCK_AUTH_PLUGIN_ABI_VERSION 1u" in header
    assert '#define PADDOCK_AUTH_PLUGIN_ENTRY "%s"' % ENTRY in header


# --- the token scheme through kazoo ---------------------------------------------------------------


def test_token_acl_allows_alice_and_denies_everyone_else(token_server, kazoo_factory, unique_path):
    alice = kazoo_factory(token_server, auth_data=token_auth("alice"))
    alice.create(unique_path, b"alice's", acl=[acl(ALL, "token", "alice")])
    assert alice.get(unique_path)[0] == b"alice's"
    alice.set(unique_path, b"still alice's")
    alice.create(unique_path + "/kid")
    assert alice.get_children(unique_path) == ["kid"]
    alice.delete(unique_path + "/kid")
    assert as_tuples(alice.get_acls(unique_path)[0]) == [(ALL, "token", "alice")]
    alice.set_acls(unique_path, [acl(ALL, "token", "alice")], version=0)

    bob = kazoo_factory(token_server, auth_data=token_auth("bob"))
    anonymous = kazoo_factory(token_server)
    # the same user name under another scheme is another id
    digest_alice = kazoo_factory(token_server, auth_data={("digest", "alice:" + TOKENS["alice"])})
    for other in (bob, anonymous, digest_alice):
        assert_no_access(other, unique_path, data=b"mine")
        assert other.exists(unique_path).version == 1
    assert alice.get(unique_path)[0] == b"still alice's"


def test_token_permissions_per_user(token_server, kazoo_factory, unique_path):
    admin = kazoo_factory(token_server)
    admin.create(unique_path, b"v0", acl=[acl(READ, "token", "alice"), acl(WRITE, "token", "bob"),
                                          acl(ADMIN, "world", "anyone")])
    alice = kazoo_factory(token_server, auth_data=token_auth("alice"))
    bob = kazoo_factory(token_server, auth_data=token_auth("bob"))
    assert_read_only_and_write_only(alice, bob, unique_path)
    assert alice.get(unique_path)[0] == b"b"


def test_token_wildcard_matches_any_token_holder(token_server, kazoo_factory, unique_path):
    admin = kazoo_factory(token_server)
    admin.create(unique_path, b"members", acl=[acl(READ, "token", "*"), acl(ADMIN, "world", "anyone")])
    for user in ("alice", "bob"):
        assert kazoo_factory(token_server, auth_data=token_auth(user)).get(unique_path)[0] == b"members"
    for outsider in (kazoo_factory(token_server),
                     kazoo_factory(token_server, auth_data={("digest", "alice:x")})):
        with pytest.raises(NoAuthError):
            outsider.get(unique_path)


def test_token_ids_in_get_acl_are_shown_as_they_are(token_server, kazoo_factory, raw_factory, unique_path):
    admin = kazoo_factory(token_server)
    admin.create(unique_path, acl=[acl(READ, "world", "anyone"), acl(ALL, "token", "alice")])
    c = raw_factory(token_server)  # READ without ADMIN: only digest ids would be hidden
    rep, (got, _) = get_acl(c, unique_path)
    assert got == [(READ, "world", "anyone"), (ALL, "token", "alice")]


def test_who_am_i_shows_the_token_user(token_server, raw_factory):
    c = raw_factory(token_server)
    rep = add_auth(c, "token", token_cred("alice"))
    assert (rep.xid, rep.zxid, rep.err, rep.body) == (jute.AUTH_XID, 0, 0, b"")
    add_auth(c, "digest", "carol:pw")
    assert who_am_i(c) == [("digest", "carol"), ("ip", LOOPBACK), ("token", "alice")]


def test_auth_scheme_expands_to_token_ids(token_server, raw_factory, unique_path):
    c = raw_factory(token_server)
    add_auth(c, "token", token_cred("bob"))
    assert create(c, unique_path, [(ALL, "auth", "")]).err == 0
    _, (got, _) = get_acl(c, unique_path)
    assert got == [(ALL, "token", "bob")]
    other = raw_factory(token_server)
    assert other.get_data(unique_path)[0].err == Err.NO_AUTH
    add_auth(other, "token", token_cred("bob"))
    assert other.get_data(unique_path)[0].err == 0


@pytest.mark.parametrize("expression,valid", [
    ("alice", True), ("*", True), ("", False), ("alice:tok", False)])
def test_token_acl_expressions_are_validated_by_the_plugin(token_server, raw_factory, kazoo_factory,
                                                           unique_path, expression, valid):
    c = raw_factory(token_server)
    rep = create(c, unique_path, [(ALL, "token", expression)])
    assert rep.err == (0 if valid else Err.INVALID_ACL)
    if not valid:
        assert create(c, unique_path, jute.OPEN_ACL_UNSAFE).err == 0
        with pytest.raises(InvalidACLError):
            kazoo_factory(token_server).set_acls(unique_path, [acl(ALL, "token", expression)])


@pytest.mark.parametrize("credential", [
    "alice:wrong", "alice:" + TOKENS["bob"], "mallory:" + TOKENS["alice"], "alice",
    ":" + TOKENS["alice"], "", "alice:" + TOKENS["alice"] + "\n"],
    ids=["wrong-token", "someone-elses-token", "unknown-user", "no-colon", "no-user", "empty", "trailing-newline"])
def test_bad_token_is_auth_failed_and_closes_the_connection(token_server, raw_factory, unique_path, credential):
    c = raw_factory(token_server)
    assert create(c, unique_path, jute.OPEN_ACL_UNSAFE).err == 0
    rep = add_auth(c, "token", credential)
    assert (rep.xid, rep.zxid, rep.err, rep.body) == (jute.AUTH_XID, 0, Err.AUTH_FAILED, b"")
    jute.wait_for_eof(c.sock, 10)
    again = raw_factory(token_server, session_id=c.session.session_id, passwd=c.session.passwd)
    assert ("token", "alice") not in who_am_i(again)
    assert again.exists(unique_path)[0].err == 0


def test_kazoo_bad_token(token_server, kazoo_factory):
    zk = kazoo_factory(token_server)
    with pytest.raises(AuthFailedError):
        zk.add_auth("token", token_cred("alice", "nope"))


def test_token_multi_denied_op(token_server, kazoo_factory, raw_factory, unique_path):
    alice = kazoo_factory(token_server, auth_data=token_auth("alice"))
    alice.create(unique_path)
    alice.create(unique_path + "/alice", acl=[acl(ALL, "token", "alice")])
    bob = raw_factory(token_server)
    add_auth(bob, "token", token_cred("bob"))
    rep, results = bob.multi([(Op.CREATE, jute.create_body(unique_path + "/a")),
                              (Op.SET_DATA, jute.set_data_body(unique_path + "/alice", b"bob")),
                              (Op.CREATE, jute.create_body(unique_path + "/b"))])
    assert [(r.type, r.err) for r in results] == [
        (Op.ERROR, 0), (Op.ERROR, Err.NO_AUTH), (Op.ERROR, Err.RUNTIME_INCONSISTENCY)]
    assert alice.get_children(unique_path) == ["alice"]
    t = alice.transaction()
    t.set_data(unique_path + "/alice", b"alice")
    t.create(unique_path + "/a")
    assert t.commit()[1] == unique_path + "/a"


def test_kazoo_token_auth_survives_a_reconnect(token_server, kazoo_factory, unique_path):
    zk = kazoo_factory(token_server, auth_data=token_auth("alice"))
    zk.create(unique_path, b"x", acl=[acl(ALL, "token", "alice")])
    session = zk.client_id
    recorder = StateRecorder()
    zk.add_listener(recorder)
    force_reconnect(zk, recorder)
    assert zk.client_id == session
    assert zk.get(unique_path)[0] == b"x"


def test_token_file_is_read_at_each_attempt(fresh_token_server, kazoo_factory, raw_factory, unique_path):
    srv, tokens_path = fresh_token_server
    alice = kazoo_factory(srv, auth_data=token_auth("alice"))
    alice.create(unique_path, b"x", acl=[acl(ALL, "token", "alice"), acl(READ, "token", "carol")])
    c = raw_factory(srv)
    assert add_auth(c, "token", "carol:tok-carol").err == Err.AUTH_FAILED
    # rotate: carol in, alice out, without a restart
    write_tokens(tokens_path, {"bob": TOKENS["bob"], "carol": "tok-carol"})
    carol = raw_factory(srv)
    assert add_auth(carol, "token", "carol:tok-carol").err == 0
    assert carol.get_data(unique_path)[1][0] == b"x"
    late = raw_factory(srv)
    assert add_auth(late, "token", token_cred("alice")).err == Err.AUTH_FAILED
    # ids already granted stay with their connection
    alice.set(unique_path, b"y")


# --- the C client ------------------------------------------------------------------------------


def test_c_client_token_auth(token_server, zkc_factory, unique_path):
    owner = zkc_factory(token_server)
    r = owner.do("addauth token %s" % token_cred("alice"))
    assert (r["rc"], r["state"]) == (0, 3)
    r = owner.do("create %s secret 0 %s" % (unique_path, acl_spec([(ALL, "token", "alice")])))
    assert r["rc"] == 0
    assert owner.do("get %s" % unique_path)["data"] == b"secret"
    assert owner.do("set %s changed -1" % unique_path)["rc"] == 0
    assert owner.do("getacl %s" % unique_path)["acl"] == [(ALL, "token", "alice")]

    bob = zkc_factory(token_server)
    assert bob.do("addauth token %s" % token_cred("bob"))["rc"] == 0
    r = bob.do("get %s" % unique_path)
    assert (r["rc"], r["err"]) == (-102, "not_authenticated")
    assert bob.do("create %s/x x 0 open" % unique_path)["rc"] == -102
    assert bob.do("create %s-bad x 0 31:token:a:b" % unique_path)["rc"] == -114

    intruder = zkc_factory(token_server)
    r = intruder.do("addauth token alice:forged")
    assert (r["rc"], r["err"], r["state"]) == (-115, "authentication_failed", -113)
    assert intruder.do("get %s" % unique_path)["rc"] == -9


def test_cli_mt_token_auth(token_server, cli_mt_shell, kazoo_factory, unique_path):
    owner = kazoo_factory(token_server, auth_data=token_auth("bob"))
    owner.create(unique_path, b"for-bob", acl=[acl(READ, "token", "bob")])
    shell = cli_mt_shell(token_server)
    shell.send("get %s" % unique_path)
    shell.expect(r"%s: rc = -102\b" % unique_path)
    shell.send("addauth token %s" % token_cred("bob"))
    shell.send("get %s" % unique_path)
    shell.expect(r"%s: rc = 0\n value_len = 7\nfor-bob" % unique_path)


# --- other plugins ---------------------------------------------------------------------------


def test_example_plugin_built_out_of_tree(plugin_dir, tokens_file, kazoo_factory, raw_factory):
    # as token_auth.c's header comment says: cc -shared -fPIC -I Plugins/AuthPluginABI/include ...
    lib = compile_c([TOKEN_SOURCE_DIR / "token_auth.c"], plugin_dir / "libtoken-out-of-tree.so",
                    ["-I", str(ABI_INCLUDE), "-I", str(TOKEN_SOURCE_DIR / "include")], shared=True)
    srv = start_configured_server("paddock", {"authProvider.1": str(lib)},
                                  env={"PADDOCK_TOKEN_AUTH_FILE": str(tokens_file)})
    try:
        zk = kazoo_factory(srv, auth_data=token_auth("alice"))
        zk.create("/mine", b"m", acl=[acl(ALL, "token", "alice")])
        assert zk.get("/mine")[0] == b"m"
        with pytest.raises(NoAuthError):
            kazoo_factory(srv).get("/mine")
        assert add_auth(raw_factory(srv), "token", "alice:bad").err == Err.AUTH_FAILED
    finally:
        srv.cleanup()


def test_two_plugins_remote_host_and_unauthenticated_scheme(token_plugin, tokens_file, tagged_plugin,
                                                            kazoo_factory, raw_factory):
    srv = start_configured_server("paddock", {"authProvider.1": token_plugin, "authProvider.2": str(tagged_plugin)},
                                  env={"PADDOCK_TOKEN_AUTH_FILE": str(tokens_file)})
    try:
        c = raw_factory(srv)
        assert add_auth(c, "tagged", "hello").err == 0
        # the plugin saw the client's address
        assert who_am_i(c) == [("ip", LOOPBACK), ("tagged", "hello@" + LOOPBACK)]
        assert create(c, "/tagged", [(READ, "tagged", "hello@" + LOOPBACK)], b"t").err == 0
        assert create(c, "/other", [(READ, "tagged", "bye@" + LOOPBACK)], b"o").err == 0
        assert create(c, "/bad", [(READ, "tagged", "no-at-sign")]).err == Err.INVALID_ACL
        assert c.get_data("/tagged")[1][0] == b"t"
        assert c.get_data("/other")[0].err == Err.NO_AUTH
        # is_authenticated = 0: `auth` cannot use a tagged id ...
        assert create(c, "/auth-only-tagged", [(ALL, "auth", "")]).err == Err.INVALID_ACL
        # ... but uses the token id once there is one
        assert add_auth(c, "token", token_cred("alice")).err == 0
        assert create(c, "/auth", [(ALL, "auth", "")]).err == 0
        _, (got, _) = get_acl(c, "/auth")
        assert got == [(ALL, "token", "alice")]
        # both plugins' refusals are AuthFailed
        bad = raw_factory(srv)
        assert add_auth(bad, "tagged", "").err == Err.AUTH_FAILED
        jute.wait_for_eof(bad.sock, 10)
        anonymous = kazoo_factory(srv)
        with pytest.raises(NoAuthError):
            anonymous.get("/tagged")
    finally:
        srv.cleanup()


def test_zookeeper_provider_class_names_are_accepted(raw_factory, unique_path):
    # an existing zoo.cfg naming ZooKeeper's provider classes keeps working
    srv = start_configured_server("paddock", {
        "authProvider.1": "org.apache.zookeeper.server.auth.DigestAuthenticationProvider",
        "authProvider.2": "org.apache.zookeeper.server.auth.IPAuthenticationProvider"})
    try:
        c = raw_factory(srv)
        assert add_auth(c, "digest", "alice:pw").err == 0
        assert create(c, unique_path, [(ALL, "auth", "")]).err == 0
        assert who_am_i(c) == [("digest", "alice"), ("ip", LOOPBACK)]
    finally:
        srv.cleanup()


# --- plugins refused at start-up -----------------------------------------------------------------


def _start_expecting_failure(config):
    srv = ConfiguredServer("paddock", config)
    try:
        srv.write_config()
        return run_until_exit(srv.command(), START_FAILURE_DEADLINE_S, cwd=str(srv.dir))
    finally:
        srv.cleanup()


REFUSED = [
    # (id, build defines or a fixed path, words the start-up error must contain)
    ("missing-file", "/nonexistent/dir/libnope.so", ["/nonexistent/dir/libnope.so", "cannot load"]),
    ("no-entry-symbol", ["NO_ENTRY"], ["no %s symbol" % ENTRY]),
    ("wrong-abi-version", ["ABI=99"], ["ABI version 99", "needs version 1"]),
    ("null-description", ["NULL_ENTRY"], ["returned NULL"]),
    ("missing-function", ["NO_AUTHENTICATE"], ["lacks a scheme or a function"]),
    ("not-a-library", "TEXT_FILE", ["cannot load"]),
    ("unknown-module-name", "nosuch", ["no such module", "known: digest"]),
]


@pytest.mark.parametrize("name,plugin,words", REFUSED, ids=[r[0] for r in REFUSED])
def test_bad_plugin_stops_start_up(plugin_dir, name, plugin, words):
    if isinstance(plugin, list):
        path = str(build_test_plugin(plugin_dir, "lib%s.so" % name, *plugin))
    elif plugin == "TEXT_FILE":
        path = str(plugin_dir / "libtext.so")
        Path(path).write_text("not an ELF file\n")
    else:
        path = plugin
    rc, output = _start_expecting_failure({"authProvider.1": path})
    assert rc != 0, output
    assert "authProvider.1=%s" % path in output, output
    for word in words:
        assert word in output, output


def test_bad_second_plugin_stops_start_up_too(plugin_dir, token_plugin):
    path = str(build_test_plugin(plugin_dir, "libabi7.so", "ABI=7"))
    rc, output = _start_expecting_failure({"authProvider.1": token_plugin, "authProvider.2": path})
    assert rc != 0, output
    assert "authProvider.2=%s" % path in output and "ABI version 7" in output, output
