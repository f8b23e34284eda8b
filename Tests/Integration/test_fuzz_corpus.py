"""Every fuzz target's seed corpus and every crash the fuzzers found (Tests/Fuzz/Corpus), replayed
through the normal build of paddock-fuzz: each input must be rejected cleanly, never crash. The
fuzzing itself is scripts/fuzz.sh (a short run in scripts/test.sh)."""

import os
import subprocess

import pytest

import conftest

CORPUS = conftest.REPO / "Tests" / "Fuzz" / "Corpus"
FUZZ = os.path.join(os.path.dirname(conftest.PADDOCK_BIN), "paddock-fuzz")
TARGETS = sorted(p.name for p in CORPUS.iterdir())


def test_every_target_has_seeds():
    assert TARGETS == sorted(["client-stream", "config", "quorum-stream", "snapshot", "snapshot-gz", "txn-log"])


@pytest.mark.parametrize("target", TARGETS)
def test_corpus_replays_without_a_crash(target):
    done = subprocess.run([FUZZ, "replay", target, str(CORPUS / target)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "replayed %d inputs" % len(list((CORPUS / target).iterdir())) in done.stdout
