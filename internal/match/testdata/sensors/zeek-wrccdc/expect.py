import gzip, ipaddress
import os
D=os.path.dirname(os.path.abspath(__file__))+'/'
def rows(name):
    fields=None
    for l in gzip.open(D+name+'.log.gz','rt'):
        l=l.rstrip('\n')
        if l.startswith('#fields'): fields=l.split('\t')[1:]; continue
        if l.startswith('#'): continue
        yield dict(zip(fields,l.split('\t')))
def vec(v): return [] if v in ('-','(empty)') else v.split(',')
def vals(r, keys):
    out=[]
    for k in keys:
        if k in r: out+=vec(r[k])
    return out
logs={n:list(rows(n)) for n in ['dns','ssl','x509','smtp']}
def count(pred):
    return {n: sum(1 for r in rs if pred(r)) for n,rs in logs.items()}
def dom(r): return [v.lower().rstrip('.') for v in vals(r,['query','answers','server_name','san.dns'])]
def ips(r):
    out=[]
    for v in vals(r,['id.orig_h','id.resp_h','answers','san.ip','x_originating_ip','path']):
        try: out.append(ipaddress.ip_address(v))
        except ValueError: pass
    return out
print('domain ise.wrccdc.org', count(lambda r: 'ise.wrccdc.org' in dom(r)))
print('domain ise.wrccdc.cpp.edu', count(lambda r: 'ise.wrccdc.cpp.edu' in dom(r)))
print('ipv4 134.71.3.16', count(lambda r: ipaddress.ip_address('134.71.3.16') in ips(r)))
net=ipaddress.ip_network('2620:df:8000::/48')
print('ipv6 2620:df:8000::/48', count(lambda r: any(a.version==6 and a in net for a in ips(r))))
net4=ipaddress.ip_network('10.47.0.0/16')
print('ipv4 10.47.0.0/16', count(lambda r: any(a.version==4 and a in net4 for a in ips(r))))
fp='b2dafbcdbc75210672f137f27ce882ccb799887631655d4f11191d5a678e44fe'
print('x509 sha256', count(lambda r: fp in vals(r,['cert_chain_fps','fingerprint'])))
def mails(r):
    out=[]
    for v in vals(r,['mailfrom','rcptto','from','to','cc','reply_to']):
        v=v.strip()
        if '<' in v: v=v[v.rindex('<')+1:v.index('>',v.rindex('<'))]
        out.append(v.lower())
    return out
print('email nessus49048747@hotmail.com', count(lambda r: 'nessus49048747@hotmail.com' in mails(r)))
print('ssl server_name ise and resp 10.47.3.200', sum(1 for r in logs['ssl'] if r['server_name']=='ise.wrccdc.org' and r['id.resp_h']=='10.47.3.200'))
print('records', {n:len(rs) for n,rs in logs.items()})
# ftp.log (same capture): data_channel.orig_h/resp_h are addresses (Zeek's
# FTP::ExpectedDataChannel: the data connection PASV/PORT set up); a
# NATed server announces one that is not the control connection's.
ftp = list(rows('ftp'))
def ftpips(r): return [ipaddress.ip_address(v) for v in vals(r, ['id.orig_h', 'id.resp_h', 'data_channel.orig_h', 'data_channel.resp_h'])]
print('ftp records', len(ftp))
print('ftp ipv4 172.20.0.80', sum(1 for r in ftp if ipaddress.ip_address('172.20.0.80') in ftpips(r)))
print('ftp ipv4 10.47.27.80', sum(1 for r in ftp if ipaddress.ip_address('10.47.27.80') in ftpips(r)))
print('ftp ipv4 10.164.94.120', sum(1 for r in ftp if ipaddress.ip_address('10.164.94.120') in ftpips(r)))
