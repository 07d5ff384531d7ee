#!/usr/bin/env python3
# Drafts testdata/docker-flags/coverage.tsv from flags.tsv and kiste itself (run from the
# repo after `cargo build`): a flag kiste lacks is "absent"; one its --help marks "(refused"
# is run to read its class and reason; else the first test in tests/*.rs that passes the
# flag (and names the verb) is its "works" test, or it is "untested". Review the result:
# tests/docker_flags.rs checks every row against kiste.
import subprocess,re,os,glob,collections,tempfile
tmp=tempfile.mkdtemp(prefix='kiste-flags-')
K='./target/debug/kiste'
rows=[l.rstrip('\n').split('\t') for l in open('testdata/docker-flags/flags.tsv') if not l.startswith('#')][1:]
from_kiste={}
def kflags(cmd):
    if cmd in from_kiste: return from_kiste[cmd]
    r=subprocess.run([K]+cmd.split()+['--help'],capture_output=True,text=True)
    d={}
    if r.returncode==0:
        lines=r.stdout.split('\n')
        for idx,l in enumerate(lines):
            m=re.match(r'^\s+(?:-(\w), )?--([a-z0-9-]+)', l)
            if not m: continue
            desc=l
            nxt=lines[idx+1] if idx+1<len(lines) else ''
            if not re.match(r'^\s+-', nxt): desc+=nxt
            d[m.group(2)]=(m.group(1), '(refused' in desc)
            for a in re.findall(r'alias(?:es)?: ((?:--[a-z0-9-]+(?:, )?)+)', desc):
                for n in re.findall(r'--([a-z0-9-]+)', a): d[n]=d[m.group(2)]
    from_kiste[cmd]=d; return d
# test functions
tests=[]
# The flags_*.rs files hold the tests written for this table: they come first.
for f in sorted(glob.glob('tests/*.rs'), key=lambda f: (not os.path.basename(f).startswith('flags_'), f)):
    src=open(f).read()
    for m in re.finditer(r'#\[test\]\s*(?:#\[[^\]]*\]\s*)*fn ([a-z0-9_]+)\(\)', src):
        start=m.end(); end=src.find('\n}\n', start)
        tests.append((os.path.basename(f), m.group(1), src[start:end]))
SHORT={'container ls':'ps','image ls':'images','image rm':'rmi','container inspect':'inspect','image inspect':'inspect','system info':'info','builder build':'build','image build':'build'}
def verb(cmd):
    w=cmd.split()
    if cmd in SHORT: return SHORT[cmd]
    if w[0] in ('container','image') and len(w)>1: return w[1]
    return cmd
def find_test(cmd,flag,short):
    # run and create share their flags: a test of one covers the other. The long form is
    # looked for before the short one (a short letter means other things elsewhere).
    v=verb(cmd)
    verbs=[v]+({'create':['run'],'run':['create']}.get(v,[]))
    for sh in (None, short):
        for w in verbs:
            t=find_test1(w,flag,sh)
            if t: return t
    return None
def find_test1(v,flag,short):
    # Among the tests that pass the flag and name the verb, the one whose name mentions
    # the flag (then the verb) is the likeliest to check it.
    words=v.split()
    pats=['"%s"'%flag,'"%s='%flag]
    if short: pats=['"-%s"'%short]
    key=flag[2:].replace('-','_')
    scored=[]
    for order,(f,n,body) in enumerate(tests):
        if not any(p in body for p in pats): continue
        names_verb=all('"%s"'%w in body for w in words)
        if not names_verb and not f.startswith(words[0].split('-')[0]): continue
        score=(names_verb, key in n, words[0] in n, -order)
        scored.append((score,(f,n)))
    return max(scored)[1] if scored else None
out=[]
stats=collections.Counter()
WHOLE={'trust':('legacy-removed','TRUST')}
for cmd,flag,kind in rows:
    whole=[v for k,v in WHOLE.items() if cmd==k or cmd.startswith(k+' ')]
    if whole:
        out.append((cmd,flag,'refused','%s: the whole command is refused (commands::refused::%s)'%whole[0]))
        stats['refused '+whole[0][0]]+=1; continue
    kf=kflags(cmd)
    name=flag[2:]
    if name not in kf:
        out.append((cmd,flag,'absent','kiste does not know this flag yet (rejected as an unknown flag, exit 125)'))
        stats['absent']+=1; continue
    if not kf[name][1]:
        t=find_test(cmd,flag,kf[name][0])
        if t: out.append((cmd,flag,'works','%s::%s'%t)); stats['works']+=1
        else: out.append((cmd,flag,'untested','')); stats['untested']+=1
        continue
    args=[K,'--root',tmp + '/root','--runroot',tmp + '/run']+cmd.split()+[flag]+(['x'] if kind=='value' else [])
    r=subprocess.run(args,capture_output=True,text=True,stdin=subprocess.DEVNULL,timeout=20)
    m=re.search(r'refused \(([a-z-]+)\): (.*)', r.stderr)
    if r.returncode==125 and m:
        out.append((cmd,flag,'refused',m.group(1)+': '+m.group(2)))
        stats['refused '+m.group(1)]+=1; continue
    raise SystemExit('not refused: %s %s: %s' % (cmd, flag, r.stderr))
with open('testdata/docker-flags/coverage.tsv','w') as f:
    f.write('# Every flag of flags.tsv: works FILE::TEST (a behaviour test that passes it), works-help\n')
    f.write('# (pure output), refused CLASS: reason, untested (kiste has it; no test passes it yet),\n')
    f.write('# absent (kiste rejects it as unknown). tests/docker_flags.rs checks each row.\n')
    f.write('command\tflag\tstatus\tdetail\n')
    for r in out: f.write('\t'.join(r)+'\n')
print(stats)
import shutil; shutil.rmtree(tmp, ignore_errors=True)
