#!/usr/bin/env bash
# Make sure the PostgreSQL server binaries (initdb, pg_ctl, postgres) are installed: the real-Airflow
# end-to-end test runs its metadata database on a throwaway cluster of its own, on a free loopback
# port, so no system cluster needs to run (or is touched).
# Idempotent: does nothing when a server is already installed. Debian/Ubuntu only (Debian's
# `postgresql` package, the distribution's supported major version); needs root or sudo.
set -euo pipefail

have_server() {
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null \
        || { command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; }
}

if have_server; then
    exit 0
fi

# Containers have no init system: the package's own cluster is created but cannot be started,
# which is fine (policy-rc.d refusals are not errors for us).
bash "$(dirname "$0")/apt_install.sh" ensure_postgres postgresql
have_server || { echo "ensure_postgres: initdb still missing after install" >&2; exit 1; }
