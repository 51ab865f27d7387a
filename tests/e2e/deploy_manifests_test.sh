#!/usr/bin/env bash
# deploy_manifests_test.sh: the Kubernetes manifests of deploy/, offline.
#   1. `kubectl kustomize` renders deploy/ and deploy/kserve/ (without
#      kubectl the files are read as they are);
#   2. tests/e2e/deploy_check.py checks the fields cfx relies on and the
#      references between the objects (it fails on a readiness path or a
#      Service port name broken on purpose, checked here too);
#   3. cfx-serve runs with the Deployment's exact arguments, then with the
#      ServingRuntime's ({{.Name}} = taxi), their paths (/models, /etc/cfx,
#      /mnt/models) under a temporary folder: every probe path answers 200
#      on its port, /metrics answers (the Prometheus annotations), a predict
#      works, and SIGTERM (after the preStop) ends it with status 0 within
#      the termination grace period. As root the servers run in a private
#      network namespace on the manifests' own ports; otherwise those two
#      flags are swapped for free ports.
# Kubernetes' schema itself is not checked: kubectl validates only against
# a cluster's API server.
set -eEuo pipefail
FAIL_LOG_LINES=30
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
SRC=$CFX_SOURCE_DIR
$PY -c 'import yaml' 2>/dev/null || fail "python3-yaml is not installed (scripts/install-deps.sh)"
VERSION=$(sed -n 's/^project(cfx VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
[ -n "$VERSION" ] || fail "no project version in CMakeLists.txt"

render() { # DIR OUT
    if command -v kubectl >/dev/null; then
        kubectl kustomize "$1" >"$2" 2>"$T/kustomize.err" || fail "kubectl kustomize $1: $(cat "$T/kustomize.err")"
    else
        echo "deploy_manifests_test: kubectl not installed; reading $1 without kustomize"
        for f in $(sed -n 's/^  - \(.*\.yaml\)$/\1/p' "$1/kustomization.yaml"); do
            cat "$1/$f"
            echo "---"
        done >"$2"
    fi
}
render "$SRC/deploy" "$T/deploy.yaml"
render "$SRC/deploy/kserve" "$T/kserve.yaml"
mkdir "$T/out"
$PY "$SRC/tests/e2e/deploy_check.py" "$T/deploy.yaml" "$T/kserve.yaml" "$SRC/Containerfile" "$VERSION" "$T/out" ||
    fail "deploy_check.py on deploy/"

# The checks bite: a readiness path and a Service port name broken.
sed 's#path: /v1/ready#path: /v1/readyz#' "$T/deploy.yaml" >"$T/bad1.yaml"
sed 's#targetPort: grpc#targetPort: grpcx#' "$T/deploy.yaml" >"$T/bad2.yaml"
for b in bad1 bad2; do
    if $PY "$SRC/tests/e2e/deploy_check.py" "$T/$b.yaml" "$T/kserve.yaml" "$SRC/Containerfile" "$VERSION" \
        "$T/out" >"$T/$b.log" 2>&1; then
        fail "deploy_check.py passed $b"
    fi
    grep -q 'FAIL: .*\(readiness\|targetPort\)' "$T/$b.log" || fail "$b failed for another reason: $(cat "$T/$b.log")"
done

# A model where the pods would find it: /models/taxi (the claim) for the
# Deployment, /mnt/models for KServe.
taxi_data
taxi_train "$T/train" 60 10 1
R=$T/root
mkdir -p "$R/models/taxi" "$R/mnt/models" "$R/etc/cfx"
cp -r "$T/train/model" "$R/models/taxi/1"
cp -r "$T/train/model" "$R/mnt/models/1"
cp "$T/out/monitoring.txt" "$R/etc/cfx/monitoring.txt"
ROW=$(sed -n 1p "$T/train/model/assets.extra/warmup.jsonl")
echo "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW]}" >"$T/body.json"
read -r GRACE PRESTOP <"$T/out/stop"

NETNS=0
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -n true 2>/dev/null; then NETNS=1; fi

# run_args NAME ARGS_FILE PROBES...: serves with those arguments, checks
# each "PATH PORT" probe answers 200, /metrics, a predict, and SIGTERM.
cat >"$T/run.sh" <<'EOF'
set -euo pipefail
name=$1 args=$2 netns=$3 T=$4 R=$5 SERVE=$6 budget=$7
shift 7
ip link set lo up 2>/dev/null || true
mapfile -t A <"$args"
for i in "${!A[@]}"; do
    A[i]=${A[i]//\{\{.Name\}\}/taxi}
    A[i]=${A[i]//=\/models/=$R\/models}
    A[i]=${A[i]//=\/mnt\/models/=$R\/mnt\/models}
    A[i]=${A[i]//=\/etc\/cfx/=$R\/etc\/cfx}
    if [ "$netns" = 0 ]; then
        case ${A[i]} in --port=*) A[i]=--port=0 ;; --rest_api_port=*) A[i]=--rest_api_port=auto ;; esac
    fi
done
"$SERVE" "${A[@]}" >"$T/$name.log" 2>&1 &
S=$!
REST=
for _ in $(seq 1 400); do
    REST=$(sed -n 's/.*Exporting HTTP\/REST API at:localhost:\([0-9]*\).*/\1/p' "$T/$name.log")
    [ -n "$REST" ] && break
    kill -0 "$S" 2>/dev/null || { echo "FAIL: $name: cfx-serve exited: $(tail -5 "$T/$name.log")"; exit 1; }
    sleep 0.05
done
[ -n "$REST" ] || { echo "FAIL: $name: no REST port"; kill -9 "$S"; exit 1; }
for probe in "$@"; do
    path=${probe% *}
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$REST$path")
    [ "$code" = 200 ] || { echo "FAIL: $name: probe $path answered $code"; kill -9 "$S"; exit 1; }
done
P=$(curl -sf -d @"$T/body.json" "http://127.0.0.1:$REST/v1/models/taxi:predict" || true)
grep -q '"predictions"' <<<"$P" || { echo "FAIL: $name: predict: $P"; kill -9 "$S"; exit 1; }
M=$(curl -sf "http://127.0.0.1:$REST/metrics" || true)
grep -q '^:tensorflow:serving:' <<<"$M" || { echo "FAIL: $name: no metrics at /metrics"; kill -9 "$S"; exit 1; }
t0=$(date +%s%N)
kill -TERM "$S"
rc=0; wait "$S" || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$rc" = 0 ] || { echo "FAIL: $name: exit status $rc after SIGTERM"; exit 1; }
[ "$ms" -le $((budget * 1000)) ] || { echo "FAIL: $name: SIGTERM took $ms ms, budget $budget s"; exit 1; }
echo "$name: REST port $REST, probes 200, metrics, predict; SIGTERM exit 0 in $ms ms"
EOF
mapfile -t PROBES < <(awk '{print $2 " " $3}' "$T/out/probes")
run() {
    if [ "$NETNS" = 1 ]; then
        unshare -n bash "$T/run.sh" "$@"
    else
        bash "$T/run.sh" "$@"
    fi
}
run deployment "$T/out/deployment.args" "$NETNS" "$T" "$R" "$CFX_SERVE" $((GRACE - PRESTOP)) "${PROBES[@]}" ||
    fail "the Deployment's cfx-serve"
run servingruntime "$T/out/servingruntime.args" "$NETNS" "$T" "$R" "$CFX_SERVE" $((GRACE - PRESTOP)) "/v1/ready 8080" ||
    fail "the ServingRuntime's cfx-serve"
if [ "$NETNS" = 1 ]; then
    grep -q 'localhost:8501 ' "$T/deployment.log" || fail "the Deployment's server is not on 8501"
    grep -q 'localhost:8080 ' "$T/servingruntime.log" || fail "the ServingRuntime's server is not on 8080"
    echo "deploy_manifests_test: OK (the manifests' own ports, in a private network namespace)"
else
    echo "deploy_manifests_test: OK (ports swapped for free ones: not root)"
fi
