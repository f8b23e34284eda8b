"""Observers (ZooKeeper's `server.N=...:observer` + peerType=observer): they
follow the leader without voting, serve reads, forward writes, and count
toward no quorum.  Every test runs against each kind in PADDOCK_SERVERS with
3 voters and 2 observers of real processes on loopback (ensemble.py);
Apache ZooKeeper 3.8 is the oracle."""

import shutil

import pytest
from kazoo.exceptions import ConnectionLoss, OperationTimeoutError, SessionExpiredError
from kazoo.handlers.threading import KazooTimeoutError

from conftest import REPO
from ensemble import assert_replicated, ensemble_kind, kazoo, make_ensemble, paddock_cluster  # noqa: F401  (fixtures are used by name)
from processes import close_kazoo, wait_until
from test_ensemble import converged_tree, exists_on

NO_WRITE = (ConnectionLoss, OperationTimeoutError, SessionExpiredError, KazooTimeoutError)


@pytest.fixture
def observed(make_ensemble):
    return make_ensemble(3, observers=2)


def test_observers_report_their_mode_and_the_leader_counts_them(observed):
    leader = observed.leader()
    assert [observed.mode(o) for o in observed.observers()] == ["observer", "observer"]
    counts = leader.mntr()
    assert counts["zk_synced_followers"] == "2"
    assert counts["zk_synced_observers"] == "2"
    for observer in observed.observers():
        assert observer.mntr()["zk_server_state"] == "observer"


def test_a_write_through_an_observer_reaches_every_server(observed):
    observer = observed.observers()[0]
    client = kazoo(observer.hosts)
    try:
        client.create("/obs", b"through an observer")
        assert client.get("/obs")[0] == b"through an observer"  # the session's own write, no sync
        client.set("/obs", b"again")
        assert client.get("/obs")[1].version == 1
    finally:
        close_kazoo(client)
    tree = converged_tree(observed, "/obs")
    assert tree["/obs"][0] == b"again"


def test_two_voters_down_means_no_writes_whatever_the_observers(observed):
    observer = observed.observers()[0]
    client = kazoo(observer.hosts)
    try:
        leader = observed.leader()
        follower = observed.followers()[0]
        leader.kill9()
        follower.kill9()
        wait_until(lambda: observer.mode() is None, timeout=15, message="the observer to stop serving")
        with pytest.raises(NO_WRITE):
            client.create_async("/never", b"").get(timeout=3)
    finally:
        close_kazoo(client)  # before the voters return, so the queued create dies with it
    leader.restart()
    follower.restart()
    observed.wait_stable()
    assert all(exists_on(n, "/never") is None for n in observed.running())


def test_losing_every_observer_does_not_disturb_writes(observed):
    voters = [observed.leader()] + observed.followers()
    client = kazoo(observed.hosts_of(voters))
    try:
        client.create("/before")
        for observer in observed.observers():
            observer.kill9()
        for i in range(20):
            client.create("/during-%d" % i)
        assert observed.wait_stable(voters) in voters
    finally:
        close_kazoo(client)


def test_an_observer_back_after_missing_many_writes_catches_up(observed):
    away = observed.observers()[1]
    away.kill9()
    client = kazoo(observed.hosts_of(observed.running()))
    try:
        client.create("/bulk")
        for result in [client.create_async("/bulk/n%04d" % i, b"") for i in range(700)]:
            result.get(timeout=30)
    finally:
        close_kazoo(client)
    away.restart()
    observed.wait_stable()
    assert len(converged_tree(observed, "/bulk")) == 701


def test_observers_follow_the_next_leader(observed):
    old = observed.leader()
    old.kill9()
    new = observed.wait_stable()
    assert new is not old and not new.observer
    client = kazoo(observed.observers()[0].hosts)
    try:
        client.create("/after", b"new reign")
    finally:
        close_kazoo(client)
    old.restart()
    observed.wait_stable()
    assert converged_tree(observed, "/after")["/after"][0] == b"new reign"


def test_paddock_cluster_runs_the_shipped_observer_folder(ensemble_kind):
    """`paddock cluster up conf/observers` starts 3 voters and 2 observers on
    this machine and waits until all serve; a write through an observer is read
    on a voter; `paddock cluster down` stops all five."""
    if ensemble_kind != "paddock":
        pytest.skip("`paddock cluster` runs paddock servers")
    data = REPO / "data" / "observers"
    if data.exists():
        pytest.skip("%s exists: a cluster of the repository may be running" % data)
    cluster = paddock_cluster
    try:
        up = cluster("up", "conf/observers")
        assert up.returncode == 0, up.stdout + up.stderr
        modes = [line.split()[-1] for line in cluster("status", "conf/observers").stdout.splitlines()]
        assert sorted(modes) == ["follower", "follower", "leader", "observer", "observer"], modes
        assert_replicated("127.0.0.1:2284", "127.0.0.1:2281", "/shipped-observers", b"via server 4")
    finally:
        down = cluster("down", "conf/observers")
        shutil.rmtree(data, ignore_errors=True)
    assert down.returncode == 0 and down.stdout.count("stopped") == 5, down.stdout + down.stderr
