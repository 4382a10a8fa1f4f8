# Expected counts for eve-dns-4.1.4.log, from Suricata's EVE documentation
# (dns v1: one record per event, rrname/rrtype/rdata; v2: "answers" list
# and "grouped" by type): an event counts once for a value if any of its
# DNS names (rrname, CNAME/NS/PTR/MX rdata, grouped names) or addresses
# (A/AAAA rdata, grouped A/AAAA, src_ip, dest_ip) equals it.
import ipaddress, json, os, sys
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'eve-dns-4.1.4.log')
names = ('CNAME', 'NS', 'PTR', 'MX')
def observables(ev):
    dns = ev.get('dns', {})
    doms, ips = set(), set()
    ips.update(ipaddress.ip_address(ev[k]) for k in ('src_ip', 'dest_ip') if k in ev)
    recs = [dns] + dns.get('answers', [])
    for r in recs:
        if 'rrname' in r:
            doms.add(r['rrname'].lower())
        if 'rdata' in r:
            if r.get('rrtype') in ('A', 'AAAA'):
                ips.add(ipaddress.ip_address(r['rdata']))
            elif r.get('rrtype') in names:
                doms.add(r['rdata'].lower())
    for t, vs in dns.get('grouped', {}).items():
        for v in vs:
            if t in ('A', 'AAAA'):
                ips.add(ipaddress.ip_address(v))
            elif t in names:
                doms.add(v.lower())
    return doms, ips
evs = [json.loads(l) for l in open(path)]
def count(pred):
    return sum(1 for e in evs if pred(*observables(e)))
print('events', len(evs))
print('dualstack.r2.shared.global.fastly.net', count(lambda d, i: 'dualstack.r2.shared.global.fastly.net' in d))
print('atsv2-fp-shed.wg1.b.yahoo.com', count(lambda d, i: 'atsv2-fp-shed.wg1.b.yahoo.com' in d))
n = ipaddress.ip_network('2a04:4e42::/32')
print('2a04:4e42::/32', count(lambda d, i: any(a.version == 6 and a in n for a in i)))
print('2a04:4e42:600::729', count(lambda d, i: ipaddress.ip_address('2a04:4e42:600::729') in i))
print('98.138.219.232', count(lambda d, i: ipaddress.ip_address('98.138.219.232') in i))
print('2001:4998::/32', count(lambda d, i: any(a.version == 6 and a in ipaddress.ip_network('2001:4998::/32') for a in i)))
print('www.yahoo.com', count(lambda d, i: 'www.yahoo.com' in d))
