#!/usr/bin/env bash
# schema_validate_test.sh: cfx schema / validate / show end to end.
#  1. TFX conformance: the taxi CSV through examplegen and statistics gives
#     the schema TFX's SchemaGen wrote for it (testdata/schema_gen, made
#     with infer_feature_shape=false): every feature required, value_count
#     only on the 8 single-valued features, company = 45 train values sorted
#     then 16 eval-only values sorted, payment_type = 6 sorted + Prcard; a
#     re-run is byte-identical; by default shapes replace those value_counts.
#  2. Small CSVs: a column of a new type, a dropped column, a new category
#     and a new column give exactly the matching anomalies, read back from
#     SchemaDiff.pb by an independent protobuf wire decoder (Python).
#  3. Hand edits of the schema are honoured; drift comparator; severity
#     overrides; exit statuses 0 / 3 / 1 / 2.
set -euo pipefail
: "${CFX:?CFX must name the cfx binary}"
: "${CFX_SOURCE_DIR:?}"
# the shared independent protobuf wire reader (tfrecord_reader.py)
export E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- 1. TFX conformance ------------------------------------------------------
"$CFX" examplegen --input "$CFX_SOURCE_DIR/examples/taxi/data.csv" --output "$T/tfx_ex" \
    >/dev/null
"$CFX" statistics --examples "$T/tfx_ex" --output "$T/tfx_stats" >/dev/null
"$CFX" schema --statistics "$T/tfx_stats" --output "$T/tfx_schema" --no-infer-feature-shape \
    >/dev/null
S="$T/tfx_schema/schema.pbtxt"
[ -s "$S" ] || fail "no schema.pbtxt"
vc=$(awk '/^feature \{/{n=""} /^  name:/{n=$2} /^  value_count \{/{print n}' "$S" | tr -d '"' | sort | tr '\n' ' ')
want="fare payment_type tips trip_miles trip_start_day trip_start_hour trip_start_month trip_start_timestamp "
[ "$vc" = "$want" ] || fail "value_count features: got '$vc' want '$want'"
grep -q '^  shape {' "$S" && fail "shape inferred with --no-infer-feature-shape"
nfeat=$(grep -c '^feature {' "$S")
[ "$nfeat" = 18 ] || fail "expected 18 features, got $nfeat"
nreq=$(grep -c '^    min_fraction: 1' "$S")
[ "$nreq" = 18 ] || fail "expected min_fraction 1 on all 18 features, got $nreq"
# generate_legacy_feature_spec is no field of the open-source schema proto:
# TFX's schema.pbtxt ends with it commented out, and so does ours
[ "$(tail -n 1 "$S")" = "# generate_legacy_feature_spec: false" ] || fail "last line"
grep -q '^generate_legacy_feature_spec' "$S" && fail "legacy flag written"
$PY - "$S" <<'PYEOF' || fail "string domains differ from TFX's"
import re, sys
text = open(sys.argv[1]).read()
doms = {}
for m in re.finditer(r'^string_domain \{\n  name: "([^"]*)"\n((?:  value: ".*"\n)*)\}', text, re.M):
    doms[m.group(1)] = re.findall(r'  value: "(.*)"', m.group(2))
c, p = doms["company"], doms["payment_type"]
assert len(c) == 61 and len(set(c)) == 61, len(c)
assert c[:45] == sorted(c[:45]) and c[45:] == sorted(c[45:]), "company order"
assert c[:45] != sorted(c), "eval-only values should follow the train ones"
assert p == ["Cash", "Credit Card", "Dispute", "No Charge", "Pcard", "Unknown", "Prcard"], p
PYEOF
"$CFX" schema --statistics "$T/tfx_stats" --output "$T/tfx_schema2" --no-infer-feature-shape \
    >/dev/null
cmp -s "$S" "$T/tfx_schema2/schema.pbtxt" || fail "schema not byte-identical on re-run"
# Default: shapes for the same 8 features instead of value_count.
"$CFX" schema --statistics "$T/tfx_stats" --output "$T/tfx_schema3" >/dev/null
ns=$(grep -c '^  shape {' "$T/tfx_schema3/schema.pbtxt")
[ "$ns" = 8 ] || fail "expected 8 shapes by default, got $ns"

