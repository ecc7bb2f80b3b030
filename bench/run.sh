#!/usr/bin/env bash
# natter vs. the tutorials' Node stack, side by side on this machine.
#
# Builds natter, natter-bench and the Node reference (bench/reference), then for each target
# (natter on SQLite, natter on PostgreSQL, the reference on PostgreSQL): a fresh database,
# the same seeded data, the server pinned to one core and the load generator to another,
# every scenario, the server stopped. Writes bench/results/raw-<target>.jsonl,
# bench/results/latest.md and bench/results/chart.svg.
#
#   bench/run.sh                 # the full run (~15 minutes on 2 cores)
#   QUICK=1 bench/run.sh         # a seconds-long smoke run: small numbers, natter-sqlite only;
#                                # fails on any failed request or lost delivery (CI runs it)
#   TARGETS="natter-pg reference-pg" bench/run.sh
#
# BENCH_RESULTS=DIR writes the results there instead of bench/results; CARGO_PROFILE=dev
# uses debug builds (the smoke run in CI, which has them already).
#
# Needs: cargo, node/npm, PostgreSQL at $PG_URL (default postgres://postgres@127.0.0.1:5432,
# trust auth), taskset (util-linux). Everything it starts, it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

QUICK=${QUICK:-0}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
SERVER_CPU=${SERVER_CPU:-0}
BENCH_CPU=${BENCH_CPU:-1}
if [ "$QUICK" = 1 ]; then
  TARGETS=${TARGETS:-natter-sqlite}
  DURATION=1 USERS=300 ROOMS=50 MESSAGES=1000 RECEIVERS="100" SOCKETS="200" CONCURRENCY="1 16" PAGE_SIZES="50 1000"
else
  TARGETS=${TARGETS:-natter-sqlite natter-pg natter-pg-2nodes reference-pg}
  DURATION=${DURATION:-10} USERS=${USERS:-10050} ROOMS=${ROOMS:-500} MESSAGES=${MESSAGES:-10000}
  RECEIVERS=${RECEIVERS:-100 1000 10000} SOCKETS=${SOCKETS:-1000 10000 20000} CONCURRENCY=${CONCURRENCY:-1 16 64}
  PAGE_SIZES=${PAGE_SIZES:-50 200 1000}
