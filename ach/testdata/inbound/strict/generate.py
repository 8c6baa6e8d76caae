# Generates ach/testdata/inbound/strict/*.ach from returns.ach: one small
# file per finding of issue 18.
# Run from anywhere: python3 ach/testdata/inbound/strict/generate.py
import os
out = os.path.dirname(os.path.abspath(__file__)) + '/'
base = os.path.dirname(out.rstrip('/')) + '/'
lines = open(base + 'returns.ach').read().split('\n')
assert lines[-1] == ''
lines = lines[:-1]

def splice(s, at, w):
    return s[:at] + w + s[at+len(w):]

def rebalance(ls):
    """Recompute batch and file controls and padding (block count)."""
    ls = [l for l in ls if l != '9'*94]
    res = []
    fc = dict(b=0, n=0, h=0, d=0, c=0)
    bt = None
    for l in ls:
        if l[0] == '5':
            bt = dict(n=0, h=0, d=0, c=0)
        elif l[0] in '67' and bt is not None:
            bt['n'] += 1
            if l[0] == '6':
                bt['h'] += int(l[3:11]); a = int(l[29:39])
                if l[2] >= '5': bt['d'] += a
                else: bt['c'] += a
        elif l[0] == '8' and bt is not None:
            l = l[:4] + '%06d%010d%012d%012d' % (bt['n'], bt['h'] % 10**10, bt['d'], bt['c']) + l[44:]
            fc['b'] += 1
            for k in 'nhdc': fc[k] += bt[k]
            bt = None
        elif l[0] == '9':
            continue
        res.append(l)
    total = len(res) + 1
    blocks = (total + 9) // 10
    control = ('9%06d%06d%08d%010d%012d%012d' % (fc['b'], blocks, fc['n'], fc['h'] % 10**10, fc['d'], fc['c'])).ljust(94)
    res.append(control)
    while len(res) % 10: res.append('9'*94)
    return res

def write(name, ls, raw=None):
    data = raw if raw is not None else ('\n'.join(ls) + '\n').encode()
    open(out + name, 'wb').write(data)

assert rebalance(lines) == lines, 'rebalance must leave the fixture alone'
body = ('\n'.join(lines) + '\n').encode()

l = list(lines); l[37] = splice(l[37], 7, '000005'); write('block-count.ach', l)
l = list(lines); l[3] = splice(l[3], 79, '011000010000099'); write('addenda-trace.ach', l)
l = list(lines); l[2] = splice(l[2], 1, '27'); write('forward-debit.ach', l)
l = list(lines); l[39] = '9'*93 + '8'; write('padding-998.ach', l)
write('bom.ach', None, b'\xef\xbb\xbf' + body)
write('ctrl-z.ach', None, body + b'\x1a')
l = list(lines); l[0] = splice(l[0], 23, '261399'); write('creation-date.ach', l)
l = list(lines); del l[36]; write('no-batch-control.ach', l)
l = list(lines); l[8] = splice(l[8], 4, '000007'); write('batch-count.ach', l)
l = list(lines); l[8] = splice(l[8], 10, '0006300007'); write('batch-hash.ach', l)
# The same return again in a batch of its own (lines 3-4 again as 39-40).
l = list(lines); l = rebalance(l[:37] + [l[1][:87] + '0000007', l[2], l[3], l[8][:87] + '0000007'] + l[37:]); write('repeat.ach', l)
# A processor's heartbeat: no batches, trailing blanks trimmed, CRLF.
hb = [lines[0].rstrip(), '9000000000001000000000000000000000000000000000000000000'] + ['9'*94]*8
write('heartbeat-trimmed.ach', None, ('\r\n'.join(hb) + '\r\n').encode())
