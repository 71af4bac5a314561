#!/usr/bin/env bash
# What opstrack needs besides Python packages, installed and started when missing.
# Idempotent and quick when all is there already. Debian/Ubuntu (apt-get).
#
#   bash scripts/test-prereqs.sh python   only what `make` needs to create the
#                                         virtualenv (python3-venv); `make install`
#                                         runs this before `python3 -m venv`
#   bash scripts/test-prereqs.sh          all the tests need: the above, prometheus,
#                                         promtool and amtool, chromium, docker-compose, the
#                                         PostgreSQL client and a PostgreSQL server
#
# The test database: OPSTRACK_TEST_PG_URL (a SQLAlchemy URL, password included,
# for example postgresql+psycopg://opstrack:secret@db.example:5432/test). When it
# is set, this script only checks that the database answers there and fails if it
# does not; when it is not, it makes sure a local PostgreSQL runs on
# 127.0.0.1:5432, trusts loopback connections and has a database `test` (what the
# tests use by default: postgresql+psycopg://postgres@127.0.0.1:5432/test).
set -euo pipefail

PYTHON=${PYTHON:-python3}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  [ $apt_updated = 1 ] || { as_root apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}
fail() { echo "test-prereqs: $*" >&2; exit 1; }

# `python3 -m venv` needs ensurepip, which Debian ships apart in python3-venv
# (python3.11-venv and the like for a versioned interpreter).
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
  pyver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  echo "installing python3-venv (python$pyver-venv) so that make can create the virtualenv"
  apt_install python3-venv
  "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || apt_install "python$pyver-venv"
  "$PYTHON" -c 'import ensurepip, venv' \
    || fail "$PYTHON has no venv/ensurepip module even after installing python$pyver-venv"
fi
[ "${1:-all}" = python ] && exit 0

# prometheus itself too: tests/e2e/test_panels_prometheus.py scrapes the demo with it.
# tests/integration/test_alertmanager.py runs the alertmanager daemon itself, not only
# amtool (Debian names the daemon prometheus-alertmanager, upstream alertmanager).
command -v prometheus >/dev/null && command -v promtool >/dev/null \
  || { echo "installing prometheus (prometheus, promtool)"; apt_install prometheus; }
{ command -v alertmanager >/dev/null || command -v prometheus-alertmanager >/dev/null; } \
  && command -v amtool >/dev/null \
  || { echo "installing alertmanager (alertmanager, amtool)"; apt_install prometheus-alertmanager; }
# Headless Chromium renders the HTML goal report in tests/integration/test_report_chromium.py
# (Debian calls it chromium, Ubuntu chromium-browser; the test finds either on PATH).
command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
  || { echo "installing chromium"; apt_install chromium; }
# axe-core (npm, pinned) checks the status page for WCAG 2.1 AA in that Chromium:
# tests/integration/test_status_chromium.py.
AXE_VERSION=4.14.1
axe_dir="$(dirname "$0")/../tests/status"
grep -qs "\"version\": \"$AXE_VERSION\"" "$axe_dir/node_modules/axe-core/package.json" \
  || { echo "installing axe-core $AXE_VERSION"; command -v npm >/dev/null || apt_install npm;
       npm install --no-save --no-audit --no-fund --silent --prefix "$axe_dir" "axe-core@$AXE_VERSION"; }
command -v docker-compose >/dev/null || { echo "installing docker-compose (tests/integration/test_compose.py validates docker-compose.yml)"; apt_install docker-compose; }
command -v psql >/dev/null && command -v pg_isready >/dev/null \
  || { echo "installing the PostgreSQL client (psql, pg_isready)"; apt_install postgresql-client; }

if [ -n "${OPSTRACK_TEST_PG_URL:-}" ]; then
  # libpq reads the same URL without SQLAlchemy's driver suffix (+psycopg).
  libpq_url=${OPSTRACK_TEST_PG_URL/+psycopg/}
  psql "$libpq_url" -qtAc "SELECT 1" >/dev/null \
    || fail "the test database OPSTRACK_TEST_PG_URL does not answer (psql failed; see above)"
  echo "test database: OPSTRACK_TEST_PG_URL answers"
  exit 0
fi

# The Debian packages start their daemons where systemd runs; tests start their own.
PG_HOST=127.0.0.1 PG_PORT=5432
if ! pg_isready -q -h $PG_HOST -p $PG_PORT 2>/dev/null; then
  if ! ls -d /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "installing postgresql"
    apt_install postgresql
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  # A throw-away test server: trust loopback connections, as the machines here do.
  grep -q "^host all all 127.0.0.1/32 trust" "$hba" \
    || as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  echo "starting postgresql $version"
  # pg_ctlcluster says "already running" with status 2 when another start won
  # the race; pg_isready below is the judge either way, and it fails loudly.
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start \
    || echo "pg_ctlcluster $version main start exited $?; checking whether PostgreSQL answers" >&2
  for _ in $(seq 1 60); do pg_isready -q -h $PG_HOST -p $PG_PORT && break; sleep 0.5; done
  pg_isready -h $PG_HOST -p $PG_PORT \
    || fail "PostgreSQL $version did not start on $PG_HOST:$PG_PORT; its log: /var/log/postgresql/postgresql-$version-main.log"
fi
psql -h $PG_HOST -p $PG_PORT -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
  || psql -h $PG_HOST -p $PG_PORT -U postgres -d postgres -qc "CREATE DATABASE test"

# Apache Kafka for the cluster tests (tests/kafka/): a JDK >= 17 runs the broker,
# Maven fetches its jars from Maven Central once into ~/.cache/opstrack/.
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1; }
if ! command -v java >/dev/null || [ "$(java_major)" -lt 17 ]; then
  echo "installing a JDK (default-jdk-headless; Kafka needs Java >= 17)"; apt_install default-jdk-headless
fi
command -v mvn >/dev/null || { echo "installing maven"; apt_install maven; }
cd "$(dirname "$0")/.."
# Standard library only: this runs before `make` has made the virtualenv.
python3 -m tests.kafka.cluster --resolve-only >/dev/null \
  || { echo "could not fetch Apache Kafka's jars with Maven (tests/kafka/pom.xml)" >&2; exit 1; }
