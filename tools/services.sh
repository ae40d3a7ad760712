#!/usr/bin/env bash
# Makes sure the PostgreSQL and Redis servers the integration tests talk to are up on
# 127.0.0.1 (5432 with trust auth and a database `test`; 6379). Starts them when installed but
# stopped, installs them from Debian's packages when missing. Used by the test command only:
# the main job runs on the embedded defaults (SQLite, in-process worker) and needs neither.
set -euo pipefail

log() { echo "services: $*" >&2; }
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  if [[ $apt_updated == 0 ]]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
  if ! command -v pg_ctlcluster >/dev/null; then
    log "installing postgresql"
    apt_install postgresql
  fi
  version="$(ls /etc/postgresql | sort -V | tail -n1)"
  conf="/etc/postgresql/$version/main"
  if ! grep -q "msc-platform trust" "$conf/pg_hba.conf"; then
    # Local test server only: trust on loopback, as the development machines have it.
    sed -i '1i host all all 127.0.0.1/32 trust # msc-platform trust\nhost all all ::1/128 trust # msc-platform trust\nlocal all all trust # msc-platform trust' "$conf/pg_hba.conf"
  fi
  log "starting postgresql $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || { log "postgresql did not start"; exit 1; }
fi
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" 2>/dev/null | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" >/dev/null

if ! redis_up; then
  command -v redis-server >/dev/null || { log "installing redis-server"; apt_install redis-server; }
  log "starting redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/msc.log
  for _ in $(seq 1 30); do redis_up && break; sleep 0.5; done
  redis_up || { log "redis did not start"; exit 1; }
fi

# The explorer's browser tests drive Debian's Chromium through Playwright (never a downloaded browser).
if ! command -v chromium >/dev/null; then
  log "installing chromium"
  apt_install chromium
fi
