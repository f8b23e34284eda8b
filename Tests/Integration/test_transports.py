"""Transport modules (paddock.transport for the client port,
paddock.quorum.transport for the quorum and election ports) on real
processes.  The client-driven modules run again on other transports from
scripts/test.sh (PADDOCK_TRANSPORT=nio, and =mixed for the ensemble
modules); this module checks the shipped mixed-transport folder."""

import re
import shutil

import pytest

from conftest import REPO
from ensemble import assert_replicated, ensemble_kind, paddock_cluster  # noqa: F401  (fixtures are used by name)

MIXED = REPO / "conf" / "mixed"


def configured_transports(cfg):
    keys = dict(line.split("=", 1) for line in cfg.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return keys["clientPort"], keys["paddock.transport"], keys["paddock.quorum.transport"]


def test_paddock_cluster_runs_the_shipped_mixed_transport_folder(ensemble_kind):
    """`paddock cluster up conf/mixed` starts 3 voters whose client and quorum
    ports run different modules (every pairing of libuv and NIO across the
    quorum links); each server logs the modules its file names; a write
    through each server is read on the next; `paddock cluster down` stops all."""
    if ensemble_kind != "paddock":
        pytest.skip("`paddock cluster` runs paddock servers")
    data = REPO / "data" / "mixed"
    if data.exists():
        pytest.skip("%s exists: a cluster of the repository may be running" % data)
    servers = [configured_transports(MIXED / ("zoo%d.cfg" % n)) for n in (1, 2, 3)]
    assert {client for _, client, _ in servers} == {"libuv", "nio"}
    assert {quorum for _, _, quorum in servers} == {"libuv", "nio"}
    try:
        up = paddock_cluster("up", "conf/mixed")
        assert up.returncode == 0, up.stdout + up.stderr
        modes = [line.split()[-1] for line in paddock_cluster("status", "conf/mixed").stdout.splitlines()]
        assert sorted(modes) == ["follower", "follower", "leader"], modes
        for n, (port, client, quorum) in enumerate(servers, start=1):
            log = (data / str(n) / "server.log").read_text()
            assert re.search(r"serving clients on 127\.0\.0\.1:%s \(transport %s\)" % (port, client), log), log
            assert "(transport %s)" % quorum in log.split("election port")[1].splitlines()[0], log
            next_port = servers[n % 3][0]
            assert_replicated("127.0.0.1:" + port, "127.0.0.1:" + next_port, "/mixed-%d" % n, b"via server %d" % n)
    finally:
        down = paddock_cluster("down", "conf/mixed")
        shutil.rmtree(data, ignore_errors=True)
    assert down.returncode == 0 and down.stdout.count("stopped") == 3, down.stdout + down.stderr
