"""`paddock cli -server host:port cmd args` against zkCli.sh (Apache ZooKeeper
3.8's shell), on the same server and the same tree: the same stdout, stderr
and exit status for each one-shot command, on each server kind."""

import os
import re
import subprocess
import time

import pytest

import conftest

ZKCLI = os.environ.get("ZKCLI", "/usr/share/zookeeper/bin/zkCli.sh")
CONNECTED = "WatchedEvent state:SyncConnected type:None path:null"
STAT_FIELD = re.compile(r"^(cZxid|ctime|mZxid|mtime|pZxid|cversion|dataVersion|aclVersion|ephemeralOwner) = .*$", re.M)

pytestmark = pytest.mark.skipif(not os.path.exists(ZKCLI), reason="zkCli.sh (Debian's zookeeper) is not installed")

# Reads, compared byte for byte.
READS = [
    "ls /cli", "ls -s /cli", "ls -R /cli", "ls /cli/missing", "ls",
    "get /cli/text", "get -s /cli/text", "get /cli/null", "get /cli/missing",
    "stat /cli/text", "stat /cli/missing", "getAcl /cli/text", "getAcl /cli/locked", "getAcl -s /cli",
    "get /cli/locked", "sync /cli", "whoami", "create", "get /bad//path",
]

# Writes: each runs on a fresh copy of the tree; Stat values (zxids, times) are masked.
WRITES = [
    "create /cli/new", "create /cli/new data", "create /cli/text again", "create -s /cli/seq- x", "create -e /cli/eph",
    "create /cli/missing/child", "create -c /cli/container", "create /cli/acl x world:anyone:cdr",
    "set /cli/text v2", "set -s /cli/text v2", "set -v 5 /cli/text v2", "set /cli/locked x",
    "delete /cli/text", "delete /cli", "delete -v 3 /cli/text", "delete /cli/missing", "deleteall /cli/sub", "deleteall /cli/missing",
    "setAcl /cli/text world:anyone:r", "setAcl -s /cli/text world:anyone:cdrwa", "setAcl -v 9 /cli/text world:anyone:r",
]


@pytest.fixture
def tree(server, zk):
    """/cli: text, null data, a read-locked node, a subtree."""
    from kazoo.security import make_digest_acl

    zk.add_auth("digest", "u:p")  # this fixture may read and remove the locked node

    def build():
        zk.delete("/cli", recursive=True) if zk.exists("/cli") else None
        zk.create("/cli", b"root")
        zk.create("/cli/text", b"hello world")
        zk.create("/cli/null", None)
        zk.create("/cli/locked", b"secret", acl=[make_digest_acl("u", "p", all=True)])
        zk.create("/cli/sub/a/b", b"deep", makepath=True)
    build()
    yield build
    zk.delete("/cli", recursive=True)


def zkcli(server, command):
    run = subprocess.run([ZKCLI, "-server", server.hosts] + command.split(), capture_output=True, text=True, timeout=60)
    out = run.stdout.split(CONNECTED + "\n", 1)[-1] if CONNECTED in run.stdout else ""
    err = "".join(line for line in run.stderr.splitlines(True) if not line.startswith("SLF4J:"))
    return run.returncode, out, err


def paddock_cli(server, command):
    run = subprocess.run([conftest.PADDOCK_BIN, "cli", "-server", server.hosts] + command.split(),
                         capture_output=True, text=True, timeout=60)
    return run.returncode, run.stdout, run.stderr


@pytest.mark.parametrize("command", READS)
def test_reads_print_what_zkcli_prints(server, tree, command):
    expected = zkcli(server, command)
    assert paddock_cli(server, command) == expected


@pytest.mark.parametrize("command", WRITES)
def test_writes_print_what_zkcli_prints(server, tree, zk, command):
    def masked(result):
        code, out, err = result
        return code, STAT_FIELD.sub(r"\1 = *", out), err

    expected = masked(zkcli(server, command))
    after_zkcli = snapshot(zk)
    tree()
    assert masked(paddock_cli(server, command)) == expected
    assert snapshot(zk) == after_zkcli, "the command changed the tree differently"


def snapshot(zk):
    """/cli's nodes with data, ACLs and versions (not zxids or times, which differ per run)."""
    nodes = {}

    def walk(path):
        data, stat = zk.get(path)
        if stat.ephemeralOwner:
            # zkCli's one-shot run exits without closing its session, leaving its ephemerals
            # until the session times out; paddock cli closes it.
            return
        acl, _ = zk.get_acls(path)
        nodes[re.sub(r"\d{10}$", "N", path)] = (data, stat.version, stat.aversion, bool(stat.ephemeralOwner),
                                                sorted((a.perms, a.id.scheme, a.id.id) for a in acl))
        for child in zk.get_children(path):
            walk(path + "/" + child)
    if zk.exists("/cli"):
        walk("/cli")
    return nodes


def test_interactive_shell_edits_lines_and_recalls_history(server, zk):
    """On a terminal: the prompt, a command, then the up arrow recalls it (libedit's history)
    and ^A + text edits it before Enter; `history` lists what ran; `quit` ends the shell."""
    import pty
    import select
    import termios

    leader, follower = pty.openpty()
    proc = subprocess.Popen([conftest.PADDOCK_BIN, "cli", "-server", server.hosts],
                            stdin=follower, stdout=follower, stderr=follower, close_fds=True)
    os.close(follower)
    seen = bytearray()
    cursor = [0]

    def expect(text, timeout=15.0):
        """Waits for text in what the shell wrote since the last match."""
        deadline = time.monotonic() + timeout
        while seen.find(text.encode(), cursor[0]) < 0:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "no %r in %r" % (text, bytes(seen[cursor[0]:]))
            if select.select([leader], [], [], remaining)[0]:
                seen.extend(os.read(leader, 4096))
        cursor[0] = seen.find(text.encode(), cursor[0]) + len(text)

    def editor_ready(prompt):
        """The prompt is out and libedit has put the terminal in raw mode (it prints the prompt
        first): keys sent earlier would be cooked by the line discipline instead."""
        expect(prompt)
        deadline = time.monotonic() + 15
        while termios.tcgetattr(leader)[3] & termios.ICANON:
            assert time.monotonic() < deadline, "the terminal never left canonical mode"
            time.sleep(0.01)

    try:
        editor_ready("(CONNECTED) 0] ")
        os.write(leader, b"create /interactive first\r")
        expect("Created /interactive")
        editor_ready("(CONNECTED) 1] ")
        os.write(leader, b"\x1b[A\r")  # up arrow: the same create again
        expect("Node already exists: /interactive")
        editor_ready("(CONNECTED) 2] ")
        # Up arrow, ^A, delete "create " (7 x ^D), type "get ", ^E, rub out " first" (6 x DEL).
        os.write(leader, b"\x1b[A\x01" + b"\x04" * 7 + b"get \x05" + b"\x7f" * 6 + b"\r")
        expect("\nfirst\r\n")  # get's output line, not the echo of the edited line
        editor_ready("(CONNECTED) 3] ")
        os.write(leader, b"history\r")
        expect("2 - get /interactive")
        editor_ready("(CONNECTED) 4] ")
        os.write(leader, b"quit\r")
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    assert zk.get("/interactive")[0] == b"first"
    zk.delete("/interactive")
