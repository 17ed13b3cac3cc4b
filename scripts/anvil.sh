#!/usr/bin/env bash
# The development chain (anvil from npm `@foundry-rs/anvil`, pinned in package.json) for
# `make run` and `make test`.
#
#   scripts/anvil.sh up [--state FILE] [--log FILE]
#       Make sure a node answers eth_chainId on 127.0.0.1:$ANVIL_PORT (default 8545); start anvil
#       in the background (chain id $ANVIL_CHAIN_ID, default 31337) when nothing answers there.
#       Prints the pid of the anvil it started on stdout (nothing when a node was already
#       there), exits 1 when no node answers in the end. --state persists the chain to FILE
#       (loaded at start, written every few seconds and on exit).
#   scripts/anvil.sh down PID
#       Stop an anvil this script started (SIGTERM, so it writes its state), waiting for it.
#   scripts/anvil.sh ping
#       Exit 0 when a node answers eth_chainId on 127.0.0.1:$ANVIL_PORT.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOST=127.0.0.1
PORT=${ANVIL_PORT:-8545}
CHAIN_ID=${ANVIL_CHAIN_ID:-31337}

say() { printf '[anvil] %s\n' "$*" >&2; }

anvil_bin() {
  # Prefer the platform package's binary: the node wrapper in .bin would sit between us and
  # the signals that make anvil write its state.
  local candidate
  for candidate in \
    "$ROOT/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" \
    "$ROOT"/node_modules/@foundry-rs/anvil-*/bin/anvil \
    "$ROOT/node_modules/.bin/anvil"; do
    [ -x "$candidate" ] && { printf '%s\n' "$candidate"; return 0; }
  done
  return 1
}

ping_node() {
  curl -sf -m 2 -H 'Content-Type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "http://$HOST:$PORT" 2>/dev/null |
    grep -q '"result"'
}

cmd_up() {
  local state="" log=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --state) state=$2; shift 2 ;;
      --log) log=$2; shift 2 ;;
      *) say "unknown option $1"; return 2 ;;
    esac
  done
  if ping_node; then
    say "a node already answers on $HOST:$PORT: using it"
    return 0
  fi
  local bin
  bin=$(anvil_bin) || { say "no anvil binary under node_modules (run npm ci)"; return 1; }
  log=${log:-/tmp/leadengine-anvil-$PORT.log}
  mkdir -p "$(dirname "$log")"
  # --prune-history: keep the last 256 block states in memory and none on disk. By default anvil
  # writes older states under ~/.foundry/anvil/tmp, and a few hours of tests (thousands of blocks
  # with our contracts) filled a 250 GB disk; nothing here reads state older than a few blocks.
  local args=(--host "$HOST" --port "$PORT" --chain-id "$CHAIN_ID" --prune-history 256)
  if [ -n "$state" ]; then
    mkdir -p "$(dirname "$state")"
    # --state loads FILE when it exists and dumps to it on exit; --state-interval also dumps
    # every 5 s so a hard kill loses seconds, not the chain.
    args+=(--state "$state" --state-interval 5)
  fi
  say "starting anvil on $HOST:$PORT (chain id $CHAIN_ID${state:+, state $state}; log $log)"
  setsid "$bin" "${args[@]}" >"$log" 2>&1 </dev/null &
  local pid=$!
  local deadline=$((SECONDS + 20))
  until ping_node; do
    if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      kill "$pid" 2>/dev/null
      say "anvil did not start; last lines of $log:"
      tail -n 5 "$log" >&2
      return 1
    fi
    sleep 0.2
  done
  printf '%s\n' "$pid"
}

cmd_down() {
  local pid=${1:-}
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  local deadline=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && { kill -KILL "$pid" 2>/dev/null; break; }
    sleep 0.1
  done
  say "anvil stopped"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  ping) ping_node ;;
  *) say "usage: $0 up [--state FILE] [--log FILE] | down PID | ping"; exit 2 ;;
esac
