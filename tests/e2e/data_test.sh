#!/usr/bin/env bash
# data_test.sh: `cfx examplegen` and `cfx statistics` end to end on the taxi
# CSV. The statistics are checked against a reference computed here by an
# independent Python reader (its own gzip/TFRecord/tf.Example/proto wire
# decoding, math.fsum, exact sorted quantiles); doubles within 1e-9
# relative. Then the CLI's error paths: line numbers, nothing left behind.
set -u
CFX=${CFX:?path to cfx}
SRC=${CFX_SOURCE_DIR:?}
PY=${PYTHON:-/usr/bin/python3}
# the shared independent TFRecord/tf.Example reader (tfrecord_reader.py)
export E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CSV="$SRC/examples/taxi/data.csv"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- examplegen --------------------------------------------------------------
"$CFX" examplegen --input "$CSV" --output "$T/examples" > "$T/eg.out" 2> "$T/eg.err" ||
  fail "examplegen: $(cat "$T/eg.err")"
cat "$T/eg.out"
for s in train eval; do
  for k in 0 1; do
    f="$T/examples/Split-$s/data_tfrecord-0000$k-of-00002.gz"
    [ -s "$f" ] || fail "missing $f"
  done
done
train=$(sed -n 's/.*Split-train: \([0-9]*\) examples/\1/p' "$T/eg.out")
eval_=$(sed -n 's/.*Split-eval: \([0-9]*\) examples/\1/p' "$T/eg.out")
[ "$((train + eval_))" = 15002 ] || fail "train $train + eval $eval_ != 15002 rows"
# hash buckets 2:1 -> train is 2/3 of the rows, give or take sampling noise
awk -v t="$train" 'BEGIN { f = t / 15002; exit !(f > 0.65 && f < 0.683) }' ||
  fail "train fraction $train/15002 not near 2/3"
grep -q 'fare:FLOAT' "$T/eg.out" && grep -q 'trip_start_hour:INT' "$T/eg.out" &&
  grep -q 'company:STRING' "$T/eg.out" || fail "column types: $(cat "$T/eg.out")"

# --- statistics --------------------------------------------------------------
"$CFX" statistics --examples "$T/examples" --output "$T/stats" > "$T/st.out" 2> "$T/st.err" ||
  fail "statistics: $(cat "$T/st.err")"
cat "$T/st.out"
for s in train eval; do
  [ -s "$T/stats/Split-$s/FeatureStats.pb" ] || fail "missing Split-$s/FeatureStats.pb"
done

"$PY" - "$T/examples" "$T/stats" <<'PYEOF' || fail "statistics differ from the Python reference"
import gzip, math, os, struct, sys, glob
from collections import Counter
sys.path.insert(0, os.environ["E2E_DIR"])
from tfrecord_reader import example, fields, records

d = lambda x: struct.unpack('<d', x)[0]
fl = lambda x: struct.unpack('<f', x)[0]

def hist(b):
    h = {'buckets': [], 'type': 0}
    for f, _, v in fields(b):
        if f == 4:
            h['type'] = v
        elif f == 3:
            bk = dict((f2, d(x)) for f2, _, x in fields(v))
            h['buckets'].append((bk.get(1, 0.0), bk.get(2, 0.0), bk.get(4, 0.0)))
    return h

def common(b):
    names = {1: 'num_non_missing', 2: 'num_missing', 3: 'min_num_values', 4: 'max_num_values', 8: 'tot_num_values'}
    c = {}
    for f, _, v in fields(b):
        if f in names:
            c[names[f]] = v
    return c

def stats(path):
    out = {}
    for _, _, ds in fields(open(path, 'rb').read()):
        for f, _, v in fields(ds):
            if f == 2:
                out['num_examples'] = v
            elif f == 3:
                feat = {}
                for f3, _, x in fields(v):
                    if f3 == 8:
                        feat['name'] = b''.join(s for _, _, s in fields(x)).decode()
                    elif f3 == 3:
                        ns = {'histograms': []}
                        for f4, _, y in fields(x):
                            if f4 == 1:
                                ns['common'] = common(y)
                            elif f4 in (2, 3, 5, 6, 7):
                                ns[{2: 'mean', 3: 'std_dev', 5: 'min', 6: 'median', 7: 'max'}[f4]] = d(y)
                            elif f4 == 4:
                                ns['num_zeros'] = y
                            elif f4 == 8:
                                ns['histograms'].append(hist(y))
                        feat['num'] = ns
                    elif f3 == 4:
                        ss = {'top': []}
                        for f4, _, y in fields(x):
                            if f4 == 1:
                                ss['common'] = common(y)
                            elif f4 == 2:
                                ss['unique'] = y
                            elif f4 == 4:
                                ss['avg_length'] = fl(y)
                            elif f4 == 3:
                                fv = dict((f5, z) for f5, _, z in fields(y))
                                ss['top'].append((fv.get(2, b''), d(fv[3])))
                        feat['str'] = ss
                out.setdefault('features', {})[feat['name']] = feat
    return out

