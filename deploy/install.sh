#!/usr/bin/env bash
# Install or upgrade the portal from this release folder (README, Production step 4), as root:
#   /srv/kongchuo/deploy/install.sh
# 1. the service user kongchuo (no login, no shell) and its folders (STATIC_ROOT for nginx to
#    read, MEDIA_ROOT mode 700: uploads hold personal data);
# 2. the virtualenv .venv in the release folder with the pinned requirements;
# 3. as kongchuo, with the services' settings (/etc/kongchuo/env): migrate, collectstatic and
#    Django's deployment check (no warning allowed).
# The English catalog (locale/en/LC_MESSAGES/django.mo) is committed: no gettext, no
# compilemessages on the server. Run it again after every upgrade; it changes only what is due.
set -euo pipefail
APP="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
ENV_FILE="${KONGCHUO_ENV_FILE:-/etc/kongchuo/env}"
say() { printf '\n--- %s (%s)\n' "$*" "$(date +%T)"; }
die() { echo "deploy/install.sh: $*" >&2; exit 1; }
setting() { sed -n "s/^$1=//p" "$ENV_FILE" | tail -n 1; }

[ "$(id -u)" = 0 ] || die "run as root: it creates the kongchuo user and its folders"
[ -r "$ENV_FILE" ] || die "$ENV_FILE is missing: make it from deploy/env.example (README, Production step 3)"
[ "$(setting SECRET_KEY)" != "replace-me" ] || die "$ENV_FILE still says SECRET_KEY=replace-me"
[ -f "$APP/locale/en/LC_MESSAGES/django.mo" ] || die "locale/en/LC_MESSAGES/django.mo is missing from the release"
static="$(setting STATIC_ROOT)"
media="$(setting MEDIA_ROOT)"
[ -n "$static" ] && [ -n "$media" ] || die "set STATIC_ROOT and MEDIA_ROOT in $ENV_FILE"

say "service user kongchuo and its folders"
id kongchuo >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/lib/kongchuo \
    --no-create-home --shell /usr/sbin/nologin kongchuo
chgrp kongchuo "$ENV_FILE" && chmod 640 "$ENV_FILE"
install -d -m 755 "$(dirname "$static")" "$(dirname "$media")"
install -d -o kongchuo -g kongchuo -m 755 "$static"
install -d -o kongchuo -g kongchuo -m 700 "$media"

say "virtualenv $APP/.venv (pinned requirements)"
# Debian's own Python (3.11 on Debian 12): the service user must be able to run the interpreter
# the virtualenv points at, which a python3 under /root (pyenv) would not allow.
[ -x "$APP/.venv/bin/python" ] || /usr/bin/python3 -m venv "$APP/.venv"
"$APP/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$APP/requirements.txt"

say "migrate"
"$APP/deploy/manage" migrate --noinput
say "collectstatic"
"$APP/deploy/manage" collectstatic --noinput -v 0
say "check --deploy"
"$APP/deploy/manage" check --deploy --fail-level WARNING
say "installed; next: createsuperuser, the systemd units and nginx (README, Production steps 5-7)"