fi
SCENARIO_TIMEOUT=${SCENARIO_TIMEOUT:-300}
PASSWORD=bench-password-1
SECRET=bench-secret-bench-secret-bench-secret-0001
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results}
CARGO_PROFILE=${CARGO_PROFILE:-release}
STRICT=()
if [ "$QUICK" = 1 ]; then STRICT=(--strict); fi
WORK=$(mktemp -d /tmp/natter-bench.XXXXXX)
SERVER_PID=""
SECOND_PID=""
REDIS_BENCH_URL=${REDIS_BENCH_URL:-redis://127.0.0.1:6379/7}

log() { printf '\n=== %s\n' "$*" >&2; }

cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$SECOND_PID" ]; then kill "$SECOND_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Many sockets: raise the descriptor limit for the servers and the load generator.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# A size above the limit is measured at the limit less 100 (what the server keeps open
# besides its sockets): 20,000 becomes 19,900 on a machine whose hard limit is 20,000.
if [ "$(ulimit -n)" != unlimited ]; then
  cap=$(( $(ulimit -n) - 100 ))
  SOCKETS=$(for n in $SOCKETS; do if [ "$n" -gt "$cap" ]; then echo "$cap"; else echo "$n"; fi; done | uniq | xargs)
  log "descriptor limit $(ulimit -n): socket counts $SOCKETS"
fi

log "building natter and natter-bench ($CARGO_PROFILE)"
cargo build --profile "$CARGO_PROFILE" -p natter -p natter-bench
BIN_DIR=$ROOT/target/$([ "$CARGO_PROFILE" = dev ] && echo debug || echo "$CARGO_PROFILE")
NATTER=$BIN_DIR/natter
BENCH=$BIN_DIR/natter-bench
if [[ " $TARGETS " == *" reference-pg "* ]]; then
  log "installing the reference's packages"
  (cd bench/reference && npm ci --no-audit --no-fund --loglevel=error)
fi

psql_admin() { psql "$PG_URL/postgres" -v ON_ERROR_STOP=1 -q -c "$1"; }
fresh_pg_db() {
  psql_admin "DROP DATABASE IF EXISTS $1 WITH (FORCE)"
  psql_admin "CREATE DATABASE $1"
}

# wait_for_http BASE [PATH]: until BASE/PATH (default /healthz) answers 2xx.
wait_for_http() {
  for _ in $(seq 1 200); do
    curl -fsS "$1${2:-/healthz}" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server at $1 did not come up" >&2
  return 1
}

# natter_env LABEL CMD...: runs CMD (exec: a background call's $! is natter's own pid).
natter_env() {
  exec env DATA_DIR="$WORK/$1" DATABASE_URL="$DB_URL" JWT_SECRET=$SECRET ACCESS_TOKEN_TTL=6h \
    RATE_LIMITS=off LOG_LEVEL=warn "${@:2}"
}

# start_server LABEL: starts the target's server(s) pinned to $SERVER_CPU; sets SERVER_PID/BASE.
# natter-pg-2nodes: two nodes on one PostgreSQL database and one Redis, both on $SERVER_CPU
# (the same CPU as one node gets: this measures what the cluster hop costs, not scaling).
start_server() {
  local label=$1
  for port in 3101 3102 3103; do
    if curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; then
      echo "port $port is still in use by an earlier server; stop it first" >&2
      exit 1
    fi
  done
  case $label in
    natter-pg-2nodes)
      redis-cli -u "$REDIS_BENCH_URL" flushdb >/dev/null
      BASE=http://127.0.0.1:3101,http://127.0.0.1:3103
      natter_env "$label" PORT=3101 REDIS_URL="$REDIS_BENCH_URL" taskset -c "$SERVER_CPU" "$NATTER" >"$WORK/$label.log" 2>&1 &
      SERVER_PID=$!
      natter_env "$label" PORT=3103 REDIS_URL="$REDIS_BENCH_URL" taskset -c "$SERVER_CPU" "$NATTER" >"$WORK/$label-b.log" 2>&1 &
      SECOND_PID=$!
      # Ready, not only up: a node joins the cluster (subscriptions, presence) after it
      # starts answering, and deliveries sent before that would not cross.
      wait_for_http http://127.0.0.1:3101 /readyz
      wait_for_http http://127.0.0.1:3103 /readyz
      return
      ;;
    natter-*)
      BASE=http://127.0.0.1:3101
      natter_env "$label" PORT=3101 taskset -c "$SERVER_CPU" "$NATTER" >"$WORK/$label.log" 2>&1 &
      ;;
    reference-*)
      BASE=http://127.0.0.1:3102
      (cd bench/reference && exec env PORT=3102 DATABASE_URL="$DB_URL" JWT_SECRET=$SECRET NODE_ENV=production \
        taskset -c "$SERVER_CPU" node src/index.js) >"$WORK/$label.log" 2>&1 &
      ;;
  esac
  SERVER_PID=$!
  wait_for_http "$BASE"
}

stop_server() {
  for pid in $SERVER_PID $SECOND_PID; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  SERVER_PID=""
  SECOND_PID=""
}

# seed LABEL: the same data for every target; writes $WORK/$label.tokens.
seed() {
  local label=$1
  case $label in
    natter-sqlite) DB_URL="sqlite://$WORK/$label/natter.db" ;;
    natter-pg) DB_URL="$PG_URL/natter_bench"; fresh_pg_db natter_bench ;;
    natter-pg-2nodes) DB_URL="$PG_URL/natter_bench2"; fresh_pg_db natter_bench2 ;;
    reference-pg) DB_URL="$PG_URL/natter_ref_bench"; fresh_pg_db natter_ref_bench ;;
    *) echo "unknown target $label" >&2; exit 2 ;;
  esac
  mkdir -p "$WORK/$label"
  case $label in
    natter-*)
      (natter_env "$label" "$NATTER" seed --users $USERS --rooms $ROOMS --messages $MESSAGES --password $PASSWORD \
        --tokens-out "$WORK/$label.tokens" >&2)
      ;;
    reference-*)
      (cd bench/reference && env DATABASE_URL="$DB_URL" JWT_SECRET=$SECRET \
        node seed.js --users $USERS --pair-messages $MESSAGES --rooms $ROOMS --password $PASSWORD \
        --tokens-out "$WORK/$label.tokens" >/dev/null)
      ;;
  esac
}