def bin_weights(bounds, cum):
    # bins between consecutive boundaries; bins sharing an upper bound
    # share their weight; cum[0] goes to the bins identical to the first
    lo, hi = bounds[:-1], bounds[1:]
    w = [cum[i + 1] - cum[i] for i in range(len(lo))]
    i = 0
    while i < len(lo):
        j = i + 1
        while j < len(lo) and hi[j] == hi[i]:
            j += 1
        if j > i + 1:
            avg = sum(w[i:j]) / (j - i)
            w[i:j] = [avg] * (j - i)
        i = j
    m = 0
    while m < len(lo) and lo[m] == lo[0] and hi[m] == hi[0]:
        m += 1
    for k in range(m):
        w[k] += cum[0] / m
    return list(zip(lo, hi, w))

def standard_hist(a, nb):
    # TFDV: 1000 exact quantiles, uniform spread inside each quantile bin
    n, nq = len(a), 100 * nb
    q = [a[min(n - 1, (i * n) // nq)] for i in range(nq + 1)]
    q[0], q[-1] = a[0], a[-1]
    cum = [i * n / nq for i in range(nq + 1)]
    fin = [x for x in a if math.isfinite(x)]
    fmin, fmax = fin[0], fin[-1]
    npos = sum(1 for x in a if x == math.inf)
    k = sum(1 for x in q if x == -math.inf)
    nneg = cum[k - 1] if k else 0
    q, cum = q[k:], [c - nneg for c in cum[k:]]
    if npos:
        last = cum[-1] - npos
        p = sum(1 for x in q if x < math.inf)
        q, cum = q[:p] + [fmax], cum[:p] + [last]
    bins = bin_weights(q, cum)
    edges = [fmin, fmax] if fmin == fmax else [i * ((fmax - fmin) / nb) + fmin for i in range(nb)] + [fmax]
    out = [(-math.inf, -math.inf, nneg)] if nneg else []
    for e in range(len(edges) - 1):
        l, h, total = edges[e], edges[e + 1], 0.0
        for bl, bh, bw in bins:
            # a point bin on an edge opens its bucket: [l, h), last [l, h]
            if bh == bl == l:
                f = 1.0
            elif bh == bl == h and e + 2 < len(edges):
                f = 0.0
            elif bh < l or bl > h:
                f = 0.0
            elif l <= bl and h >= bh:
                f = 1.0
            elif l <= bl:
                f = (h - bl) / (bh - bl)
            elif h >= bh:
                f = (bh - l) / (bh - bl)
            else:
                f = (h - l) / (bh - bl)
            total += f * bw
        out.append((l, h, total))
    if npos:
        out.append((math.inf, math.inf, npos))
    return out

def close(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))

exdir, stdir = sys.argv[1], sys.argv[2]
bad = 0
def check(cond, *what):
    global bad
    if not cond:
        bad += 1
        print('MISMATCH', *what)

for split in ('Split-train', 'Split-eval'):
    exs = [example(r) for p in sorted(glob.glob(os.path.join(exdir, split, '*.gz'))) for r in records(p)]
    st = stats(os.path.join(stdir, split, 'FeatureStats.pb'))
    check(st['num_examples'] == len(exs), split, 'num_examples', st['num_examples'], len(exs))
    names = set(k for e in exs for k in e)
    check(set(st['features']) == names, split, 'feature set')
    for name in sorted(names):
        feat = st['features'][name]
        present = [e[name][1] for e in exs if name in e and e[name][0]]
        vals = [v for p in present for v in p]
        kinds = set(e[name][0] for e in exs if name in e and e[name][0])
        sec = feat.get('num') or feat.get('str')
        c = sec['common']
        check(c.get('num_non_missing', 0) == len(present), split, name, 'num_non_missing')
        check(c.get('num_missing', 0) == len(exs) - len(present), split, name, 'num_missing')
        check(c.get('tot_num_values', 0) == len(vals), split, name, 'tot_num_values')
        if present:
            check(c.get('min_num_values', 0) == min(map(len, present)), split, name, 'min_num_values')
        if kinds & {2, 3}:
            ns = feat['num']
            a = sorted(float(v) for v in vals)
            n = len(a)
            if not n:
                continue
            mean = math.fsum(a) / n
            ref = {'mean': mean, 'std_dev': math.sqrt(math.fsum((x - mean) ** 2 for x in a) / n),
                   'min': a[0], 'max': a[-1], 'median': a[n // 2]}
            for k, v in ref.items():
                check(close(ns.get(k, 0.0), v), split, name, k, ns.get(k, 0.0), v)
            check(ns.get('num_zeros', 0) == sum(1 for x in a if x == 0), split, name, 'num_zeros')
            std, qh = ns['histograms']
            check(std['type'] == 0 and qh['type'] == 1, split, name, 'histogram types')
            # QUANTILES: boundary i = sorted[floor(i * 100 * n / 1000)], ends exact
            want = [a[min(n - 1, (i * 100 * n) // 1000)] for i in range(11)]
            want[0], want[-1] = a[0], a[-1]
            got = [b[0] for b in qh['buckets']] + [qh['buckets'][-1][1]]
            check(len(got) == 11 and all(close(x, y) for x, y in zip(got, want)), split, name, 'quantile bounds', got, want)
            check(all(close(b[2], n / 10) for b in qh['buckets']), split, name, 'quantile counts')
            check(abs(sum(b[2] for b in std['buckets']) - n) < 1e-6 * n, split, name, 'standard total')
            ref_std = standard_hist(a, 10)
            check(len(ref_std) == len(std['buckets']) and
                  all(close(x[0], y[0]) and close(x[1], y[1]) and abs(x[2] - y[2]) <= 1e-9 * n
                      for x, y in zip(std['buckets'], ref_std)),
                  split, name, 'standard histogram', std['buckets'], ref_std)
            if a[0] < a[-1]:
                check(len(std['buckets']) == 10 and close(std['buckets'][0][0], a[0]) and close(std['buckets'][-1][1], a[-1]),
                      split, name, 'standard edges')
        else:
            ss = feat['str']
            if not vals:
                check('unique' not in ss and not ss['top'], split, name, 'empty string stats')
                continue
            cnt = Counter(vals)
            order = sorted(sorted(cnt.items(), key=lambda kv: kv[0], reverse=True), key=lambda kv: -kv[1])
            check(ss.get('unique') == len(cnt), split, name, 'unique')
            check([(v, float(k)) for v, k in order[:20]] == ss['top'], split, name, 'top_values')
            check(abs(ss['avg_length'] - sum(map(len, vals)) / len(vals)) < 1e-5, split, name, 'avg_length')
    print(split, len(exs), 'examples,', len(names), 'features checked')
sys.exit(1 if bad else 0)
PYEOF

# --- statistics split across processes: parts merged == one run, byte for byte
for i in 0 1; do
  "$CFX" statistics --examples "$T/examples" --part $i/2 --threads 1 --output "$T/part$i" \
    > /dev/null 2> "$T/part.err" || fail "statistics --part $i/2: $(cat "$T/part.err")"
  [ -s "$T/part$i/Split-train/FeatureStats.state" ] || fail "no state in part $i"
done
"$CFX" statistics --merge "$T/part0" --merge "$T/part1" --output "$T/merged" \
  > /dev/null 2> "$T/merge.err" || fail "statistics --merge: $(cat "$T/merge.err")"
for s in train eval; do
  cmp -s "$T/merged/Split-$s/FeatureStats.pb" "$T/stats/Split-$s/FeatureStats.pb" ||
    fail "Split-$s: merged parts differ from a single run"
done
head -c 100 "$T/part1/Split-eval/FeatureStats.state" > "$T/part1/Split-eval/cut" &&
  mv "$T/part1/Split-eval/cut" "$T/part1/Split-eval/FeatureStats.state"
"$CFX" statistics --merge "$T/part0" --merge "$T/part1" --output "$T/merged2" 2> "$T/m2.err" &&
  fail "a truncated state must be refused"
grep -q 'FeatureStats.state: statistics state corrupt or truncated' "$T/m2.err" ||
  fail "truncated state message: $(cat "$T/m2.err")"
[ -e "$T/merged2" ] && fail "output left after a failed merge"

# --- the sketch past the exact budget: rank error within the stated 0.005 --
"$CFX" statistics --examples "$T/examples" --output "$T/stats_sketch" --quantiles-budget 64 \
  > /dev/null 2> "$T/sk.err" || fail "statistics --quantiles-budget: $(cat "$T/sk.err")"
"$PY" - "$T/examples" "$T/stats_sketch" <<'PYEOF' || fail "sketch quantiles outside the error bound"
import bisect, glob, gzip, os, struct, sys
sys.path.insert(0, os.environ["E2E_DIR"])
from tfrecord_reader import example, fields, records
vals = {}
split = 'Split-train'
for p in sorted(glob.glob(os.path.join(sys.argv[1], split, '*.gz'))):
    for r in records(p):
        for name, (kind, xs) in example(r).items():
            if kind in (2, 3):  # float_list, int64_list
                vals.setdefault(name, []).extend(float(x) for x in xs)
worst, checked = 0.0, 0
for _, _, ds in fields(open(os.path.join(sys.argv[2], split, 'FeatureStats.pb'), 'rb').read()):
    for f, _, feat in fields(ds):
        if f != 3:
            continue
        m = {}
        for f3, _, x in fields(feat):
            m.setdefault(f3, []).append(x)
        if 3 not in m:
            continue
        name = b''.join(s for _, _, s in fields(m[8][0])).decode()
        if not vals.get(name):
            continue
        a = sorted(vals[name])
        n = len(a)
        hists = [x for f4, _, x in fields(m[3][0]) if f4 == 8]
        q = [dict((f5, y) for f5, _, y in fields(x)) for f5b, _, x in fields(hists[1]) if f5b == 3]
        bounds = [struct.unpack('<d', b.get(1, bytes(8)))[0] for b in q]
        for i, b in enumerate(bounds):
            target = i * n / 10.0
            lo, hi = bisect.bisect_left(a, b), bisect.bisect_right(a, b)
            err = 0.0 if lo <= target <= hi else min(abs(target - lo), abs(target - hi)) / n
            worst = max(worst, err)
        checked += 1
print('sketch: %d numeric features, worst rank error %.4f' % (checked, worst))
sys.exit(0 if checked >= 10 and worst <= 0.005 else 1)
PYEOF

# --- error paths -------------------------------------------------------------
printf 'a,b\n1,2\n3\n4,"5\n6",7\n' > "$T/bad.csv"
if "$CFX" examplegen --input "$T/bad.csv" --output "$T/bad_out" 2> "$T/bad.err"; then
  fail "a short row must fail"
fi
grep -q 'bad.csv:3: expected 2 cells' "$T/bad.err" || fail "error without line: $(cat "$T/bad.err")"
ls "$T" | grep -q '^bad_out' && fail "output left behind after an error"
"$CFX" examplegen --input "$T/bad.csv" --output "$T/bad_out" --skip-bad-rows \
  > "$T/skip.out" 2> "$T/skip.err" || fail "--skip-bad-rows: $(cat "$T/skip.err")"
grep -q 'skipped 2 bad rows' "$T/skip.out" || fail "skip count: $(cat "$T/skip.out")"
grep -q 'bad.csv:4: expected 2 cells' "$T/skip.err" || fail "skip warning: $(cat "$T/skip.err")"
grep -q '1 rows' "$T/skip.out" || fail "rows after skipping: $(cat "$T/skip.out")"
# an existing, non-empty output is refused and kept
if "$CFX" examplegen --input "$CSV" --output "$T/examples" 2> "$T/exists.err"; then
  fail "overwrote an existing output"
fi
[ -s "$T/examples/Split-train/data_tfrecord-00000-of-00002.gz" ] || fail "existing output damaged"
printf 'a,b\n' > "$T/header.csv"
"$CFX" examplegen --input "$T/header.csv" --output "$T/h_out" 2> "$T/h.err" && fail "header-only CSV must fail"
grep -q 'header.csv:1: no data rows' "$T/h.err" || fail "header-only message: $(cat "$T/h.err")"
"$CFX" statistics --examples "$T/nowhere" --output "$T/s2" 2> "$T/s2.err" && fail "statistics on a missing dir must fail"
[ -e "$T/s2" ] && fail "statistics left output after an error"
echo "data_test: OK"
