#!/usr/bin/env bash
# Runs the whole test suite. The PostgreSQL tests need a server: this script
# starts a throwaway cluster on a free local port (installing PostgreSQL from
# Debian packages first when it is missing and we may), exports
# TEST_DATABASE_URL for the tests, and stops and removes the cluster at the end.
# Extra arguments go to 'go test' (default: ./...).
set -euo pipefail
cd "$(dirname "$0")/.."

find_pg_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

start_pg() {
  local bin
  if ! bin=$(find_pg_bin); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "test.sh: installing PostgreSQL from Debian packages" >&2
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      bin=$(find_pg_bin) || return 1
    else
      echo "test.sh: PostgreSQL is not installed; its tests will skip (install the postgresql package to run them)" >&2
      return 1
    fi
  fi
  PGTMP=$(mktemp -d /tmp/autoid-pg.XXXXXX)
  local run=()
  if [ "$(id -u)" = 0 ]; then
    # initdb refuses to run as root: use an unprivileged account.
    local user=postgres
    id "$user" >/dev/null 2>&1 || useradd --system --no-create-home "$user"
    chown "$user" "$PGTMP"
    run=(runuser -u "$user" --)
  fi
  local port
  for port in $(seq 55432 55532); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null || break
  done
  "${run[@]}" "$bin/initdb" -D "$PGTMP/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null 2>&1 \
    || "${run[@]}" "$bin/initdb" -D "$PGTMP/data" -A trust -U postgres -E UTF8 >/dev/null
  "${run[@]}" "$bin/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/log" -w \
    -o "-p $port -k $PGTMP -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
  PGSTOP=("${run[@]}" "$bin/pg_ctl" -D "$PGTMP/data" -m immediate stop)
  export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  echo "test.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
}

stop_pg() {
  if [ -n "${PGTMP:-}" ]; then
    "${PGSTOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$PGTMP"
  fi
}
trap stop_pg EXIT

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  start_pg || true
fi
if [ $# -eq 0 ]; then
  set -- ./...
fi
go vet ./...
go test -count=1 -timeout 25m "$@"
