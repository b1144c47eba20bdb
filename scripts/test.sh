#!/usr/bin/env bash
# Runs the test suite against throwaway PostgreSQL and Redis servers; arguments go to pytest.
#
#   bash scripts/test.sh                      # everything
#   bash scripts/test.sh tests/apps -x -q     # a subset, pytest options
#   bash scripts/test.sh -n 2                 # in parallel (pytest-xdist, one test DB per worker)
#
# Installs what is missing first (postgresql, redis-server, dcmtk and orthanc from Debian, the pinned
# test requirements into .venv), starts both servers on free loopback ports in a temporary
# directory, exports DATABASE_URL and REDIS_URL for the run, and stops them on exit, whether
# the tests pass, fail or are interrupted.
set -euo pipefail

# shellcheck source=scripts/bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$PACS_ROOT"

ensure_debian_packages postgresql redis-server dcmtk orthanc
ensure_venv requirements/test.txt

# Under /tmp, not $TMPDIR: as root, PostgreSQL runs as the postgres user, which must be able to
# reach its data directory.
services_dir="$(mktemp -d /tmp/pacs-services-XXXXXX)"
stop_services() {
    "$VENV/bin/python" scripts/services.py stop "$services_dir" || true
    rm -rf "$services_dir"
}
trap stop_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

exports="$("$VENV/bin/python" scripts/services.py start "$services_dir")"
eval "$exports"
echo "test.sh: PostgreSQL at $DATABASE_URL, Redis at $REDIS_URL"

# Interop peers and our asyncio transport send small PDUs; don't let Nagle delay them.
export TCP_NODELAY=1

"$VENV/bin/python" -m pytest "$@"