# bench LABEL ARGS...: one scenario, pinned to $BENCH_CPU; appends its line to the results.
bench() {
  local label=$1
  shift
  log "$label: $*"
  # A scenario that cannot finish (a server drowning in its own broadcasts) is cut off and
  # reported as failed rather than holding up the run.
  local out
  if out=$(timeout "$SCENARIO_TIMEOUT" taskset -c "$BENCH_CPU" "$BENCH" --base-url "$BASE" --tokens "$WORK/$label.tokens" \
    --password $PASSWORD --server-pid "$SERVER_PID" --label "$label" --duration "$DURATION" "${STRICT[@]}" "$@"); then
    echo "$out" >>"$RESULTS/raw-$label.jsonl"
    echo "$out" >&2
  else
    echo "  FAILED or timed out after ${SCENARIO_TIMEOUT}s: $label $* (reported as n/a)" >&2
    echo "$label: $*" >>"$RESULTS/failed.txt"
  fi
}

mkdir -p "$RESULTS"
touch "$RESULTS/failed.txt"
for label in $TARGETS; do
  : >"$RESULTS/raw-$label.jsonl"
  grep -v "^$label: " "$RESULTS/failed.txt" >"$RESULTS/failed.tmp" || true
  mv "$RESULTS/failed.tmp" "$RESULTS/failed.txt"
  seed "$label"

  start_server "$label"
  for limit in $PAGE_SIZES; do bench "$label" read --concurrency 16 --limit "$limit"; done
  bench "$label" rooms --concurrency 16
  for c in $CONCURRENCY; do bench "$label" send --concurrency "$c"; done
  if [[ $label == natter-* ]]; then
    for c in $CONCURRENCY; do bench "$label" post --concurrency "$c"; done
  fi
  bench "$label" isolation --readers 16 --logins 50
  bench "$label" auth --concurrency 16
  for n in $RECEIVERS; do
    bench "$label" delivery --receivers "$n" --mode dm --messages 1000 --rate 200
    if [[ $label == natter-* ]]; then
      # One room holding every receiver; ~20k deliveries per run whatever the size.
      m=$(( 20000 / n )); [ $m -lt 20 ] && m=20
      bench "$label" delivery --receivers "$n" --mode group --messages $m --rate $(( m / 5 > 0 ? m / 5 : 1 ))
    fi
  done
  stop_server

  # Memory: a fresh server for each size, so earlier scenarios do not inflate it (one node).
  [ "$label" = natter-pg-2nodes ] && continue
  for n in $SOCKETS; do
    for users in "$n" 100 1; do
      start_server "$label"
      bench "$label" memory --connections "$n" --users "$users"
      stop_server
    done
  done
done

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs || echo unknown)
machine="Machine: $(nproc) cores ($cpu), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -sr); \
server pinned to CPU $SERVER_CPU, load generator to CPU $BENCH_CPU; \
$(date -u +%Y-%m-%d), natter $(git rev-parse --short HEAD), node $(node --version 2>/dev/null || echo -), \
PostgreSQL $(psql --version | awk '{print $3}'); ${DURATION}s per throughput scenario."
# Every target's latest results, so that a run of some targets (TARGETS=natter-sqlite)
# is reported beside the others' last run.
inputs=()
for label in natter-sqlite natter-pg natter-pg-2nodes reference-pg; do
  if [ -s "$RESULTS/raw-$label.jsonl" ]; then inputs+=("$RESULTS/raw-$label.jsonl"); fi
done
"$BENCH" report "${inputs[@]}" --markdown "$RESULTS/latest.md" --chart "$RESULTS/chart.svg" --machine "$machine"
log "wrote $RESULTS/latest.md and $RESULTS/chart.svg"
cat "$RESULTS/latest.md"
if [ "$QUICK" = 1 ] && [ -s "$RESULTS/failed.txt" ]; then
  log "smoke run: these scenarios failed"
  cat "$RESULTS/failed.txt" >&2
  exit 1
fi
