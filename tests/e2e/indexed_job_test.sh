#!/usr/bin/env bash
# indexed_job_test.sh: the Kubernetes example of deploy/indexed-job/
# (docs/data.md, Across machines) does what it says. Offline: kubectl reads
# every manifest (kubectl label --local parses them into API objects); the
# Indexed Jobs' completions match the parts their merges name; then every
# container's command, as the manifests spell it, runs here in order — the
# parts with JOB_COMPLETION_INDEX set as Kubernetes sets it, each init
# container, each merge — on a folder standing for the cfx-data volume, and
# the merged examples and transform output equal one `cfx examplegen` and
# one `cfx transform` run byte for byte.
set -euo pipefail
: "${CFX:?}" "${CFX_SOURCE_DIR:?}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
D=$CFX_SOURCE_DIR/deploy/indexed-job
command -v kubectl >/dev/null || fail "kubectl missing (scripts/install-deps.sh installs it)"
$PY -c 'import yaml' || fail "python3-yaml missing"

for f in "$D"/*.yaml; do
    kubectl label --local -f "$f" checked=1 -o name >"$T/names" 2>"$T/err" ||
        fail "$f: kubectl cannot read it: $(cat "$T/err")"
    echo "$(basename "$f"): $(tr '\n' ' ' <"$T/names")"
done

# The containers' commands as shell lines, in the order they run: each
# Indexed Job's container once per index, then each Job's init containers
# and container. /data is the volume; `cfx` the binary under test.
mkdir -p "$T/bin" "$T/data"
ln -s "$CFX" "$T/bin/cfx"
$PY - "$T/data" "$D/examplegen.yaml" "$D/transform.yaml" >"$T/steps.sh" <<'PYEOF'
import shlex, sys, yaml
out = []
for path in sys.argv[2:]:
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    for job in docs:
        assert job["kind"] == "Job", path
        spec = job["spec"]
        pod = spec["template"]["spec"]
        assert pod["restartPolicy"] == "Never"
        assert pod["securityContext"]["runAsNonRoot"] is True
        vols = {v["name"]: v for v in pod["volumes"]}
        assert vols["data"]["persistentVolumeClaim"]["claimName"] == "cfx-data"
        indexed = spec.get("completionMode") == "Indexed"
        n = spec["completions"] if indexed else 1
        def line(c):
            cmd = c["command"] + c.get("args", [])
            env = " ".join("%s=%s" % (e["name"], shlex.quote(e["value"]))
                           for e in c.get("env", []))
            text = " ".join(map(shlex.quote, cmd))
            text = text.replace("/data/", sys.argv[1] + "/")  # the volume
            return "env " + env + " " + text
        for c in pod.get("initContainers", []):
            out.append("timeout 20 " + line(c))  # waits: here already met
        for c in pod["containers"]:
            assert "limits" in c["resources"], job["metadata"]["name"]
            text = " ".join(c["command"] + c.get("args", []))
            if indexed:
                assert ("/%d" % n) in text, (job["metadata"]["name"], n, text)
                for i in range(n):
                    out.append("JOB_COMPLETION_INDEX=%d %s" % (i, line(c)))
            else:
                parts = text.count("--merge")
                assert parts == 3, text
                out.append(line(c))
print("\n".join(out))
PYEOF
cat "$T/steps.sh"

head -n 3001 "$CFX_SOURCE_DIR/examples/taxi/data.csv" >"$T/data/data.csv"
cp "$CFX_SOURCE_DIR/examples/taxi/transform.json" "$T/data/transform.json"
(cd "$T" && PATH="$T/bin:$PATH" bash -e "$T/steps.sh") >"$T/steps.log" 2>&1 ||
    fail "the manifests' commands: $(tail -5 "$T/steps.log")"

"$CFX" examplegen --input "$T/data/data.csv" --split train:2,eval:1 --num-shards 4 \
    --output "$T/ex" >/dev/null
diff -r "$T/ex" "$T/data/examples" >/dev/null || fail "merged examples differ from one run"
"$CFX" transform --examples "$T/ex" --spec "$T/data/transform.json" --output "$T/tf" >/dev/null
diff -r "$T/tf" "$T/data/transform/out" >/dev/null || fail "merged transform differs from one run"
echo "PASS: deploy/indexed-job parsed by kubectl; its commands, run in order, equal single runs"