# A schema from the train split alone flags the eval-only values, with
# TFDV's wording and shares: 16 companies, and payment_type's Prcard.
mkdir -p "$T/train_only"
cp -r "$T/tfx_stats/Split-train" "$T/train_only/"
"$CFX" schema --statistics "$T/train_only" --output "$T/train_schema" >/dev/null
set +e
"$CFX" validate --statistics "$T/tfx_stats" --schema "$T/train_schema/schema.pbtxt" \
    --output "$T/tfx_an" >/dev/null
rc=$?
set -e
[ "$rc" = 3 ] || fail "taxi eval against a train-only schema: exit $rc"
"$CFX" show "$T/tfx_an" >"$T/tfx_an.out"
grep -q '^Split train: No anomalies found' "$T/tfx_an.out" || fail "train split should be clean"
grep -q '^Split eval: 2 anomalies' "$T/tfx_an.out" || fail "eval: $(cat "$T/tfx_an.out")"
grep -q 'Examples contain values missing from the schema: Prcard (<1%)' "$T/tfx_an.out" \
    || fail "payment_type Prcard"
ncomp=$(grep '^company ' "$T/tfx_an.out" | grep -o '(<1%)\|(~[0-9]*%)' | wc -l)
[ "$ncomp" = 16 ] || fail "expected 16 unexpected company values, got $ncomp"

# --- 2. small CSVs -------------------------------------------------------------
{
  echo "fare,company,payment_type,tips,trip_miles"
  for i in $(seq 1 30); do
    cos=("Alpha Cab" "Blue Cab" "City Cab")
    pay=("Cash" "Credit Card")
    echo "$((i * 3)).5,${cos[$((i % 3))]},${pay[$((i % 2))]},$((i % 2)),$i.25"
  done
} >"$T/train.csv"
{
  echo "fare,company,payment_type,tips,extra"
  for i in $(seq 1 30); do
    cos=("Alpha Cab" "Blue Cab" "Zed Cab")
    pay=("Cash" "Credit Card")
    fare="$((i * 3)).5"
    [ "$i" = 7 ] && fare="n/a"
    echo "$fare,${cos[$((i % 3))]},${pay[$((i % 2))]},$((i % 2)),$i"
  done
} >"$T/drifted.csv"
"$CFX" examplegen --input "$T/train.csv" --output "$T/ex_train" --split train:1 >/dev/null
"$CFX" examplegen --input "$T/drifted.csv" --output "$T/ex_new" --split eval:1 >/dev/null
"$CFX" statistics --examples "$T/ex_train" --output "$T/st_train" >/dev/null
"$CFX" statistics --examples "$T/ex_new" --output "$T/st_new" >/dev/null
"$CFX" schema --statistics "$T/st_train" --output "$T/schema" >/dev/null
SC="$T/schema/schema.pbtxt"
grep -q 'bool_domain' "$SC" || fail "tips (0/1) should get a bool_domain"

# Independent decoder of the binary Anomalies (wire format, field numbers of
# tensorflow_metadata anomalies.proto): "key severity short type,type".
cat >"$T/decode.py" <<'PYEOF'
import os, sys
sys.path.insert(0, os.environ["E2E_DIR"])
from tfrecord_reader import fields
out = []
for n, _, v in fields(open(sys.argv[1], "rb").read()):
    if n != 2: continue                       # anomaly_info map entries
    key, info = None, b""
    for en, _, ev in fields(v):
        if en == 1: key = ev.decode()
        if en == 2: info = ev
    sev, short, types = 0, "", []
    for an, _, av in fields(info):
        if an == 5: sev = av
        if an == 6: short = av.decode()
        if an == 7:
            for rn, _, rv in fields(av):
                if rn == 1: types.append(str(rv))
    out.append("%s %d %s %s" % (key, sev, ",".join(types), short))
