#!/usr/bin/env bash
# tfmd_conformance_test.sh: our artifacts are TFX's.
#  1. proto/schema.proto, statistics.proto and anomalies.proto use the
#     names, numbers and types of the open-source tensorflow_metadata v0
#     protos: every field and enum value they declare is checked against
#     tests/data/tfx-conformance/tfmd_fields.txt (the official field table,
#     see tests/data/tfx-conformance/README.md).
#  2. The taxi statistics, schema and anomalies (plain, and with drift,
#     skew and domain anomalies) decode with `protoc --decode` against
#     those protos with no unknown field (protoc prints an unknown field as
#     a bare number), and schema.pbtxt parses with `protoc --encode`.
#  3. The taxi statistics and schema equal the ones TFX (TFDV) wrote for
#     the same CSV and split (tests/data/tfx-conformance/*_golden.tsv):
#     counts exactly; doubles within 1e-9 relative, except std_dev (1e-6:
#     TFDV's sum-of-squares variance loses digits on values near 1.7e10)
#     and the histograms of trip_start_timestamp, the one feature with
#     more distinct values than TFDV's quantile sketch keeps exactly: there
#     each bucket's count within TFDV's sketch error, 0.01 x examples.
set -u
CFX=${CFX:?path to cfx}
SRC=${CFX_SOURCE_DIR:?}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REF="$SRC/tests/data/tfx-conformance"
PROTO="$SRC/proto"
command -v protoc >/dev/null || fail "protoc not found (Debian protobuf-compiler; scripts/install-deps.sh)"

# --- 1. our .proto files against the official field table -------------------
"$PY" - "$PROTO" "$REF/tfmd_fields.txt" <<'PYEOF' || fail "proto/ differs from tensorflow_metadata"
import re, sys
proto_dir, table = sys.argv[1], sys.argv[2]
official = set(l.rstrip('\n') for l in open(table) if l.strip())
def parse(path):
    text = re.sub(r'//[^\n]*', '', open(path).read())
    pkg = re.search(r'package\s+([\w.]+)\s*;', text).group(1)
    toks = re.findall(r'map\s*<[^>]*>|[A-Za-z_][\w.]*|\d+|[{}=;\[\]]', text)
    out, scope, kinds, i = [], [], [], 0
    while i < len(toks):
        t = toks[i]
        if t in ('message', 'enum', 'oneof') and i + 2 < len(toks) and toks[i + 2] == '{':
            if t != 'oneof':
                scope.append(toks[i + 1])
            kinds.append(t)
            i += 3
            continue
        if t == '}':
            if kinds.pop() != 'oneof':
                scope.pop()
            i += 1
            continue
        if t in ('syntax', 'package', 'import', 'option', 'reserved'):
            while toks[i] != ';':
                i += 1
            i += 1
            continue
        full = '.'.join([pkg] + scope)
        if t == ';':
            i += 1
        elif kinds and kinds[-1] == 'enum' and toks[i + 1] == '=':
            out.append('enum %s %s %s' % (full, toks[i + 2], t))
            i += 3
        elif kinds and toks[i] in ('optional', 'repeated', 'required'):
            i += 1
            continue
        elif kinds and i + 3 < len(toks) and toks[i + 2] == '=':
            typ = t
            if typ.startswith('map'):
                typ = ''.join(w.capitalize() for w in toks[i + 1].split('_')) + 'Entry'
            out.append('field %s %s %s %s' % (full, toks[i + 3], toks[i + 1], typ.split('.')[-1]))
            i += 4
        else:
            i += 1
        while i < len(toks) and toks[i] == '[':
            while toks[i] != ']':
                i += 1
            i += 1
    return out
bad = 0
n = 0
for f in ('schema.proto', 'statistics.proto', 'anomalies.proto', 'path.proto'):
    for line in parse('%s/%s' % (proto_dir, f)):
        n += 1
        if line not in official:
            print('not in tensorflow_metadata: %s (%s)' % (line, f))
            bad += 1
print('%d fields and enum values checked against tensorflow_metadata' % n)
assert n > 300, n
sys.exit(1 if bad else 0)
PYEOF

# --- 2. artifacts decode with no unknown field ------------------------------
"$CFX" examplegen --input "$SRC/examples/taxi/data.csv" --output "$T/ex" >/dev/null ||
  fail "examplegen"
"$CFX" statistics --examples "$T/ex" --output "$T/st" >/dev/null || fail "statistics"
"$CFX" schema --statistics "$T/st" --output "$T/sc" >/dev/null || fail "schema"
"$CFX" schema --statistics "$T/st" --output "$T/sc_flat" --no-infer-feature-shape \
  >/dev/null || fail "schema --no-infer-feature-shape"
