"""Helpers shared by test_acl.py and test_auth_plugins.py.

- ACL constants and ZooKeeper's digest id (user:base64(sha1(user:password))).
- jute.RawClient wrappers for the ACL requests jute.py has no wrapper for
  (addauth, create with an ACL, getACL, setACL, getChildren2, multiRead).
- ConfiguredServer: conftest.Server plus extra JVM -D options for ZooKeeper
  (it reads some settings, e.g. the `zookeeper.`-prefixed superDigest, only as
  system properties) and extra environment variables for the server process
  (the token plugin reads PADDOCK_TOKEN_AUTH_FILE from the server's
  environment).  start_configured_server; conftest's fixture
  `make_configured_server` makes them per test.
- kazoo: assert_no_access (NoAuth for get/set/create/setACL), StateRecorder,
  force_reconnect.
- The C client: c/zkc.c through conftest's `zkc_factory` fixture (acl_spec
  writes its ACL argument), and Debian's cli_mt driven interactively (class
  CliMtShell, conftest's fixture `cli_mt_shell`), since its batch mode runs
  one command per session and addauth only lasts for the connection.
"""

import base64
import hashlib
import os
import re
import select
import subprocess
import time

import pytest

import conftest
import jute
from c_client import COMMAND_TIMEOUT_S as C_COMMAND_TIMEOUT_S
from jute import Op

CLI_MT = os.environ.get("ZK_CLI_MT", "/usr/lib/zookeeper/bin/cli_mt")

READ, WRITE, CREATE, DELETE, ADMIN = 1, 2, 4, 8, 16
ALL = READ | WRITE | CREATE | DELETE | ADMIN
PERM_NAMES = {READ: "READ", WRITE: "WRITE", CREATE: "CREATE", DELETE: "DELETE", ADMIN: "ADMIN"}

LOOPBACK = "127.0.0.1"


def digest_id(user, password):
    """ZooKeeper's digest id for user:password (DigestAuthenticationProvider.generateDigest)."""
    raw = ("%s:%s" % (user, password)).encode("utf-8")
    return "%s:%s" % (user, base64.b64encode(hashlib.sha1(raw).digest()).decode("ascii"))


# --- raw requests ------------------------------------------------------------------


def add_auth(client, scheme, credential):
    """Sends addauth (xid -4) and returns its Reply."""
    if isinstance(credential, str):
        credential = credential.encode("utf-8")
    body = jute.Writer().int(0).string(scheme).buffer(credential).bytes()
    return client.call(Op.AUTH, body, xid=jute.AUTH_XID)


def create(client, path, acl, data=b"", flags=jute.CreateMode.PERSISTENT):
    """create (op 1) with an explicit ACL list of (perms, scheme, id); returns the Reply."""
    return client.call(Op.CREATE, jute.create_body(path, data, flags, acl=acl))


def get_acl(client, path):
    """Returns (Reply, (acl, stat)) or (Reply, None) on an error."""
    rep = client.call(Op.GET_ACL, jute.path_body(path))
    if rep.err:
        return rep, None
    r = jute.Reader(rep.body)
    acl, stat = r.acl(), r.stat()
    assert r.at_end(), "trailing bytes after GetACLResponse"
    return rep, (acl, stat)


def set_acl(client, path, acl, version=-1):
    """Returns (Reply, stat) or (Reply, None) on an error."""
    body = jute.Writer().string(path).acl(acl).int(version).bytes()
    rep = client.call(Op.SET_ACL, body)
    return rep, (None if rep.err else jute.Reader(rep.body).stat())


def get_children2(client, path):
    rep = client.call(Op.GET_CHILDREN2, jute.path_watch_body(path))
    if rep.err:
        return rep, None
    r = jute.Reader(rep.body)
    return rep, (r.strings(), r.stat())


def multi_read(client, ops):
    """ops: list of (Op.GET_DATA | Op.GET_CHILDREN, path).  Returns (Reply, [MultiResult])."""
    w = jute.Writer()
    for opcode, path in ops:
        w.int(opcode).bool(False).int(-1).raw(jute.path_watch_body(path))
    w.int(-1).bool(True).int(-1)
    rep = client.call(Op.MULTI_READ, w.bytes())
    return rep, jute.parse_multi_response(rep.body)


def who_am_i(client):
    rep, infos = client.who_am_i()
    assert rep.err == 0, rep
    return sorted(infos)


# --- servers with extra JVM options / environment ------------------------------------


