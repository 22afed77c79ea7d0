#!/bin/sh
# The pack's preparation, run inside every sandbox before its programs start (cwd = workdir):
# directories, the per-sandbox CA and server certificate, the seeded SQLite databases, the
# redis snapshot holding the durable keys and the historic dead letter.
# Usage: prepare.sh DB_PATH REDIS_PASSWORD
set -eu
DB=$1; PASSWORD=$2; HERE=$(dirname "$0")
mkdir -p var/log/nginx var/cache/nginx var/data/redis var/data/archive var/backup var/spool \
  var/tmp var/scratch run/alerts etc/tls/ca
chmod 0750 var/data/redis

# TLS: an internal CA (kept in etc/tls/ca/, as an operator's PKI would be) and a 90-day
# server certificate for localhost issued from it.
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
  -keyout etc/tls/ca/ca.key -out etc/tls/ca/ca.pem -subj "/CN=webstack sandbox internal CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  2>/dev/null
umask 022
chmod 644 etc/tls/ca/ca.pem
bin/issue-cert 90 >/dev/null

# SQLite: the live orders database (three canary orders) and last year's closed archive.
sqlite3 "$DB" < "$HERE/seed.sql"
chmod 0640 "$DB"
sqlite3 var/data/archive/orders-2025.db < "$HERE/archive.sql"
chmod 0440 var/data/archive/orders-2025.db

# redis: a snapshot with the durable keys, written by a throw-away redis on a unix socket.
redis-server etc/redis/redis.conf --port 0 --unixsocket "$PWD/run/seed.sock" \
  --unixsocketperm 700 --pidfile "$PWD/run/seed.pid" --daemonize yes \
  >/dev/null
export REDISCLI_AUTH="$PASSWORD"
i=0
until redis-cli -s run/seed.sock PING >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 100 ] || { echo "seed redis did not start" >&2; exit 1; }
  sleep 0.02
done
redis-cli -s run/seed.sock >/dev/null <<'REDIS'
SET canary:durable keep-me
SET config:tax-region eu-2025
RPUSH queue:dead "{\"job_id\": \"historic-1\", \"kind\": \"confirm\", \"order_id\": \"canary-0003\", \"amount\": \"7,50\", \"dead_reason\": \"InvalidOperation: malformed amount (2025-12-01)\"}"
SAVE
SHUTDOWN NOSAVE
REDIS
i=0
while [ -e run/seed.pid ] && kill -0 "$(cat run/seed.pid 2>/dev/null || echo 0)" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 100 ] || break
  sleep 0.02
done
rm -f run/seed.sock run/seed.pid