"$CFX" validate --statistics "$T/st" --schema "$T/sc/schema.pbtxt" --output "$T/an" \
  >/dev/null || fail "validate"
# anomalies of every kind we write: a value outside the domain, a missing
# column, drift against the train split, skew against serving statistics
"$PY" - "$T/sc/schema.pbtxt" "$T/edited.pbtxt" <<'PYEOF'
import sys
s = open(sys.argv[1]).read()
s = s.replace('  value: "Cash"\n', '', 1)
s = s.replace('  domain: "company"\n', '  domain: "company"\n'
              '  drift_comparator { infinity_norm { threshold: 0.001 } }\n'
              '  skew_comparator { infinity_norm { threshold: 0.001 } }\n', 1)
s = s.replace('  name: "fare"\n', '  name: "fare"\n'
              '  drift_comparator { jensen_shannon_divergence { threshold: 0.0001 } }\n', 1)
s += 'feature { name: "extra" type: INT presence { min_fraction: 1.0 } }\n'
open(sys.argv[2], 'w').write(s)
PYEOF
mkdir -p "$T/prev/Split-eval" "$T/serving/Split-eval"
cp "$T/st/Split-train/FeatureStats.pb" "$T/prev/Split-eval/"
cp "$T/st/Split-train/FeatureStats.pb" "$T/serving/Split-eval/"
"$CFX" validate --statistics "$T/st" --schema "$T/edited.pbtxt" --output "$T/an2" \
  --previous-statistics "$T/prev" --serving-statistics "$T/serving" >/dev/null 2>"$T/an2.err"
rc=$?
[ "$rc" = 3 ] || fail "validate with anomalies: exit $rc, $(cat "$T/an2.err")"

decode() { # TYPE FILE PROTO
  protoc -I "$PROTO" --decode="tensorflow.metadata.v0.$1" "$3" <"$2" >"$T/decoded.txt" \
    2>"$T/decode.err" || fail "protoc --decode $1 $2: $(cat "$T/decode.err")"
  if grep -nE '^ *[0-9]+( *\{|:)' "$T/decoded.txt" >"$T/unknown.txt"; then
    fail "$2: fields tensorflow_metadata does not know: $(head -5 "$T/unknown.txt")"
  fi
  [ -s "$T/decoded.txt" ] || fail "$2 decodes to nothing"
}
for s in train eval; do
  decode DatasetFeatureStatisticsList "$T/st/Split-$s/FeatureStats.pb" statistics.proto
  cp "$T/decoded.txt" "$T/st_$s.txt"
  decode Anomalies "$T/an/Split-$s/SchemaDiff.pb" anomalies.proto
  decode Anomalies "$T/an2/Split-$s/SchemaDiff.pb" anomalies.proto
done
grep -q 'drift_skew_info' "$T/decoded.txt" || fail "no drift_skew_info decoded"
grep -q 'COMPARATOR_L_INFTY_HIGH' "$T/decoded.txt" || fail "no drift anomaly decoded"
grep -q 'ENUM_TYPE_UNEXPECTED_STRING_VALUES' "$T/decoded.txt" || fail "no domain anomaly decoded"
grep -q 'SCHEMA_MISSING_COLUMN' "$T/decoded.txt" || fail "no missing column decoded"
for sc in sc sc_flat; do
  protoc -I "$PROTO" --encode=tensorflow.metadata.v0.Schema schema.proto \
    <"$T/$sc/schema.pbtxt" >"$T/schema.pb" 2>"$T/encode.err" ||
    fail "$sc/schema.pbtxt does not parse: $(cat "$T/encode.err")"
  decode Schema "$T/schema.pb" schema.proto
done

# --- 3. equal to TFX's statistics and schema --------------------------------
"$PY" - "$T" "$REF" <<'PYEOF' || fail "statistics or schema differ from TFX's"
import hashlib, re, sys
T, REF = sys.argv[1], sys.argv[2]

def parse_text(text):
    # protoc's text format: `name: value` and `name {` ... `}`
    root, stack = {}, []
    cur = root
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line == '}':
            cur = stack.pop()
            continue
        m = re.match(r'(\w+) \{$', line)
        if m:
            child = {}
            cur.setdefault(m.group(1), []).append(child)
            stack.append(cur)
            cur = child
            continue
        k, v = line.split(': ', 1)
        if v.startswith('"'):
            v = bytes(v[1:-1], 'latin-1').decode('unicode_escape').encode('latin-1').decode('utf-8')
        cur.setdefault(k, []).append(v)
    return root

