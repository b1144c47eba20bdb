#!/usr/bin/env bash
# Installs the PACS and runs it on the embedded defaults: SQLite in var/, Celery tasks in
# process, files in var/storage. The web admin answers on http://127.0.0.1:8000/admin/, the
# DIMSE server (run_dicom_server, in the background) on 127.0.0.1:11112 as AE title PACS.
# Ctrl-C stops both.
#
# Environment (all optional): PACS_HTTP_ADDRESS (default 127.0.0.1:8000), PACS_DICOM_AE_TITLE,
# PACS_DICOM_HOST and PACS_DICOM_PORT (default PACS, 127.0.0.1, 11112), and
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

dicom_aet="${PACS_DICOM_AE_TITLE:-PACS}"
dicom_host="${PACS_DICOM_HOST:-127.0.0.1}"
dicom_port="${PACS_DICOM_PORT:-11112}"

cat <<INFO

  PACS web admin:  http://${address}/admin/
  DICOM (DIMSE):   AE title ${dicom_aet} at ${dicom_host}:${dicom_port}
                   try: .venv/bin/python -m dicomkit echo ${dicom_host} ${dicom_port} --aec ${dicom_aet}
                   (associations are listed in the admin under "Association log")
  Create an administrator (in another shell, in $PACS_ROOT):
      .venv/bin/python manage.py createsuperuser
  (or: source .venv/bin/activate && python manage.py createsuperuser)
  Stop the servers with Ctrl-C; data stays in var/.

INFO

# The DIMSE server runs in the background and is stopped (SIGTERM: graceful) when this
# script exits, however it exits. Ctrl-C reaches both servers as SIGINT anyway.
"$VENV/bin/python" manage.py run_dicom_server &
dicom_pid=$!
stop_dicom_server() {
    if kill -0 "$dicom_pid" 2>/dev/null; then
        kill -TERM "$dicom_pid" 2>/dev/null || true
    fi
    wait "$dicom_pid" 2>/dev/null || true
}
trap stop_dicom_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$VENV/bin/python" manage.py runserver "$address"
