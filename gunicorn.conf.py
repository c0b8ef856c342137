"""gunicorn's settings for the portal: `gunicorn -c gunicorn.conf.py kongchuo.wsgi` (the Procfile's
web line and deploy/systemd/kongchuo-web.service).

Bound to loopback only: Django trusts `X-Forwarded-Proto: https` from whoever connects
(SECURE_PROXY_SSL_HEADER), which is safe only when the one thing that can connect is nginx, and
nginx sets that header itself on every request (deploy/nginx/kongchuo.conf). Without this file
gunicorn would bind 0.0.0.0:$PORT whenever PORT is set (its Heroku default).
"""

import os
import time

from kongchuo.portal.logtime import TIME_ZONE

# gunicorn's own lines (the error log's `[… +0800]`, the access log's %(t)s) in the zone Django's
# and Celery's lines use, whatever the server's system zone.
os.environ["TZ"] = TIME_ZONE
time.tzset()

bind = [f"127.0.0.1:{os.environ.get('PORT') or 8000}"]
# Synchronous workers: 2 × cores + 1 for the county's 2-core server (README, Sizing).
workers = int(os.environ.get("WEB_CONCURRENCY") or 5)
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'
# Only the local nginx may set gunicorn's own forwarded-scheme headers.
forwarded_allow_ips = "127.0.0.1"
# No gunicornc control socket: systemd's stop and reload (SIGTERM, SIGHUP) are the controls, and
# its default place ($HOME/.gunicorn) is not writable by the service user.
control_socket_disable = True