one = lambda d, k, dflt=0.0: float(d.get(k, [dflt])[0])
HT = {'STANDARD': 'hist_STANDARD', 'QUANTILES': 'hist_QUANTILES'}
TYPES = {'INT': '0', 'FLOAT': '1', 'STRING': '2', 'BYTES': '3'}
ours = {}
for split in ('train', 'eval'):
    ds = parse_text(open('%s/st_%s.txt' % (T, split)).read())['datasets'][0]
    ours[(split, '-', 'num_examples')] = [[ds['num_examples'][0]]]
    for f in ds['features']:
        n = f['path'][0]['step'][0]
        put = lambda k, *v: ours.setdefault((split, n, k), []).append([str(x) for x in v])
        put('type', TYPES[f.get('type', ['INT'])[0]])
        if 'num_stats' in f:
            s = f['num_stats'][0]
            for k in ('mean', 'std_dev', 'num_zeros', 'min', 'max', 'median'):
                put(k, one(s, k))
            for h in s.get('histograms', []):
                for i, b in enumerate(h.get('buckets', [])):
                    put(HT[h.get('type', ['STANDARD'])[0]], i, one(b, 'low_value'),
                        one(b, 'high_value'), one(b, 'sample_count'))
        else:
            s = f['string_stats'][0]
            put('unique', s['unique'][0])
            put('avg_length', one(s, 'avg_length'))
            for i, t in enumerate(s.get('top_values', [])):
                put('top', i, one(t, 'frequency'), t['value'][0])
        c = s['common_stats'][0]
        for k in ('num_non_missing', 'num_missing', 'min_num_values', 'max_num_values',
                  'tot_num_values', 'avg_num_values'):
            put(k, one(c, k))

def close(a, b, rel):
    a, b = float(a), float(b)
    return a == b or abs(a - b) <= rel * max(1.0, abs(a), abs(b))

theirs = {}
for line in open('%s/statistics_gen_golden.tsv' % REF, encoding='utf-8'):
    p = line.rstrip('\n').split('\t')
    theirs.setdefault(tuple(p[:3]), []).append(p[3:])
bad, checked = [], 0
nex = {s: float(theirs[(s, '-', 'num_examples')][0][0]) for s in ('train', 'eval')}
for key, want in theirs.items():
    got = ours.get(key)
    split, feat, prop = key
    if got is None or len(got) != len(want):
        bad.append('%s: ours %s, TFX %s' % (key, got and len(got), len(want)))
        continue
    for g, w in zip(got, want):
        checked += 1
        if prop == 'top':
            ok = g[0] == w[0] and close(g[1], w[1], 0) and g[2] == w[2]
        elif prop.startswith('hist_') and feat == 'trip_start_timestamp':
            # TFDV's quantile sketch: rank error up to 0.01 x examples
            ok = g[0] == w[0] and abs(float(g[3]) - float(w[3])) <= 0.01 * nex[split]
            if int(w[0]) == 0:
                ok = ok and close(g[1], w[1], 1e-9)
        elif prop.startswith('hist_'):
            ok = g[0] == w[0] and all(close(a, b, 1e-9) for a, b in zip(g[1:], w[1:]))
        elif prop == 'std_dev':
            ok = close(g[0], w[0], 1e-6)
        else:
            ok = close(g[0], w[0], 1e-9)
        if not ok:
            bad.append('%s: ours %s, TFX %s' % (' '.join(key), g, w))
extra = [k for k in ours if k not in theirs]
if extra:
    bad.append('properties TFX does not have: %s' % extra[:5])

# schema: TFX's was inferred without shapes
text = open('%s/sc_flat/schema.pbtxt' % T).read()
sc = parse_text(text)
rows = []
for f in sorted(sc['feature'], key=lambda f: f['name'][0]):
    pr = f.get('presence', [{}])[0]
    vc = f.get('value_count', [{}])[0]
    rows.append('\t'.join(['feature', f['name'][0], f['type'][0], f.get('domain', ['-'])[0],
        repr(float(pr['min_fraction'][0])) if 'min_fraction' in pr else '-',
        pr.get('min_count', ['-'])[0], vc.get('min', ['-'])[0], vc.get('max', ['-'])[0],
        'shape' if 'shape' in f else '-']))
for d in sc.get('string_domain', []):
    vals = d.get('value', [])
    rows.append('string_domain\t%s\t%d\t%s' % (d['name'][0], len(vals),
        hashlib.sha256(('\n'.join(vals) + '\n').encode()).hexdigest()))
want = [l.rstrip('\n') for l in open('%s/schema_gen_golden.tsv' % REF, encoding='utf-8')]
for g, w in zip(rows, want):
    if g != w:
        bad.append('schema: ours %r, TFX %r' % (g, w))
if len(rows) != len(want):
    bad.append('schema: %d rows, TFX %d' % (len(rows), len(want)))
print('%d statistics values and %d schema rows compared with TFX' % (checked, len(want)))
for b in bad[:20]:
    print(b)
sys.exit(1 if bad else 0)
PYEOF
echo "tfmd conformance: ok"
