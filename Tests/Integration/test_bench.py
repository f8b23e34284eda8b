"""`paddock bench` works against each server kind (a smoke run: the numbers are
not asserted, only that the tool drives the load, reports it and cleans up)."""

import re
import subprocess

import pytest

import conftest

BENCH_LINE = re.compile(r"^BENCH (.*)$", re.M)


@pytest.mark.parametrize("op", ["get", "set", "create-delete", "mixed"])
def test_bench_drives_each_load_and_removes_its_nodes(server, zk, op):
    run = subprocess.run(
        [conftest.PADDOCK_BIN, "bench", "--hosts", server.hosts, "--clients", "2", "--inflight", "4",
         "--duration", "0.5", "--warmup", "0.2", "--op", op, "--keys", "50", "--root", "/bench-" + op],
        capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    fields = dict(item.split("=") for item in BENCH_LINE.search(run.stdout).group(1).split())
    assert fields["op"] == op and fields["clients"] == "2" and fields["inflight"] == "4"
    assert int(fields["ops"]) > 0
    p50, p99, p999, most = (int(fields[k]) for k in ("p50_us", "p99_us", "p999_us", "max_us"))
    assert 0 < p50 <= p99 <= p999 <= most
    assert zk.exists("/bench-" + op) is None


def test_bench_spreads_sessions_over_the_hosts_in_turn_under_the_chroot(server, zk):
    """Session i takes the i-th host, keeping the chroot. A /b outside the chroot whose child
    nobody may delete makes a bench that lost the chroot fail (it could not clear /b)."""
    from kazoo.security import OPEN_ACL_UNSAFE, make_acl

    zk.ensure_path("/bench-chroot")
    zk.create("/b/x", makepath=True)
    try:
        zk.set_acls("/b", [make_acl("world", "anyone", read=True, admin=True)])
        run = subprocess.run(
            [conftest.PADDOCK_BIN, "bench", "--hosts", "%s,%s/bench-chroot" % (server.hosts, server.hosts),
             "--clients", "2", "--duration", "0.3", "--warmup", "0.1", "--keys", "5", "--root", "/b"],
            capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stdout + run.stderr
        assert zk.get_children("/bench-chroot") == [], "the bench cleaned up under the chroot"
        assert zk.get_children("/b") == ["x"], "nothing outside the chroot was touched"
    finally:
        zk.set_acls("/b", OPEN_ACL_UNSAFE)
        zk.delete("/b", recursive=True)
        zk.delete("/bench-chroot", recursive=True)


def test_a_bad_connection_string_is_refused_before_any_load():
    run = subprocess.run([conftest.PADDOCK_BIN, "bench", "--hosts", "127.0.0.1:99999"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode != 0
    assert "--hosts" in run.stderr and "bad port" in run.stderr, run.stderr
