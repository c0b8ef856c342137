#!/usr/bin/env bash
# Restore a dump made by backup.sh into RESTORE_DATABASE_URL (default: DATABASE_URL).
#   scripts/restore.sh backups/kongchuo-20260301-020000.dump [--yes]
# Replaces the target's tables (pg_restore --clean) in one transaction: it either fully
# succeeds or leaves the target as it was. Asks for the database name unless --yes is given.
# Stop web, worker and beat first; run `manage.py migrate` afterwards if the code is newer.
set -euo pipefail

file="${1:-}"
confirm="${2:-}"
[ -n "$file" ] && [ -f "$file" ] || { echo "usage: restore.sh FILE.dump [--yes]" >&2; exit 2; }
target="${RESTORE_DATABASE_URL:-${DATABASE_URL:-}}"
[ -n "$target" ] || { echo "restore.sh: set DATABASE_URL or RESTORE_DATABASE_URL" >&2; exit 2; }
if [ -f "$file.sha256" ]; then
    (cd "$(dirname "$file")" && sha256sum --check --quiet "$(basename "$file").sha256")
fi
dbname="${target##*/}"
dbname="${dbname%%\?*}"
if [ "$confirm" != "--yes" ]; then
    printf '将覆盖数据库 / this replaces database "%s". Type its name to continue: ' "$dbname"
    read -r answer
    [ "$answer" = "$dbname" ] || { echo "aborted" >&2; exit 1; }
fi
pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error \
    --dbname="$target" "$file"
echo "restored $file into $dbname"
