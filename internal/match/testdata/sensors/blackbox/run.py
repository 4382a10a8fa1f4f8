# Black-box round: for every log file given, the observables that the
# formats' documentation says each record carries (zobs.py for Zeek TSV and
# JSON, eobs.py for Suricata EVE; written from the docs, not from Parley's
# field tables), one indicator per distinct value, `parley match` on each
# file, and every per-indicator count, event count and malformed count
# compared. Usage:
#   go build -o /tmp/parley ./cmd/parley
#   python3 run.py /tmp/parley zeek FILE...    (or: eve FILE...)
# Prints each file that differs and the values whose counts differ.
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness, zobs, eobs
parley, kind, files = sys.argv[1], sys.argv[2], sys.argv[3:]
per = {}
for f in files:
    if kind == 'eve':
        per[f] = [eobs.observables(json.loads(l)) for l in open(f) if l.strip()]
    else:
        head = open(f, errors='replace').read(2000)
        recs = zobs.json_records(f) if '\n{' in '\n' + head else zobs.tsv_records(f)
        per[f] = [zobs.observables(r) for r in recs]
harness.compare(parley, per, '/tmp/parley-blackbox-bundle.json', show=15)