print("\n".join(out))
PYEOF

set +e
"$CFX" validate --statistics "$T/st_new" --schema "$SC" --output "$T/an" >"$T/validate.out"
rc=$?
set -e
[ "$rc" = 3 ] || fail "validate with anomalies: exit $rc, want 3"
grep -q '1 with anomalies (4 anomalies)' "$T/validate.out" || fail "summary: $(cat "$T/validate.out")"
got=$($PY "$T/decode.py" "$T/an/Split-eval/SchemaDiff.pb")
# 2 = ERROR; 14 ENUM_TYPE_UNEXPECTED_STRING_VALUES, 36 SCHEMA_NEW_COLUMN,
# 70 UNEXPECTED_DATA_TYPE, 35 SCHEMA_MISSING_COLUMN.
want="company 2 14 Unexpected string values
extra 2 36 New column
fare 2 70 Unexpected data type
trip_miles 2 35 Column dropped"
[ "$got" = "$want" ] || fail "anomalies:
$got
want:
$want"
"$CFX" show "$T/an" >"$T/show.out"
grep -q 'Zed Cab (~33%)' "$T/show.out" || fail "show: new category description: $(cat "$T/show.out")"
grep -q 'Expected data of type: FLOAT but got STRING' "$T/show.out" || fail "show: type"

# The training data itself is clean.
"$CFX" validate --statistics "$T/st_train" --schema "$SC" --output "$T/an_ok" >/dev/null \
    || fail "clean data: exit $?"
"$CFX" show "$T/an_ok" >"$T/show_ok.out"
grep -q 'Split train: No anomalies found' "$T/show_ok.out" || fail "show clean"

# --- 3. hand edits, config, drift, errors ------------------------------------------
# Accept the new company, deprecate trip_miles, declare extra: only fare stays.
$PY - "$SC" "$T/edited.pbtxt" <<'PYEOF'
import sys
s = open(sys.argv[1]).read()
s = s.replace('  value: "City Cab"\n', '  value: "City Cab"\n  value: "Zed Cab"\n')
s = s.replace('  name: "trip_miles"\n', '  name: "trip_miles"\n  lifecycle_stage: DEPRECATED\n')
# a schema written before the legacy flag was dropped still reads
s += '# reviewed by hand\nfeature { name: "extra" type: INT }\n' \
     'generate_legacy_feature_spec: false\n'
open(sys.argv[2], "w").write(s)
PYEOF
set +e
"$CFX" validate --statistics "$T/st_new" --schema "$T/edited.pbtxt" --output "$T/an2" >/dev/null
rc=$?
set -e
[ "$rc" = 3 ] || fail "edited schema: exit $rc"
got=$($PY "$T/decode.py" "$T/an2/Split-eval/SchemaDiff.pb")
[ "$got" = "fare 2 70 Unexpected data type" ] || fail "edited schema not honoured: $got"

# Severity overrides from a TFDV ValidationConfig (1 = WARNING).
cat >"$T/config.pbtxt" <<'CFG'
severity_overrides { type: SCHEMA_NEW_COLUMN severity: WARNING }
severity_overrides { type: UNEXPECTED_DATA_TYPE severity: WARNING }
CFG
set +e
"$CFX" validate --statistics "$T/st_new" --schema "$SC" --output "$T/an3" \
    --validation-config "$T/config.pbtxt" >/dev/null
rc=$?
set -e
[ "$rc" = 3 ] || fail "config: exit $rc"
got=$($PY "$T/decode.py" "$T/an3/Split-eval/SchemaDiff.pb" | awk '{print $1, $2}' | tr '\n' ' ')
[ "$got" = "company 2 extra 1 fare 1 trip_miles 2 " ] || fail "severities: $got"

# Drift: company L-infinity against the training statistics as the previous
# span: train {A,B,C} 10 each vs new {A,B,Zed} 10 each -> 1/3 (C or Zed).
$PY - "$SC" "$T/drift.pbtxt" <<'PYEOF'
import sys
s = open(sys.argv[1]).read()
s = s.replace('  domain: "company"\n',
              '  domain: "company"\n  drift_comparator { infinity_norm { threshold: 0.3 } }\n', 1)
