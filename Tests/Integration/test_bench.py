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
