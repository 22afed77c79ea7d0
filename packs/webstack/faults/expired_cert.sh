#!/bin/sh
# Fault helper (runs inside the sandbox): replace the server certificate with one issued by the
# sandbox CA that expired a day ago (valid from 91 days ago to 1 day ago). OpenSSL 3.0's
# `x509 -req` cannot back-date, `openssl ca` can.
set -eu
T=etc/tls; D=$(mktemp -d)
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/server.key" \
  -out "$D/server.csr" -subj /CN=localhost 2>/dev/null
mkdir -p "$D/new"; : > "$D/index.txt"; echo 1000 > "$D/serial"
cat > "$D/ca.cnf" <<CNF
[ ca ]
default_ca = sandbox
[ sandbox ]
database = $D/index.txt
new_certs_dir = $D/new
certificate = $T/ca/ca.pem
private_key = $T/ca/ca.key
serial = $D/serial
default_md = sha256
policy = any
copy_extensions = none
x509_extensions = server
[ any ]
commonName = supplied
[ server ]
subjectAltName = DNS:localhost,IP:127.0.0.1
extendedKeyUsage = serverAuth
CNF
openssl ca -batch -notext -config "$D/ca.cnf" -in "$D/server.csr" -out "$D/server.pem" \
  -startdate "$(date -u -d '-91 days' +%Y%m%d%H%M%SZ)" \
  -enddate "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" 2>/dev/null
cp "$D/server.key" $T/server.key; cp "$D/server.pem" $T/server.pem; chmod 600 $T/server.key
rm -rf "$D"
openssl x509 -in $T/server.pem -noout -enddate
