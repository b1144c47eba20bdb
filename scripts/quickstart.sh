#!/usr/bin/env bash
# Installs the PACS and runs it on the embedded defaults: SQLite in var/, Celery tasks in
# process, files in var/storage. The web admin answers on http://127.0.0.1:8000/admin/.
#
# Environment (all optional): PACS_HTTP_ADDRESS (default 127.0.0.1:8000), and
# DJANGO_SUPERUSER_USERNAME + DJANGO_SUPERUSER_PASSWORD [+ DJANGO_SUPERUSER_EMAIL] to create
# an administrator without a prompt. DATABASE_URL / REDIS_URL etc. work as documented in
# docs/configuration.md.
set -euo pipefail

# shellcheck source=scripts/bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$PACS_ROOT"

ensure_venv requirements/base.txt

# A secret key of this installation, made once, so that manage.py commands run later from a
# plain shell (createsuperuser, ...) pass system check pacs_project.E001 too.
var_dir="${PACS_VAR_DIR:-$PACS_ROOT/var}"
if [ -z "${DJANGO_SECRET_KEY:-}${SECRET_KEY:-}${PACS_SECRET_KEY_FILE:-}" ] && [ ! -s "$var_dir/secret_key" ]; then
    mkdir -p "$var_dir"
    (umask 077 && "$VENV/bin/python" -c "import secrets; print(secrets.token_urlsafe(50))" >"$var_dir/secret_key")
    echo "quickstart: wrote a new secret key to $var_dir/secret_key"
fi

# A development run: debug pages, and static files served by the development server.
export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
address="${PACS_HTTP_ADDRESS:-127.0.0.1:8000}"

"$VENV/bin/python" manage.py migrate --noinput

if [ -n "${DJANGO_SUPERUSER_USERNAME:-}" ] && [ -n "${DJANGO_SUPERUSER_PASSWORD:-}" ]; then
    export DJANGO_SUPERUSER_EMAIL="${DJANGO_SUPERUSER_EMAIL:-${DJANGO_SUPERUSER_USERNAME}@localhost.localdomain}"
    "$VENV/bin/python" manage.py createsuperuser --noinput ||
        echo "quickstart: superuser not created (it may already exist)"
fi

cat <<INFO

  PACS web admin:  http://${address}/admin/
  Create an administrator (in another shell, in $PACS_ROOT):
      .venv/bin/python manage.py createsuperuser
  (or: source .venv/bin/activate && python manage.py createsuperuser)
  Stop the server with Ctrl-C; data stays in var/.

INFO

exec "$VENV/bin/python" manage.py runserver "$address"
