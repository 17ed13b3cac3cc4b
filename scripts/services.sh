#!/usr/bin/env bash
# Make sure the services `make test` needs are running on this machine, starting what is not:
# PostgreSQL (primary, 5432) + a streaming replica (5433, made with pg_basebackup), Redis,
# RabbitMQ (for the AMQP broker test) and Debian's Chromium (browser tests).
# Under CI=true a service that cannot be started is an error (the suite never skips it).
set -uo pipefail

PG_HOST=127.0.0.1
PG_PORT=${DATABASE_PORT:-5432}
REPLICA_PORT=${DATABASE_REPLICA_PORT:-5433}
PG_VERSION=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
PG_BIN=/usr/lib/postgresql/${PG_VERSION}/bin
REPLICA_DIR=${REPLICA_DIR:-/var/lib/postgresql/${PG_VERSION}/leadengine-replica}
REPLICA_LOG=${REPLICA_DIR}.log

say() { printf '[services] %s\n' "$*"; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }
as_postgres() { if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi; }
wait_for() { # wait_for SECONDS command...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.5
  done
}
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# ---------------------------------------------------------------- PostgreSQL primary
[ -n "$PG_VERSION" ] || die "PostgreSQL is not installed (no /etc/postgresql)."
if ! "$PG_BIN/pg_isready" -q -h "$PG_HOST" -p "$PG_PORT"; then
  say "starting PostgreSQL ${PG_VERSION} on ${PG_PORT}"
  pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main start || true
  wait_for 30 "$PG_BIN/pg_isready" -h "$PG_HOST" -p "$PG_PORT" || die "PostgreSQL did not start on ${PG_PORT}."
fi
psql_primary() { psql -X -q -h "$PG_HOST" -p "$PG_PORT" -U postgres -tA "$@"; }

# Streaming replication needs a `replication` line in pg_hba.conf (trust on loopback only).
HBA=$(psql_primary -c "show hba_file")
if ! grep -Eq '^\s*host\s+replication\s+all\s+127\.0\.0\.1/32' "$HBA"; then
  say "allowing replication connections from 127.0.0.1 in $HBA"
  printf '\n# Lead Engine test replica (scripts/services.sh)\nhost replication all 127.0.0.1/32 trust\n' >> "$HBA"
  psql_primary -c "select pg_reload_conf()" >/dev/null
fi

# ---------------------------------------------------------------- PostgreSQL replica
replica_streaming() {
  [ "$(psql -X -h "$PG_HOST" -p "$REPLICA_PORT" -U postgres -tAc 'select pg_is_in_recovery()' 2>/dev/null)" = t ] &&
  [ "$(psql -X -h "$PG_HOST" -p "$REPLICA_PORT" -U postgres -tAc 'select status from pg_stat_wal_receiver' 2>/dev/null)" = streaming ]
}
if ! replica_streaming; then
  if [ -f "$REPLICA_DIR/PG_VERSION" ] && ! "$PG_BIN/pg_isready" -q -h "$PG_HOST" -p "$REPLICA_PORT"; then
    say "starting the existing replica on ${REPLICA_PORT}"
    as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_LOG" -w -t 30 start >/dev/null 2>&1 || true
    wait_for 20 replica_streaming || true
  fi
fi
if ! replica_streaming; then
  say "building a streaming replica of ${PG_PORT} on ${REPLICA_PORT} with pg_basebackup"
  if [ -f "$REPLICA_DIR/PG_VERSION" ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$REPLICA_DIR"
  mkdir -p "$(dirname "$REPLICA_DIR")"
  chown postgres:postgres "$(dirname "$REPLICA_DIR")"
  as_postgres "$PG_BIN/pg_basebackup" -h "$PG_HOST" -p "$PG_PORT" -U postgres -D "$REPLICA_DIR" -R -X stream -c fast \
    || die "pg_basebackup failed"
  # Debian keeps configuration outside the data directory: give the replica its own.
  as_postgres tee "$REPLICA_DIR/postgresql.conf" >/dev/null <<CONF
port = ${REPLICA_PORT}
listen_addresses = '127.0.0.1'
unix_socket_directories = '/var/run/postgresql'
max_connections = 200
shared_buffers = 64MB
hot_standby = on
hot_standby_feedback = on
max_standby_streaming_delay = 5s
logging_collector = off
CONF
  as_postgres tee "$REPLICA_DIR/pg_hba.conf" >/dev/null <<CONF
local all all trust
host all all 127.0.0.1/32 trust
CONF
  : > "$REPLICA_DIR/pg_ident.conf"
  chown postgres:postgres "$REPLICA_DIR/pg_ident.conf"
  as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_LOG" -w -t 60 start >/dev/null || die "the replica did not start (see $REPLICA_LOG)"
  wait_for 30 replica_streaming || die "the replica on ${REPLICA_PORT} is not streaming from ${PG_PORT} (see $REPLICA_LOG)"
fi
say "PostgreSQL primary :${PG_PORT} and streaming replica :${REPLICA_PORT} ready"

# The primary must accept the suite's connections (workers, live server, threads).
MAXCONN=$(psql_primary -c "show max_connections")
[ "${MAXCONN:-0}" -ge 100 ] || die "PostgreSQL max_connections is ${MAXCONN}; the suite needs 100."

# ---------------------------------------------------------------- Redis
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  say "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_for 15 redis-cli -h 127.0.0.1 -p 6379 ping || die "Redis did not start."
fi
say "Redis ready"

# ---------------------------------------------------------------- RabbitMQ
if ! port_open 127.0.0.1 5672; then
  say "starting RabbitMQ"
  rabbitmq-server -detached >/dev/null 2>&1 || true
  wait_for 60 port_open 127.0.0.1 5672 || die "RabbitMQ did not start on 5672."
fi
say "RabbitMQ ready"

# ---------------------------------------------------------------- Chromium for the browser tests
if [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's chromium (Playwright's own browser download does not work here)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null || die "could not install chromium"
fi
say "Chromium ready: $(/usr/bin/chromium --version 2>/dev/null)"

# ---------------------------------------------------------------- the dev chain (anvil)
# anvil from npm (`make test` runs npm ci first) on 127.0.0.1:${ANVIL_PORT:-8545}, chain id
# 31337, no persisted state: tests deploy what they need. Left running for the next run.
ANVIL_LOG=${ANVIL_LOG:-/tmp/leadengine-anvil-${ANVIL_PORT:-8545}.log}
if ! "$(dirname "$0")/anvil.sh" up --log "$ANVIL_LOG" >/dev/null; then
  if [ "${CI:-}" = true ]; then
    die "anvil did not start on 127.0.0.1:${ANVIL_PORT:-8545} (see $ANVIL_LOG)."
  fi
  say "WARNING: no chain node on 127.0.0.1:${ANVIL_PORT:-8545}; the chain tests will fail (see $ANVIL_LOG)"
else
  say "anvil ready on 127.0.0.1:${ANVIL_PORT:-8545}"
fi
