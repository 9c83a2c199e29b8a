#!/usr/bin/env bash
# Make sure `redis-server` is installed: the scale-out test (CeleryExecutor) runs its broker as a
# throwaway server of its own, on a free loopback port in a temp dir, so no system service needs to
# run (or is touched).
# Idempotent: does nothing when a server is already installed. Debian/Ubuntu only (Debian's
# `redis-server` package); needs root or sudo.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi

# Containers have no init system: the package's own service cannot be started, which is fine
# (policy-rc.d refusals are not errors for us).
bash "$(dirname "$0")/apt_install.sh" ensure_redis redis-server
command -v redis-server >/dev/null 2>&1 || { echo "ensure_redis: redis-server still missing after install" >&2; exit 1; }
