#!/bin/sh
# Nightly backup of ShareHub: a pg_dump of the database (custom format, restorable table by
# table) and a copy of the uploaded files. Keeps BACKUP_KEEP_DAYS days of dumps.
#
# Connection from libpq's variables (PGHOST, PGPORT, PGUSER, PGDATABASE; the password in
# ~/.pgpass), e.g. from /etc/sharehub/backup.env. Run by sharehub-backup.timer or cron.
set -eu

BACKUP_DIR=${BACKUP_DIR:-/var/backups/sharehub}
BACKUP_KEEP_DAYS=${BACKUP_KEEP_DAYS:-14}
STORAGE_DIR=${STORAGE_DIR:-}
PG_BINDIR=${PG_BINDIR:-}
PGDATABASE=${PGDATABASE:-sharehub}
export PGDATABASE

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$BACKUP_DIR"
target="$BACKUP_DIR/sharehub-$stamp.dump"
# Written under a temporary name and renamed when complete: a half-written dump is never
# taken for a backup.
"${PG_BINDIR:+$PG_BINDIR/}pg_dump" --format=custom --compress=6 --no-owner \
    --file="$target.partial" "$PGDATABASE"
mv "$target.partial" "$target"
echo "database: $target ($(wc -c <"$target") bytes)"

if [ -n "$STORAGE_DIR" ] && [ -d "$STORAGE_DIR" ]; then
    # Uploaded files never change once stored (random names), so a mirror is enough.
    mkdir -p "$BACKUP_DIR/storage"
    cp -a -u "$STORAGE_DIR/." "$BACKUP_DIR/storage/"
    echo "storage: mirrored to $BACKUP_DIR/storage"
fi

find "$BACKUP_DIR" -maxdepth 1 -name 'sharehub-*.dump' -mtime +"$BACKUP_KEEP_DAYS" -delete
