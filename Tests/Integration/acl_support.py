"""Helpers shared by test_acl.py and test_auth_plugins.py.

- ACL constants and ZooKeeper's digest id (user:base64(sha1(user:password))).
- jute.RawClient wrappers for the ACL requests jute.py has no wrapper for
  (addauth, create with an ACL, getACL, setACL, getChildren2, multiRead).
- ConfiguredServer: conftest.Server plus extra JVM -D options for ZooKeeper
  (it reads some settings, e.g. the `zookeeper.`-prefixed superDigest, only as
  system properties) and extra environment variables for the server process
  (the token plugin reads PADDOCK_TOKEN_AUTH_FILE from the server's
  environment).  Fixture `make_configured_server`.
- The C client: c/zkacl.c (addauth, ACLs, getACL/setACL, multi) compiled at
  test time (fixture `zkacl_binary`, class ZkAcl), and Debian's cli_mt driven
  interactively (class CliMtShell), since its batch mode runs one command per
  session and addauth only lasts for the connection.
"""

import base64
import hashlib
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import conftest
import jute
from jute import Op

HERE = Path(__file__).resolve().parent
CC = os.environ.get("CC", "gcc")
CLI_MT = os.environ.get("ZK_CLI_MT", "/usr/lib/zookeeper/bin/cli_mt")
C_COMMAND_TIMEOUT_S = 15

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

    def start(self):
        # conftest.Server.start spawns with the test process's environment.
        saved = {key: os.environ.get(key) for key in self.env}
        os.environ.update(self.env)
        try:
            super().start()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def start_configured_server(kind, config=None, jvm_properties=None, env=None):
    srv = ConfiguredServer(kind, config, jvm_properties, env)
    try:
        srv.start()
    except BaseException:
        srv.cleanup()
        raise
    return srv


@pytest.fixture
def make_configured_server(server_kind):
    """make_configured_server(config=None, jvm_properties=None, env=None)
    starts a fresh server of the test's kind; stopped at teardown."""
    started = []

    def make(config=None, jvm_properties=None, env=None):
        srv = start_configured_server(server_kind, config, jvm_properties, env)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.cleanup()


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


def compile_c(sources, output, extra_args=(), shared=False):
    """Compiles with $CC; fails the test with the compiler's output on an error."""
    if shutil.which(CC) is None:
        pytest.fail("C compiler %r not found" % CC)
    cmd = [CC, "-Wall", "-O1"]
    if shared:
        cmd += ["-shared", "-fPIC"]
    cmd += ["-o", str(output)] + [str(s) for s in sources] + list(extra_args)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        pytest.fail("compiling %s failed:\n%s" % (" ".join(str(s) for s in sources), proc.stderr))
    return Path(output)


@pytest.fixture(scope="session")
def zkacl_binary():
    out_dir = tempfile.mkdtemp(prefix="paddock-it-zkacl-")
    binary = compile_c([HERE / "c" / "zkacl.c"], Path(out_dir) / "zkacl",
                       ["-lzookeeper_mt", "-lpthread"])
    yield str(binary)
    shutil.rmtree(out_dir, ignore_errors=True)


def parse_zkacl_line(line):
    fields = line.split(" ")
    out = {"cmd": fields[0]}
    for f in fields[1:]:
        key, _, value = f.partition("=")
        out[key] = value
    for key in ("rc", "state", "version", "aversion", "len", "count"):
        if key in out:
            out[key] = int(out[key])
    if "data" in out:
        out["data"] = bytes.fromhex(out["data"])
    if "acl" in out:
        acl = []
        for entry in filter(None, out["acl"].split(",")):
            perms, scheme, ident = entry.split(":", 2)
            acl.append((int(perms), scheme, ident))
        out["acl"] = acl
    if "ops" in out:
        out["ops"] = [int(e) for e in out["ops"].split(",") if e]
    return out


def acl_spec(acl):
    """(perms, scheme, id) entries as zkacl's ACL argument."""
    return ",".join("%d:%s:%s" % entry for entry in acl)


class ZkAcl:
    """One zkacl process = one C client session, driven line by line."""

    def __init__(self, binary, srv):
        self.proc = subprocess.Popen(
            [binary, srv.hosts], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1)
        first = self._read_line()
        assert first.startswith("connected rc=0"), first

    def _read_line(self, timeout=C_COMMAND_TIMEOUT_S):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise AssertionError("zkacl gave no output within %ds" % timeout)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("zkacl exited: %s" % self.proc.stderr.read())
        return line.rstrip("\n")

    def do(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        result = parse_zkacl_line(self._read_line())
        assert result["cmd"] == command.split(" ")[0], result
        return result

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=C_COMMAND_TIMEOUT_S)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass


@pytest.fixture
def zkacl(zkacl_binary):
    """zkacl(server) -> a connected ZkAcl; killed at teardown."""
    procs = []

    def make(srv):
        p = ZkAcl(zkacl_binary, srv)
        procs.append(p)
        return p

    yield make
    for p in procs:
        p.kill()


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


@pytest.fixture
def cli_mt_shell():
    """cli_mt_shell(server) -> a connected CliMtShell; closed at teardown."""
    shells = []

    def make(srv):
        shell = CliMtShell(srv)
        shells.append(shell)
        return shell

    yield make
    for shell in shells:
        shell.close()
