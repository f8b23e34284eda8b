"""Core behaviour through Apache ZooKeeper's C client.

Two drivers: Debian's cli_mt shell in batch mode (`cli_mt -h host:port -c
"<command>"`, one command per process, output on stderr), and c/zkc.c, a
small program over libzookeeper_mt's synchronous API compiled at test time
(c_client.py, conftest's fixtures `zkc_binary` and `zkc_factory`), which runs
many commands on one session and prints one parseable line per command.
"""

import os
import subprocess
import time

import pytest

from c_client import COMMAND_TIMEOUT_S

CLI_MT = os.environ.get("ZK_CLI_MT", "/usr/lib/zookeeper/bin/cli_mt")


def cli_mt(srv, command):
    """Runs one cli_mt batch command; returns its combined output."""
    if not os.access(CLI_MT, os.X_OK):
        pytest.fail("cli_mt not found at %s (Debian package zookeeper-bin)" % CLI_MT)
    proc = subprocess.run([CLI_MT, "-h", srv.hosts, "-c", command], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


def assert_recent(ms):
    assert abs(ms / 1000.0 - time.time()) < 60


# --- zkc (synchronous C API) ----------------------------------------------------------


def test_c_create_get_set_delete_with_versions(zkc_factory, server, unique_path):
    c = zkc_factory(server)
    r = c.do("create2 %s hello 0" % unique_path)
    assert (r["rc"], r["path"]) == (0, unique_path)
    assert r["czxid"] == r["mzxid"] == r["pzxid"]
    assert (r["version"], r["dataLength"], r["ephemeralOwner"]) == (0, 5, 0)
    assert_recent(r["ctime"])
    created = r

    r = c.do("create %s again 0" % unique_path)
    assert (r["rc"], r["err"]) == (-110, "node_exists")

    r = c.do("get %s" % unique_path)
    assert (r["rc"], r["data"], r["len"]) == (0, b"hello", 5)
    assert (r["czxid"], r["version"]) == (created["czxid"], 0)

    r = c.do("set %s world 0" % unique_path)
    assert r["rc"] == 0 and r["version"] == 1
    assert r["mzxid"] > r["czxid"] == created["czxid"]
    r = c.do("set %s stale 0" % unique_path)
    assert (r["rc"], r["err"]) == (-103, "bad_version")
    assert c.do("get %s" % unique_path)["data"] == b"world"

    r = c.do("delete %s 0" % unique_path)
    assert r["rc"] == -103
    assert c.do("delete %s 1" % unique_path)["rc"] == 0
    r = c.do("get %s" % unique_path)
    assert (r["rc"], r["err"]) == (-101, "no_node")
    assert c.do("delete %s -1" % unique_path)["rc"] == -101
    assert c.do("create %s/x - 0" % unique_path)["rc"] == -101
    assert c.close()["rc"] == 0


def test_c_null_data_and_children(zkc_factory, server, unique_path):
    c = zkc_factory(server)
    assert c.do("create %s - 0" % unique_path)["rc"] == 0
    r = c.do("get %s" % unique_path)
    # null data comes back null: the C client reports length -1
    assert (r["rc"], r["len"], r["dataLength"]) == (0, -1, 0)
    assert c.do("set %s - -1" % unique_path)["rc"] == 0
    assert c.do("get %s" % unique_path)["len"] == -1
    for name in ("b", "a", "c"):
        assert c.do("create %s/%s x 0" % (unique_path, name))["rc"] == 0
    r = c.do("ls %s" % unique_path)
    assert r["count"] == 3 and sorted(r["children"].split(",")) == ["a", "b", "c"]
    r = c.do("exists %s" % unique_path)
    assert (r["numChildren"], r["cversion"]) == (3, 3)
    r = c.do("delete %s -1" % unique_path)
    assert (r["rc"], r["err"]) == (-111, "not_empty")
    r = c.do("ls %s/missing" % unique_path)
    assert r["rc"] == -101


def test_c_sequential_nodes(zkc_factory, server, unique_path):
    c = zkc_factory(server)
    assert c.do("create %s - 0" % unique_path)["rc"] == 0
    r1 = c.do("create2 %s/q- x 2" % unique_path)
    r2 = c.do("create2 %s/q- x 2" % unique_path)
    assert r1["path"] == unique_path + "/q-0000000000"
    assert r2["path"] == unique_path + "/q-0000000001"
    assert r2["czxid"] > r1["czxid"]
    r3 = c.do("create %s/e- x 3" % unique_path)  # ephemeral + sequential
    assert r3["path"] == unique_path + "/e-0000000002"


def test_c_ephemeral_lifecycle(zkc_factory, kazoo_factory, server, unique_path):
    c = zkc_factory(server)
    sid = int(c.do("session")["id"], 16)
    assert sid != 0
    r = c.do("create2 %s eph 1" % unique_path)
    assert r["rc"] == 0 and r["ephemeralOwner"] == sid
    r = c.do("create %s/child x 0" % unique_path)
    assert (r["rc"], r["err"]) == (-108, "no_children_for_ephemerals")

    observer = kazoo_factory(server)
    assert observer.exists(unique_path).ephemeralOwner == sid
    assert c.close()["rc"] == 0  # zookeeper_close closes the session
    assert observer.exists(unique_path) is None


def test_c_watches(zkc_factory, kazoo_factory, server, unique_path):
    c = zkc_factory(server)
    writer = kazoo_factory(server)
    writer.create(unique_path, b"0")
    assert c.do("get %s watch" % unique_path)["rc"] == 0
    assert c.do("exists %s-new watch" % unique_path)["rc"] == -101
    assert c.do("ls %s watch" % unique_path)["rc"] == 0
    writer.set(unique_path, b"1")
    writer.set(unique_path, b"2")  # data watch is one-shot
    writer.create(unique_path + "-new")
    writer.create(unique_path + "/kid")
    r = c.do("wait 3 10")
    assert r["rc"] == 0, r
    assert sorted(r["events"]) == sorted([
        (3, 3, unique_path),  # ZOO_CHANGED_EVENT, connected
        (1, 3, unique_path + "-new"),  # ZOO_CREATED_EVENT
        (4, 3, unique_path),  # ZOO_CHILD_EVENT
    ])
    # per path the order is the server's order of changes
    assert [e for e in r["events"] if e[2] == unique_path] == [(3, 3, unique_path), (4, 3, unique_path)]


def test_c_multi_failure(zkc_factory, kazoo_factory, server, unique_path):
    c = zkc_factory(server)
    r = c.do("multi c:%s c:%s" % (unique_path, unique_path))
    assert (r["rc"], r["ops"]) == (-110, [0, -110])
    assert kazoo_factory(server).exists(unique_path) is None


# --- cli_mt batch mode -----------------------------------------------------------------


def test_cli_mt_create_get_set_ls_delete(server, unique_path):
    out = cli_mt(server, "create %s" % unique_path)
    assert "[%s]: rc = 0" % unique_path in out
    assert "\tname = %s" % unique_path in out

    out = cli_mt(server, "create %s" % unique_path)
    assert "[%s]: rc = -110" % unique_path in out

    out = cli_mt(server, "get %s" % unique_path)
    assert "%s: rc = 0" % unique_path in out
    assert " value_len = 3\nnew" in out  # cli_mt creates nodes with data "new"

    out = cli_mt(server, "set %s hello" % unique_path)
    assert "%s: rc = 0 Stat:" % unique_path in out
    assert "\tversion=1\taversion=0" in out
    out = cli_mt(server, "get %s" % unique_path)
    assert " value_len = 5\nhello" in out

    out = cli_mt(server, "create +s %s/s-" % unique_path)
    assert "\tname = %s/s-0000000000" % unique_path in out
    out = cli_mt(server, "ls %s" % unique_path)
    assert "%s: rc = 0\n\ts-0000000000\n" % unique_path in out

    out = cli_mt(server, "delete %s" % unique_path)
    assert "%s: rc = -111" % unique_path in out
    out = cli_mt(server, "delete %s/s-0000000000" % unique_path)
    assert "%s/s-0000000000: rc = 0" % unique_path in out
    out = cli_mt(server, "delete %s" % unique_path)
    assert "%s: rc = 0" % unique_path in out
    out = cli_mt(server, "get %s" % unique_path)
    assert "%s: rc = -101" % unique_path in out


def test_cli_mt_ephemeral_gone_after_exit(server, kazoo_factory, unique_path):
    out = cli_mt(server, "create +e %s" % unique_path)
    assert "[%s]: rc = 0" % unique_path in out
    assert kazoo_factory(server).exists(unique_path) is None


def test_cli_mt_create2_stat_and_errors(server, kazoo_factory, unique_path):
    out = cli_mt(server, "create2 %s" % unique_path)
    assert "[%s]: rc = 0" % unique_path in out
    stat = kazoo_factory(server).exists(unique_path)
    # cli_mt prints zxids in hex without a 0x prefix
    assert "\tczxid=%x\n" % stat.czxid in out
    assert "\tversion=0\taversion=0" in out
    assert "\tephemeralOwner = 0" in out
    out = cli_mt(server, "create %s/a/b" % unique_path)
    assert "[%s/a/b]: rc = -101" % unique_path in out
    out = cli_mt(server, "ls2 %s" % unique_path)
    assert "%s: rc = 0" % unique_path in out
    out = cli_mt(server, "sync %s" % unique_path)
    assert "[%s]: rc = 0" % unique_path in out
