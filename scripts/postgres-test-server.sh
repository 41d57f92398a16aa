#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for tests and by hand.
#   scripts/postgres-test-server.sh install          install postgresql-15 if no server binaries exist (Debian, root)
#   scripts/postgres-test-server.sh start DIR [PORT] new cluster in DIR (fsync off), role/database ecap/ecap;
#                                                    prints the JDBC URL on stdout
#   scripts/postgres-test-server.sh stop DIR         stop it and delete DIR
set -euo pipefail

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
  install)
    if [ -z "$(bin_dir)" ]; then
      # Keep the package from creating and starting its own cluster on :5432.
      mkdir -p /etc/postgresql-common/createcluster.d
      echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/ecap-no-main.conf
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
    fi
    ;;
  start)
    dir=${2:?usage: start DIR [PORT]}; port=${3:-55432}; bin=$(bin_dir)
    [ -n "$bin" ] || { echo "no PostgreSQL server binaries: run '$0 install'" >&2; exit 1; }
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1
    as_pg "$bin/pg_ctl" -w -D "$dir/data" -l "$dir/server.log" \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
    as_pg "$bin/psql" -q -h "$dir" -p "$port" -U postgres -d postgres \
      -c "CREATE ROLE ecap LOGIN SUPERUSER PASSWORD 'ecap'" -c "CREATE DATABASE ecap OWNER ecap" >/dev/null
    echo "jdbc:postgresql://127.0.0.1:$port/ecap"
    ;;
  stop)
    dir=${2:?usage: stop DIR}; bin=$(bin_dir)
    if [ -f "$dir/data/postmaster.pid" ]; then as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null || true; fi
    rm -rf "$dir"
    ;;
  *)
    sed -n 2,7p "$0"; exit 2;;
esac
