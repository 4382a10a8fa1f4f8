#!/usr/bin/env bash
# Regenerates e2e.pcap, the capture of TestSuricataEndToEnd: real clients
# (curl, openssl s_client, dnsq.py) and servers (python3 -m http.server,
# openssl s_server, dnsd.py) on the loopback interface, taken by tcpdump.
# Needs root (binds port 53, adds two IPv6 addresses to lo and removes them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); cd "$work"
ip -6 addr add fd00:5e::7/128 dev lo nodad 2>/dev/null || true
ip -6 addr add fd00:5e:1::9/128 dev lo nodad 2>/dev/null || true
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; ip -6 addr del fd00:5e::7/128 dev lo 2>/dev/null || true; ip -6 addr del fd00:5e:1::9/128 dev lo 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p www/files www/payload
printf 'parley e2e sha256 file\n' > www/files/a.bin
printf 'parley e2e md5 file\n' > www/files/b.bin
printf 'parley e2e unlisted file\n' > www/files/c.bin
printf 'payload\n' > www/payload/x.bin
printf 'pong\n' > www/ping
openssl req -x509 -newkey rsa:2048 -nodes -keyout k.pem -out c.pem -days 3650 -subj /CN=cert.test -addext subjectAltName=DNS:cert.test 2>/dev/null
for a in 127.0.0.1 127.0.0.2 127.1.2.3 ::1 fd00:5e::7 fd00:5e:1::9; do
  python3 -m http.server -d www -b "$a" 8081 >/dev/null 2>&1 & pids+=($!)
done
python3 -m http.server -d www -b 127.0.0.1 8082 >/dev/null 2>&1 & pids+=($!)
python3 "$here/dnsd.py" 127.0.5.3 & pids+=($!)
openssl s_server -quiet -accept 127.0.0.1:8443 -cert c.pem -key k.pem -www >/dev/null 2>&1 & pids+=($!)
# wait for every server to listen
for hp in 127.0.0.1:8081 127.0.0.2:8081 127.1.2.3:8081 '[::1]:8081' '[fd00:5e::7]:8081' '[fd00:5e:1::9]:8081' 127.0.0.1:8082; do
  for _ in $(seq 1 50); do curl -s -o /dev/null "http://$hp/ping" && break; sleep 0.1; done
done
tcpdump -i lo -s 0 -U -w "$work/e2e.pcap" 'not port 5432 and not port 4222 and (host 127.0.0.1 or host 127.0.0.2 or host 127.1.2.3 or host 127.0.5.3 or host ::1 or host fd00:5e::7 or host fd00:5e:1::9) and (port 53 or port 8081 or port 8082 or port 8443)' 2>/dev/null & tpid=$!
sleep 1
c="curl -sS -o /dev/null"
# DNS: a listed name twice (once in upper case), two near misses.
python3 "$here/dnsq.py" 127.0.5.3 evil-dns.test EVIL-DNS.TEST notevil-dns.test evil-dns.test.example
# HTTP on 8081: a listed Host (with its port), a listed URL, its near misses.
$c --interface 127.0.0.1 -H 'Host: evil-http.test:8081' http://127.0.0.1:8081/ping
$c --interface 127.0.0.1 -H 'Host: url-host.test:8081' http://127.0.0.1:8081/payload/x.bin
$c --interface 127.0.0.1 -H 'Host: url-host.test:8081' http://127.0.0.1:8081/payload/y.bin
$c --interface 127.0.0.1 -H 'Host: url-host.test:8082' http://127.0.0.1:8082/payload/x.bin
$c --interface 127.0.0.1 -H 'Host: notevil-http.test:8081' http://127.0.0.1:8081/ping
# Variants: Host in upper case, with the root's dot; the URL percent-encoded,
# through a proxy (absolute form), two requests on one connection, the Host
# without its port.
$c --interface 127.0.0.1 -H 'Host: EVIL-HTTP.TEST:8081' http://127.0.0.1:8081/ping
$c --interface 127.0.0.1 -H 'Host: evil-http.test.:8081' http://127.0.0.1:8081/ping
$c --interface 127.0.0.1 -H 'Host: url-host.test:8081' 'http://127.0.0.1:8081/payload/%78.bin'
$c --interface 127.0.0.1 -x http://127.0.0.1:8081 http://url-host.test:8081/payload/x.bin
$c -o /dev/null --interface 127.0.0.1 -H 'Host: URL-Host.test:8081' http://127.0.0.1:8081/payload/x.bin 'http://127.0.0.1:8081/payload/x.bin?q=1'
$c --interface 127.0.0.1 -H 'Host: url-host.test' http://127.0.0.1:8081/payload/x.bin
# Through a proxy on another port (the server on 8082 stands in for one):
# the listed URL, a listed port-80 URL, and the listed URL's host and path
# on another port.
$c --interface 127.0.0.1 -x http://127.0.0.1:8082 http://url-host.test:8081/payload/x.bin
$c --interface 127.0.0.1 -x http://127.0.0.1:8082 http://proxied.test/payload/x.bin
$c --interface 127.0.0.1 -x http://127.0.0.1:8082 http://url-host.test:8084/payload/x.bin
# Files: two listed (SHA-256, MD5), one not.
for f in a b c; do $c --interface 127.0.0.1 -H 'Host: files.test:8081' http://127.0.0.1:8081/files/$f.bin; done
# An upload: the listed MD5's file as a POST body (the server refuses it).
$c --interface 127.0.0.1 -H 'Host: files.test:8081' -H 'Content-Type: application/octet-stream' --data-binary @www/files/b.bin http://127.0.0.1:8081/upload
# Addresses: a listed IPv4 address and range, a listed IPv6 address and range.
$c --interface 127.0.0.1 -H 'Host: plain.test' http://127.0.0.2:8081/ping
$c --interface 127.0.0.1 -H 'Host: plain.test' http://127.1.2.3:8081/ping
$c --interface ::1 -H 'Host: plain.test' 'http://[fd00:5e::7]:8081/ping'
$c --interface ::1 -H 'Host: plain.test' 'http://[fd00:5e:1::9]:8081/ping'
$c --interface ::1 -H 'Host: plain.test' 'http://[::1]:8081/ping'
# TLS: a listed SNI (twice, once in upper case), a near miss.
for sni in evil-sni.test EVIL-SNI.TEST sub.evil-sni.test.example; do
  $c -k --interface 127.0.0.1 --resolve "$sni:8443:127.0.0.1" "https://$sni:8443/"
done
# curl sends the SNI in lower case; openssl sends it as given.
echo | openssl s_client -connect 127.0.0.1:8443 -servername EVIL-SNI.TEST >/dev/null 2>&1 || true
sleep 1
kill "$tpid"; wait "$tpid" || true
cp "$work/e2e.pcap" "$here/e2e.pcap"
