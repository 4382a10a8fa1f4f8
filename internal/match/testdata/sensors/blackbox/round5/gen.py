# Every suricata-verify test's checks as "<test>\t<event>" lines, rebuilt
# as ../../eve-verify/make.py --lists does. Usage: python3 gen.py TESTSDIR
# (a checkout's tests/ folder) > all.tsv
import json, re, sys, os, yaml
ARGS=list(sys.argv); sys.argv=['x']
src=open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../eve-verify/make.py')).read()
src=src[:src.index('LISTS = ')]
exec(src)
root=ARGS[1]
for dp,dn,fn in sorted(os.walk(root)):
    if 'test.yaml' not in fn: continue
    t=os.path.relpath(dp,root)
    try: y=yaml.safe_load(open(os.path.join(dp,'test.yaml')))
    except Exception as e: continue
    if not isinstance(y,dict): continue
    for c in y.get('checks') or []:
        m = (c.get('filter') or {}).get('match') if isinstance(c, dict) else None
        if isinstance(m, dict) and 'event_type' not in m and m and all(k.startswith('alert.') for k in m):
            m = dict(m, event_type='alert')
        if not isinstance(m, dict) or not isinstance(m.get('event_type'), str): continue
        ev = {}
        try:
            for k, v in m.items():
                if '__' in k or isinstance(v, dict): continue
                if isinstance(v, list) and not all(isinstance(x, (str, int)) for x in v): continue
                setp(ev, k, v)
        except Exception: continue
        ev = tidy(ev)
        ev.setdefault('timestamp', '2024-01-01T00:00:00.000000+0000')
        print(t.replace('/','_')+'\t'+json.dumps(ev, separators=(',', ':')))
