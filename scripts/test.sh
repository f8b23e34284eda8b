#!/usr/bin/env bash
# Runs every test: unit tests (swift test), then the client-driven integration suite with kazoo
# and the C client against the built `paddock` and against Apache ZooKeeper 3.8 as the oracle.
# Installs what the tests need first: Debian's zookeeper (the oracle), zookeeper-bin and
# libzookeeper-mt-dev (the C client), and kazoo + pytest in a virtualenv under .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh zookeeper zookeeper-bin libzookeeper-mt-dev python3-venv default-jre-headless netcat-openbsd

if [ ! -x .venv/bin/pytest ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q -r Tests/Integration/requirements.txt
fi

swift build
swift build --product paddock-token-auth   # the example out-of-tree auth plugin the tests load
swift test

export PADDOCK_BIN="$PWD/.build/debug/paddock"
.venv/bin/python -m pytest Tests/Integration -q -p no:cacheprovider "$@"
# Every Paddock test again with each port on the NIO transport module, then the ensemble modules
# on clusters whose servers mix transports (PADDOCK_TRANSPORT, Tests/Integration/conftest.py).
PADDOCK_SERVERS=paddock PADDOCK_TRANSPORT=nio .venv/bin/python -m pytest Tests/Integration -q -p no:cacheprovider "$@"
PADDOCK_SERVERS=paddock PADDOCK_TRANSPORT=mixed .venv/bin/python -m pytest \
  Tests/Integration/test_ensemble.py Tests/Integration/test_observers.py -q -p no:cacheprovider "$@"
# A short coverage-guided fuzzing run of every input parser (scripts/fuzz.sh; longer runs by hand).
scripts/fuzz.sh "${PADDOCK_FUZZ_SECONDS:-15}"