open(sys.argv[2], "w").write(s)
PYEOF
set +e
"$CFX" validate --statistics "$T/st_new" --schema "$T/drift.pbtxt" --output "$T/an4" \
    --previous-statistics "$T/st_train" >/dev/null
rc=$?
set -e
[ "$rc" = 3 ] || fail "drift: exit $rc"
"$CFX" show "$T/an4" >"$T/show4.out"
grep -q 'The Linfty distance between current and previous is 0.333333 (up to six significant digits), above the threshold 0.3. The feature value with maximum difference is: Zed Cab' "$T/show4.out" \
    || fail "drift description: $(cat "$T/show4.out")"
grep -Eq 'company +drift +L_INFTY +0.333333 +0.3' "$T/show4.out" || fail "drift measurement row"

# show renders statistics and schemas too.
"$CFX" show "$T/st_train" >"$T/show_st.out"
grep -q 'Split train: 30 examples, 5 features' "$T/show_st.out" || fail "show statistics"
grep -Eq '^tips +INT +30 +0.0% +0.5 ' "$T/show_st.out" || fail "show statistics: tips row"
"$CFX" show "$SC" >"$T/show_sc.out"
grep -Eq '^company +BYTES +required +single +.company.' "$T/show_sc.out" || fail "show schema"

# --pipeline-root: both runs recorded, ExampleAnomalies with TFX's `blessed`.
"$CFX" schema --statistics "$T/st_train" --pipeline-root "$T/root" >/dev/null
set +e
"$CFX" validate --statistics "$T/st_new" --schema "$SC" --pipeline-root "$T/root" >/dev/null
rc=$?
set -e
[ "$rc" = 3 ] || fail "validate --pipeline-root: exit $rc"
ls "$T"/root/ExampleValidator/anomalies/*/Split-eval/SchemaDiff.pb >/dev/null || fail "no output"
blessed=$($PY -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(c.execute("select string_value from ArtifactProperty where name = ?",
                ("blessed",)).fetchone()[0])' "$T/root/metadata.sqlite")
[ "$blessed" = '{"eval": 0}' ] || fail "blessed property: $blessed"

# Errors: usage 2, bad input 1 with the place named.
set +e
"$CFX" validate --statistics "$T/st_new" >/dev/null 2>&1; rc=$?
[ "$rc" = 2 ] || fail "usage: exit $rc"
printf 'feature {\n  name: "x"\n  bogus: 1\n}\n' >"$T/bad.pbtxt"
"$CFX" validate --statistics "$T/st_new" --schema "$T/bad.pbtxt" --output "$T/an5" 2>"$T/err"; rc=$?
[ "$rc" = 1 ] || fail "bad schema: exit $rc"
grep -q 'bad.pbtxt' "$T/err" && grep -q '3:' "$T/err" || fail "error should name file and line: $(cat "$T/err")"
mkdir -p "$T/garbage/Split-train"
printf 'not a protobuf \377\377\377' >"$T/garbage/Split-train/FeatureStats.pb"
"$CFX" validate --statistics "$T/garbage" --schema "$SC" --output "$T/an6" 2>"$T/err"; rc=$?
[ "$rc" = 1 ] || fail "corrupt statistics: exit $rc"
grep -q 'FeatureStats.pb: not a binary DatasetFeatureStatisticsList' "$T/err" \
    || fail "corrupt statistics message: $(cat "$T/err")"
"$CFX" schema --statistics "$T/nowhere" --output "$T/x" 2>/dev/null; rc=$?
[ "$rc" = 1 ] || fail "missing statistics: exit $rc"
"$CFX" show "$T/train.csv" >/dev/null 2>&1; rc=$?
[ "$rc" = 1 ] || fail "show of a CSV: exit $rc"
set -e
echo "schema_validate_test: ok"