class ConfiguredServer(conftest.Server):
    """conftest.Server with extra `-D` options for ZooKeeper's JVM and extra
    environment variables for the server process (either kind)."""

    def __init__(self, kind, config=None, jvm_properties=None, env=None):
        super().__init__(kind, config)
        self.jvm_properties = dict(jvm_properties or {})
        self.env = dict(env or {})

    def command(self):
        cmd = super().command()
        if self.kind == "zookeeper" and self.jvm_properties:
            main = cmd.index("org.apache.zookeeper.server.quorum.QuorumPeerMain")
            cmd[main:main] = ["-D%s=%s" % kv for kv in sorted(self.jvm_properties.items())]
        return cmd


def start_configured_server(kind, config=None, jvm_properties=None, env=None):
    return conftest.started(ConfiguredServer(kind, config, jvm_properties, env))


def run_until_exit(cmd, timeout, cwd=None, env=None):
    """Runs a process that is expected to exit by itself; returns
    (returncode, combined output).  Fails the test if it is still running at
    the deadline (then it is killed)."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail("%s still running after %.0fs; output:\n%s"
                    % (cmd[0], timeout, out.decode("utf-8", "replace")))
    return proc.returncode, out.decode("utf-8", "replace")


# --- kazoo -----------------------------------------------------------------------------


def assert_read_only_and_write_only(reader, writer, path):
    """path holds b"v0" with an ACL that lets reader only read and writer only
    write: each gets NoAuth for the other's operation."""
    from kazoo.exceptions import NoAuthError

    assert reader.get(path)[0] == b"v0"
    with pytest.raises(NoAuthError):
        reader.set(path, b"a")
    writer.set(path, b"b")
    with pytest.raises(NoAuthError):
        writer.get(path)


def assert_no_access(client, path, data=b"theirs"):
    """A kazoo client without rights on path gets NoAuth for get, set(data),
    create(path/theirs) and setACL."""
    from kazoo.exceptions import NoAuthError
    from kazoo.security import OPEN_ACL_UNSAFE

    with pytest.raises(NoAuthError):
        client.get(path)
    with pytest.raises(NoAuthError):
        client.set(path, data)
    with pytest.raises(NoAuthError):
        client.create(path + "/theirs")
    with pytest.raises(NoAuthError):
        client.set_acls(path, OPEN_ACL_UNSAFE)


class StateRecorder:
    """A kazoo connection-state listener that keeps every state in order."""

    def __init__(self):
        self.states = []

    def __call__(self, state):
        self.states.append(state)


def force_reconnect(client, recorder, timeout=15.0):
    """Drops a kazoo client's TCP connection (without closing its session)
    and waits until it has reconnected: SUSPENDED, then CONNECTED again."""
    from kazoo.protocol.states import KazooState

    before = len(recorder.states)
    import socket

    client._connection._socket.shutdown(socket.SHUT_RDWR)
    conftest.wait_until(
        lambda: KazooState.SUSPENDED in recorder.states[before:]
        and recorder.states[-1] == KazooState.CONNECTED and client.connected,
        timeout=timeout, message="kazoo to drop and re-establish its connection")
    return recorder.states[before:]


# --- the C client ----------------------------------------------------------------------


def acl_spec(acl):
    """(perms, scheme, id) entries as zkc's ACL argument."""
    return ",".join("%d:%s:%s" % entry for entry in acl)


class CliMtShell:
    """Debian's cli_mt in interactive mode (commands on stdin, one session).
    Its replies come asynchronously on stderr; expect() polls the output for a
    pattern with a deadline."""

    def __init__(self, srv):
        if not os.access(CLI_MT, os.X_OK):
            pytest.fail("cli_mt not found at %s (Debian package zookeeper-bin)" % CLI_MT)
        self.proc = subprocess.Popen([CLI_MT, "-h", srv.hosts], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.output = ""
        self.consumed = 0
        self.expect(r"Watcher SESSION_EVENT state = CONNECTED_STATE")

    def send(self, line):
        self.proc.stdin.write((line + "\n").encode("utf-8"))
        self.proc.stdin.flush()

    def expect(self, pattern, timeout=C_COMMAND_TIMEOUT_S):
        """Waits for a regex in the output after what earlier expects
        consumed; returns the match and consumes up to its end."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = regex.search(self.output, self.consumed)
            if m:
                self.consumed = m.end()
                return m
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("cli_mt: no %r within %.0fs; output:\n%s" % (pattern, timeout, self.output))
            ready, _, _ = select.select([self.proc.stdout], [], [], remaining)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    raise AssertionError("cli_mt exited; output:\n%s" % self.output)
                self.output += chunk.decode("utf-8", "replace")

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(timeout=C_COMMAND_TIMEOUT_S)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=C_COMMAND_TIMEOUT_S)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
