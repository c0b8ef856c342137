#!/usr/bin/env bash
# Back up the portal: a pg_dump custom-format dump of DATABASE_URL (+ the uploaded files).
#   DATABASE_URL=postgres://… scripts/backup.sh         → backups/kongchuo-YYYYmmdd-HHMMSS.dump
# BACKUP_DIR (default backups), BACKUP_KEEP_DAYS (default 30; 0 keeps everything), MEDIA_ROOT
# (default ./media: archived beside the dump when it exists). Prints the dump's path.
set -euo pipefail

: "${DATABASE_URL:?DATABASE_URL must be set to the PostgreSQL database to back up}"
case "$DATABASE_URL" in
    postgres://*|postgresql://*) ;;
    *) echo "backup.sh: DATABASE_URL is not PostgreSQL (SQLite: copy db.sqlite3 while stopped)" >&2; exit 2 ;;
esac

dir="${BACKUP_DIR:-backups}"
keep="${BACKUP_KEEP_DAYS:-30}"
media="${MEDIA_ROOT:-media}"
stamp="$(date +%Y%m%d-%H%M%S)"
dump="$dir/kongchuo-$stamp.dump"
mkdir -p "$dir"
chmod 700 "$dir"
umask 077  # the dump holds children's personal data

pg_dump --format=custom --compress=6 --no-owner --no-privileges --dbname="$DATABASE_URL" --file="$dump.part"
pg_restore --list "$dump.part" >/dev/null  # the archive is readable, or we fail here
mv "$dump.part" "$dump"
sha256sum "$dump" >"$dump.sha256"
if [ -d "$media" ] && [ -n "$(ls -A "$media" 2>/dev/null)" ]; then
    tar -czf "$dir/kongchuo-media-$stamp.tar.gz" -C "$(dirname "$media")" "$(basename "$media")"
fi
if [ "$keep" -gt 0 ]; then
    find "$dir" -maxdepth 1 -name 'kongchuo-*' -mtime +"$keep" -delete
fi
echo "$dump"
