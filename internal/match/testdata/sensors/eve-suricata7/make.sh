#!/bin/sh
# Rebuilds the EVE of this folder: Suricata 7.0.10 (Debian bookworm-backports)
# over suricata-verify's captures (commit 10a45e4bad6d29d0f1239d93119ea24e1bbdab19),
# read as one pcap directory each, with suricata.yaml and all.rules here.
#   sh make.sh /path/to/suricata-verify
# pcaps-dns-tls-smtp.txt: the first .pcap of each test whose directory names
# dns, tls, quic, smtp, dhcp, sni or ja3; pcaps-files.txt: the first .pcap
# under 3 MB of every test, up to security-8510 (on whose capture 7.0.10
# crashes), of whose EVE eve-files keeps the fileinfo, nfs, ftp_data and tftp
# events and the smb events with a filename. Then the counts:
#   python3 ../blackbox/round4/check.py --expect eve eve-X.ndjson eve-X.expect.jsonl
set -e
sv=$1; here=$(cd "$(dirname "$0")" && pwd); tmp=$(mktemp -d)
for set in dns-tls-smtp files; do
  mkdir -p "$tmp/$set/pcaps" "$tmp/$set/out"
  i=0
  while read -r p; do
    git -C "$sv" show "HEAD:$p" > "$tmp/$set/pcaps/$(printf %04d $i).pcap"; i=$((i+1))
  done < "$here/pcaps-$set.txt"
  (cd "$here" && suricata -c suricata.yaml -r "$tmp/$set/pcaps" -l "$tmp/$set/out" -k none --runmode single >/dev/null)
done
cp "$tmp/dns-tls-smtp/out/eve.json" eve-dns-tls-smtp.ndjson
python3 - "$tmp/files/out/eve.json" > eve-files.ndjson <<'PY'
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    t = d['event_type']
    if (t == 'smb' and d['smb'].get('filename')) or t in ('nfs', 'ftp_data', 'tftp', 'fileinfo'):
        sys.stdout.write(l)
PY
