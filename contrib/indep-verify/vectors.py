# Check pcore against the vectors printed in docs/log.md and docs/signatures.md.
import re, sys, json
from pcore import *
def vec(path):
    t=open(path).read(); return {m.group(1): m.group(2).strip("\n") for m in re.finditer(r"<!-- vector:([\w-]+) -->\n```[a-z]*\n(.*?)```", t, re.S)}
import os
DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs")
L = vec(os.path.join(DOCS, "log.md")); S = vec(os.path.join(DOCS, "signatures.md"))
ok=lambda c,m: print(("ok   " if c else "FAIL ")+m)
# RFC 8032 test 1 signature of empty message
ok(ed25519_verify(bytes.fromhex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'), b'', bytes.fromhex('e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b')), 'rfc8032 test1')
obj=parse_ijson(S['object']); msg=b'parley-stix-signature-v1\n'+jcsb(obj)
ok(msg.decode()==S['message'], 'signature message (JCS)')
ok(ed25519_verify(b64(S['public-key']), msg, b64(S['signature'])), 'signature vector')
so=parse_ijson(S['signed-object']); ok(jcsb(so).decode()==S['signed-object'], 'signed object canonical'); ok(stix_sig(so)==(b64(S['public-key']),True),'stix_sig')
ed=parse_ijson(S['extension-definition']); ok(jcs(ed)==S['extension-definition'],'ext def canonical')
c=object_commitment(bytes.fromhex(L['salt']),L['collection'],L['object-id'],L['version'],L['member'],L['object'].encode())
ok(c==L['commitment'],'object commitment')
inp=b"parley-object-commitment-v2\n"+bytes.fromhex(L['salt'])+LP(L['collection'])+LP(L['object-id'])+LP(L['version'])+LP(L['member'])+L['object'].encode()
ok(inp.hex()==L['commitment-input'].replace('\n',''),'commitment input')
e=parse_entry(L['object-entry'].encode()); ok(e['commitment']==c,'object entry'); ok(leaf_hash(L['object-entry'].encode()).hex()==L['object-leaf-hash'],'leaf hash')
kh=KeyHistory(); kh.add(0,parse_entry(L['register-entry'].encode())); kh.add(1,parse_entry(L['rotate-entry'].encode())); ok(True,'register+member-signed rotate replay')
ok(L['rotation-message']+'\n'==("parley-key-rotation-v1\n%s\n%s\n"%(L['public-key-1'],L['public-key-2'])),'rotation message')
oc=oprf_commitment(bytes.fromhex(L['salt']),L['set-id'],L['collection'],L['member'],L['suite'],bytes.fromhex(L['oprf-public-key'])); ok(oc==L['oprf-commitment'],'oprf commitment '+oc)
try: parse_entry(L['v1-entry'].encode()); ok(False,'v1 refused')
except ValueError as x: ok('v1' in str(x),'v1 refused')
for bad in [L['object-entry'].replace('"kind"',' "kind"'), L['object-entry'].replace('.5Z','.50Z'), L['object-entry'].replace('68360a','68360A')]:
    try: parse_entry(bad.encode()); ok(False,'refuse '+bad[:40])
    except ValueError: ok(True,'refuse variant')
# JCS number vectors (RFC 8785 appendix B subset)
for f,s in [(0.0,'0'),(1e21,'1e+21'),(1e-7,'1e-7'),(123456789012345680000.0,'123456789012345680000'),(4.5,'4.5'),(0.000001,'0.000001'),(-1.5e-10,'-1.5e-10'),(9007199254740992.0,'9007199254740992'),(333333333.3333333,'333333333.3333333'),(5e-324,'5e-324')]:
    ok(jcs(f)==s,'num %r -> %s (%s)'%(f,s,jcs(f)))
