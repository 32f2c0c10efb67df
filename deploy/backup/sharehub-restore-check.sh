#!/bin/sh
# Proves the newest backup restores: pg_restore into a scratch database, then ShareHub's
# consistency check and a summary of the figures against it; the scratch database is
# dropped at the end. Exit status 0 only when the dump restores and is consistent.
#
#   sharehub-restore-check.sh [DUMP]     # default: the newest dump in BACKUP_DIR
#
# Connection from libpq's variables (PGHOST, PGPORT, PGUSER); the user needs CREATEDB.
# APP_DIR is the ShareHub checkout, APP_PYTHON its virtualenv's python.
set -eu

BACKUP_DIR=${BACKUP_DIR:-/var/backups/sharehub}
PG_BINDIR=${PG_BINDIR:-}
APP_DIR=${APP_DIR:-/srv/sharehub/app}
APP_PYTHON=${APP_PYTHON:-/srv/sharehub/venv/bin/python}
SCRATCH_DB=${SCRATCH_DB:-sharehub_restore_check}
bin="${PG_BINDIR:+$PG_BINDIR/}"

dump=${1:-$(ls -1t "$BACKUP_DIR"/sharehub-*.dump | head -n 1)}
[ -f "$dump" ] || { echo "no dump found" >&2; exit 2; }

"${bin}dropdb" --if-exists "$SCRATCH_DB"
"${bin}createdb" "$SCRATCH_DB"
trap '"${bin}dropdb" --if-exists "$SCRATCH_DB"' EXIT
"${bin}pg_restore" --no-owner --exit-on-error --dbname="$SCRATCH_DB" "$dump"
echo "restored $dump into $SCRATCH_DB"

host=${PGHOST:-127.0.0.1}
case "$host" in /*) url_host="" ; query="?host=$host" ;; *) url_host="$host" ; query="" ;; esac
url="postgresql+psycopg://${PGUSER:-sharehub}@${url_host}:${PGPORT:-5432}/$SCRATCH_DB$query"
cd "$APP_DIR"
DATABASE_URL="$url" "$APP_PYTHON" -m flask --app wsgi sharehub check-consistency
DATABASE_URL="$url" "$APP_PYTHON" -m flask --app wsgi sharehub figures
