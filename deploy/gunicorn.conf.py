"""gunicorn settings for ShareHub in production: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Everything can be overridden from the environment (the systemd unit reads
/etc/sharehub/sharehub.env). Sync workers: every request is short (the slow parts — mail,
calendar refresh, reminders — run from timers), and each worker holds one database
connection at a time, which keeps PostgreSQL's connection count predictable.
"""

import multiprocessing
import os

# Listen on loopback (nginx on the same machine) or on the private interface the proxy
# reaches; never on a public address without the proxy in front.
bind = os.environ.get("SHAREHUB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 9)))
worker_class = "sync"
timeout = int(os.environ.get("SHAREHUB_TIMEOUT", "30"))  # a stuck worker is replaced
graceful_timeout = 30  # on reload/stop, requests in flight may finish
keepalive = 5
# Replace workers now and then (memory held by PDF rendering, fonts) with jitter so they
# do not all restart at once.
max_requests = 2000
max_requests_jitter = 200
limit_request_line = 8190
# The proxy's address: only its X-Forwarded-* headers are believed (the app counts
# proxies with PROXY_COUNT as well).
forwarded_allow_ips = os.environ.get("SHAREHUB_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"  # to the journal
errorlog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
# No preload: each worker builds its own app and database pool after the fork.
preload_app = False
proc_name = "sharehub"
