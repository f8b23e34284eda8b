"""The nemesis campaign on loopback ensembles (issue 8, item 3): kazoo workers run registers,
CAS, creates, deletes and sequential creates while nodes are killed, frozen and restarted with
torn logs; the recorded history must be linearizable (reads are sync-then-read), which also
means no acknowledged write was lost. Run against Paddock and Apache ZooKeeper 3.8 alike.

PADDOCK_NEMESIS_SECONDS sets each campaign's length (default 20 s); the counts are printed in
the run's "figures" section.
"""

import os

import pytest

import conftest
from ensemble import ensemble_kind, make_ensemble  # noqa: F401  (fixtures)
from nemesis import run_campaign

SECONDS = float(os.environ.get("PADDOCK_NEMESIS_SECONDS", "20"))


@pytest.mark.parametrize("voters,observers", [(3, 0), (5, 1)], ids=["3-voters", "5-voters-1-observer"])
def test_histories_under_faults_are_linearizable(make_ensemble, ensemble_kind, tmp_path, voters, observers):
    ensemble = make_ensemble(voters, observers=observers, maxSessionTimeout=8000)
    figures, status, verdict = run_campaign(ensemble, tmp_path, SECONDS, seed=voters)
    conftest.FIGURES.append("nemesis %s %d voters %d observers: %s; %s" % (
        ensemble_kind, voters, observers, ", ".join("%s %d" % item for item in figures.items()),
        verdict.splitlines()[0] if verdict else "no verdict"))
    assert status == 0, verdict
    assert figures["ok"] > 100, figures
    assert sum(count for name, count in figures.items() if name.startswith("faults_")) >= 3, figures
