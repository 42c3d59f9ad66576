#!/usr/bin/env bash
# Start the machine's PostgreSQL for the test suite when it is installed but not running.
# The store and API tests run against it (JUNHENG_TEST_POSTGRES_URL, default
# postgresql://postgres@127.0.0.1:5432/postgres); without a server they are skipped locally
# and fail in CI.
set -u
if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
  exit 0
fi
if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null 2>&1; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && exit 0
    sleep 1
  done
  echo "PostgreSQL did not start" >&2
else
  echo "PostgreSQL is not installed here: the PostgreSQL tests will be skipped (CI requires it)" >&2
fi
exit 0
