#!/usr/bin/env bash
# Runs the 3-node loopback ensemble of conf/ensemble/zoo{1,2,3}.cfg from the repository root
# (client ports 2181-2183, data, logs and pid files under ./data/ensemble/N/).
#
#   scripts/ensemble.sh up       writes each node's myid, starts the three `paddock server`
#                                processes in the background, waits until one leads and two follow
#   scripts/ensemble.sh status   each node's pid and the Mode line of its `srvr`
#   scripts/ensemble.sh down     SIGTERM to each node (SIGKILL after 10 s)
#
# Uses $PADDOCK_BIN if set; otherwise builds with `swift build -c release` and runs
# .build/release/paddock (what `swift run -c release paddock` in README.md runs).
# Connect with any client to all three: 127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183
set -euo pipefail
# A relative PADDOCK_BIN is relative to where the script was called from.
if [ -n "${PADDOCK_BIN:-}" ] && [ "${PADDOCK_BIN#/}" = "$PADDOCK_BIN" ] && [ -e "$PADDOCK_BIN" ]; then
  PADDOCK_BIN="$PWD/$PADDOCK_BIN"
fi
cd "$(dirname "$0")/.."

NODES=(1 2 3)
UP_DEADLINE_S=${ENSEMBLE_UP_DEADLINE:-60}
STOP_DEADLINE_S=10

conf_of() { echo "conf/ensemble/zoo$1.cfg"; }
dir_of() { echo "data/ensemble/$1"; }
pidfile_of() { echo "data/ensemble/$1/paddock.pid"; }
port_of() { sed -n 's/^clientPort=\([0-9]*\).*/\1/p' "$(conf_of "$1")"; }

# The pid of node N's server if it is running (its command line names its zoo.cfg), else nothing.
running_pid() {
  local pidfile pid
  pidfile=$(pidfile_of "$1")
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  local cmdline
  cmdline=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null || true)
  case "$cmdline" in
    *"$(conf_of "$1")"*) echo "$pid" ;;
  esac
}

# A four-letter word's reply (empty if the node does not answer within 2 s); no nc needed.
four_letter() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf %s "$2" >&3 && cat <&3' _ "$1" "$2" 2>/dev/null || true
}

mode_of() {
  local reply
  reply=$(four_letter "$(port_of "$1")" srvr)
  if [ -z "$reply" ]; then
    echo "no answer"
  elif grep -q "not currently serving" <<<"$reply"; then
    echo "not serving"
  else
    sed -n 's/^Mode: //p' <<<"$reply"
  fi
}

paddock_bin() {
  if [ -n "${PADDOCK_BIN:-}" ]; then
    echo "$PADDOCK_BIN"
    return
  fi
  swift build -c release >&2
  echo "$PWD/.build/release/paddock"
}

status() {
  local n pid
  for n in "${NODES[@]}"; do
    pid=$(running_pid "$n")
    if [ -n "$pid" ]; then
      printf 'node %s  127.0.0.1:%s  pid %-8s Mode: %s\n' "$n" "$(port_of "$n")" "$pid" "$(mode_of "$n")"
    else
      printf 'node %s  127.0.0.1:%s  down\n' "$n" "$(port_of "$n")"
    fi
  done
}

up() {
  local bin n dir pid
  bin=$(paddock_bin)
  [ -x "$bin" ] || { echo "paddock binary not found at $bin" >&2; exit 1; }
  for n in "${NODES[@]}"; do
    dir=$(dir_of "$n")
    mkdir -p "$dir"
    echo "$n" > "$dir/myid"
    if [ -n "$(running_pid "$n")" ]; then
      echo "node $n already running"
      continue
    fi
    nohup "$bin" server --config "$(conf_of "$n")" > "$dir/server.log" 2>&1 < /dev/null &
    echo $! > "$(pidfile_of "$n")"
    echo "node $n started (pid $!, log $dir/server.log)"
  done

  local deadline=$((SECONDS + UP_DEADLINE_S)) leaders followers mode
  while :; do
    leaders=0 followers=0
    for n in "${NODES[@]}"; do
      [ -n "$(running_pid "$n")" ] || { echo "node $n exited; see $(dir_of "$n")/server.log" >&2; status; exit 1; }
      mode=$(mode_of "$n")
      [ "$mode" = leader ] && leaders=$((leaders + 1))
      [ "$mode" = follower ] && followers=$((followers + 1))
    done
    if [ "$leaders" -eq 1 ] && [ "$followers" -eq $((${#NODES[@]} - 1)) ]; then
      status
      return
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "no leader with ${#NODES[@]} members within ${UP_DEADLINE_S}s" >&2
      status
      exit 1
    fi
    sleep 0.2
  done
}

down() {
  local n pid pids=()
  for n in "${NODES[@]}"; do
    pid=$(running_pid "$n")
    if [ -n "$pid" ]; then
      kill -TERM "$pid"
      pids+=("$n:$pid")
    fi
  done
  local deadline=$((SECONDS + STOP_DEADLINE_S)) entry
  for entry in "${pids[@]}"; do
    n=${entry%%:*} pid=${entry#*:}
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "node $n (pid $pid) ignored SIGTERM; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    echo "node $n stopped"
  done
  for n in "${NODES[@]}"; do
    rm -f "$(pidfile_of "$n")"
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
