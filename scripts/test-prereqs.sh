#!/usr/bin/env bash
# What the tests need besides Python packages: promtool/amtool (Debian's
# prometheus, prometheus-alertmanager) and a PostgreSQL on 127.0.0.1:5432 that
# trusts local connections and has a database `test`. Idempotent and quick
# when all is there already; installs and starts what is missing.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  [ $apt_updated = 1 ] || { as_root apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

command -v promtool >/dev/null && command -v amtool >/dev/null \
  || { echo "installing prometheus and alertmanager (promtool, amtool)"; apt_install prometheus prometheus-alertmanager; }
# Headless Chromium renders the HTML goal report in tests/integration/test_report_chromium.py.
command -v chromium >/dev/null || { echo "installing chromium"; apt_install chromium; }
command -v docker-compose >/dev/null || { echo "installing docker-compose (tests/integration/test_compose.py validates docker-compose.yml)"; apt_install docker-compose; }

# The Debian packages start their daemons where systemd runs; tests start their own.
PG_HOST=127.0.0.1 PG_PORT=5432
if ! pg_isready -q -h $PG_HOST -p $PG_PORT 2>/dev/null; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "installing postgresql"
    apt_install postgresql postgresql-client
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  # A throw-away test server: trust loopback connections, as the machines here do.
  grep -q "^host all all 127.0.0.1/32 trust" "$hba" \
    || as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  echo "starting postgresql $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 60); do pg_isready -q -h $PG_HOST -p $PG_PORT && break; sleep 0.5; done
  pg_isready -h $PG_HOST -p $PG_PORT
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
