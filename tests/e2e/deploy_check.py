#!/usr/bin/python3
"""deploy_check.py: offline checks of the Kubernetes manifests of deploy/.

usage: deploy_check.py RENDERED.yaml KSERVE.yaml CONTAINERFILE VERSION OUT_DIR
  RENDERED.yaml  `kubectl kustomize deploy/` (or the files concatenated)
  KSERVE.yaml    `kubectl kustomize deploy/kserve/`
  CONTAINERFILE  the Containerfile (USER and the image's files)
  VERSION        the project version (image tag)
  OUT_DIR        where to write what the caller runs: deployment.args and
                 servingruntime.args (one argument a line), monitoring.txt
                 (the ConfigMap's file), probes (name path port lines),
                 stop (the termination grace period and the preStop sleep)

Kubernetes' own schema cannot be had offline (kubectl validates against a
server's OpenAPI document), so this checks the fields cfx relies on and the
references between objects: selectors, port names, probe paths, volumes,
the claim and ConfigMap names, the autoscaler's target, resource limits,
the non-root user, the KServe runtime and InferenceService. Each failure
names the object and field; exit 1 on the first.
"""
import os
import re
import sys

import yaml


def fail(msg):
    print("deploy_check: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def need(cond, msg):
    if not cond:
        fail(msg)


def get(obj, path, where):
    cur = obj
    for k in path.split("."):
        if isinstance(cur, list):
            k = int(k)
            need(k < len(cur), "%s: no %s" % (where, path))
            cur = cur[k]
        else:
            need(isinstance(cur, dict) and k in cur, "%s: no %s" % (where, path))
            cur = cur[k]
    return cur


def quantity(q):
    """CPU in cores or memory in bytes from a Kubernetes quantity."""
    m = re.fullmatch(r"([0-9.]+)(m|Ki|Mi|Gi|Ti|k|M|G)?", str(q))
    need(m, "bad quantity %r" % q)
    n, unit = float(m.group(1)), m.group(2) or ""
    mult = {"": 1, "m": 1e-3, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30,
            "Ti": 1 << 40, "k": 1e3, "M": 1e6, "G": 1e9}[unit]
    return n * mult


def flags(args):
    out = {}
    for a in args:
        need(a.startswith("--") and "=" in a, "argument %r is not --flag=value" % a)
        k, v = a[2:].split("=", 1)
        out[k] = v
    return out


def check_container(c, where, uid, named_ports):
    need(c.get("command") == ["/usr/bin/cfx-serve"], "%s: command is not /usr/bin/cfx-serve" % where)
    res = get(c, "resources", where)
    for kind in ("requests", "limits"):
        for r in ("cpu", "memory"):
            need(r in res.get(kind, {}), "%s: no resources.%s.%s" % (where, kind, r))
    need(quantity(res["requests"]["cpu"]) <= quantity(res["limits"]["cpu"]), where + ": cpu request > limit")
    need(quantity(res["requests"]["memory"]) <= quantity(res["limits"]["memory"]),
         where + ": memory request > limit")
    sc = c.get("securityContext", {})
    need(sc.get("allowPrivilegeEscalation") is False, where + ": allowPrivilegeEscalation not false")
    need(sc.get("capabilities", {}).get("drop") == ["ALL"], where + ": capabilities not dropped")
    for p in ("readinessProbe",):
        probe = get(c, p, where)
        need(get(probe, "httpGet.path", where + "." + p) == "/v1/ready", "%s.%s: path is not /v1/ready" % (where, p))
        port = get(probe, "httpGet.port", where + "." + p)
        if isinstance(port, str):
            need(port in named_ports, "%s.%s: port %s names no container port" % (where, p, port))
    return res


def main():
    rendered, kserve, containerfile, version, out = sys.argv[1:6]
    docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
    by = {}
    for d in docs:
        by.setdefault(d["kind"], []).append(d)
    for k in ("PersistentVolumeClaim", "ConfigMap", "Deployment", "Service",
              "HorizontalPodAutoscaler", "PodDisruptionBudget"):
        need(k in by, "no %s in %s" % (k, rendered))
    api = {"Deployment": "apps/v1", "Service": "v1", "ConfigMap": "v1",
           "PersistentVolumeClaim": "v1", "HorizontalPodAutoscaler": "autoscaling/v2",
           "PodDisruptionBudget": "policy/v1"}
    for d in docs:
        need(api.get(d["kind"]) == d["apiVersion"], "%s has apiVersion %s" % (d["kind"], d["apiVersion"]))

    # The user of the image (Containerfile USER uid:gid).
    cf = open(containerfile).read()
    m = re.search(r"^USER (\d+):(\d+)$", cf, re.M)
    need(m, "Containerfile: no numeric USER uid:gid")
    uid, gid = int(m.group(1)), int(m.group(2))

    (dep,) = by["Deployment"]
    w = "Deployment/" + dep["metadata"]["name"]
    sel = get(dep, "spec.selector.matchLabels", w)
    labels = get(dep, "spec.template.metadata.labels", w)
    need(all(labels.get(k) == v for k, v in sel.items()), w + ": selector does not match the pod labels")
    pod = get(dep, "spec.template.spec", w)
    psc = pod.get("securityContext", {})
    need(psc.get("runAsNonRoot") is True, w + ": runAsNonRoot not true")
    need(psc.get("runAsUser") == uid and psc.get("runAsGroup") == gid,
         "%s: runAsUser/runAsGroup %s/%s, the image's USER is %d:%d"
         % (w, psc.get("runAsUser"), psc.get("runAsGroup"), uid, gid))
    (c,) = get(pod, "containers", w)
    cw = w + " container " + c["name"]
    need(c["image"] == "cfx-serve:" + version, "%s: image %s, not cfx-serve:%s" % (cw, c["image"], version))
    ports = {p["name"]: p["containerPort"] for p in get(c, "ports", cw)}
    need(set(ports) == {"grpc", "http"}, cw + ": ports are not grpc and http")
    res = check_container(c, cw, uid, ports)
    fl = flags(get(c, "args", cw))
    need(int(fl["port"]) == ports["grpc"] and int(fl["rest_api_port"]) == ports["http"],
         cw + ": --port/--rest_api_port differ from the container ports")
    need(int(fl.get("max_inflight_bytes", 1 << 30)) < quantity(res["limits"]["memory"]),
         cw + ": --max_inflight_bytes not below the memory limit")
    need(float(fl["num_threads"]) <= quantity(res["limits"]["cpu"]), cw + ": more threads than CPUs")
    probes = []
    for p in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = get(c, p, cw)
        port = get(probe, "httpGet.port", cw + "." + p)
        need(port in ports, "%s.%s: port %s names no container port" % (cw, p, port))
        probes.append("%s %s %s" % (p, probe["httpGet"]["path"], port))
    need(get(c, "livenessProbe.httpGet.path", cw) == "/v1/models/" + fl["model_name"],
         cw + ": liveness is not the served model's status")
    need(get(c, "startupProbe.httpGet.path", cw) == "/v1/ready", cw + ": startupProbe is not /v1/ready")
    stop = get(c, "lifecycle.preStop.exec.command", cw)
    need(os.path.isabs(stop[0]) and os.access(stop[0], os.X_OK),
         "%s: preStop runs %s, not an executable here" % (cw, stop[0]))
    need(stop[0] == "/bin/sleep" and len(stop) == 2, cw + ": preStop is not a sleep")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    # preStop, then the drain: in-flight requests and a 1 s grace.
    need(grace >= int(stop[1]) + 1 + 5, "%s: terminationGracePeriodSeconds %d too short for preStop %s s + drain"
         % (w, grace, stop[1]))
    mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    need(set(mounts) == set(vols), "%s: mounts %s, volumes %s" % (w, sorted(mounts), sorted(vols)))
    need(fl["model_base_path"].startswith(mounts["models"]["mountPath"] + "/"),
         cw + ": --model_base_path is not on the models volume")
    need(mounts["models"].get("readOnly") is True, cw + ": models not mounted read-only")
    claims = {p["metadata"]["name"]: p for p in by["PersistentVolumeClaim"]}
    need(vols["models"]["persistentVolumeClaim"]["claimName"] in claims, w + ": claim not in deploy/")
    need("ReadWriteMany" in claims[vols["models"]["persistentVolumeClaim"]["claimName"]]["spec"]["accessModes"],
         "the models claim is not ReadWriteMany (the pusher writes, every replica reads)")
    cms = {m["metadata"]["name"]: m for m in by["ConfigMap"]}
    cm = cms.get(vols["config"]["configMap"]["name"])
    need(cm is not None, w + ": ConfigMap not in deploy/")
    mon = fl["monitoring_config_file"]
    need(mon.startswith(mounts["config"]["mountPath"] + "/") and os.path.basename(mon) in cm["data"],
         cw + ": --monitoring_config_file is not a file of the ConfigMap")
    ann = get(dep, "spec.template.metadata.annotations", w)
    need(ann.get("prometheus.io/port") == str(ports["http"]), w + ": prometheus.io/port is not the REST port")
    need(re.search(r'path:\s*"%s"' % re.escape(ann["prometheus.io/path"]), cm["data"][os.path.basename(mon)]),
         w + ": prometheus.io/path differs from the monitoring config's path")
    strat = get(dep, "spec.strategy.rollingUpdate", w)
    need(strat.get("maxUnavailable") == 0, w + ": a rollout may take a replica down first")

    for s in by["Service"]:
        sw = "Service/" + s["metadata"]["name"]
        need(all(labels.get(k) == v for k, v in get(s, "spec.selector", sw).items()),
             sw + ": selector does not match the pods")
        for p in get(s, "spec.ports", sw):
            need(p["targetPort"] in ports, "%s: targetPort %s names no container port" % (sw, p["targetPort"]))
            if p["targetPort"] == "grpc":
                need(p.get("appProtocol") == "kubernetes.io/h2c", sw + ": gRPC port without appProtocol h2c")

    (hpa,) = by["HorizontalPodAutoscaler"]
    hw = "HorizontalPodAutoscaler/" + hpa["metadata"]["name"]
    ref = get(hpa, "spec.scaleTargetRef", hw)
    need(ref == {"apiVersion": "apps/v1", "kind": "Deployment", "name": dep["metadata"]["name"]},
         hw + ": scaleTargetRef is not the Deployment")
    lo, hi = hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]
    need(1 <= lo <= hi, hw + ": minReplicas/maxReplicas")
    need(dep["spec"]["replicas"] == lo, w + ": replicas differ from the autoscaler's minimum")
    (metric,) = get(hpa, "spec.metrics", hw)
    need(metric["type"] == "Resource" and metric["resource"]["name"] == "cpu", hw + ": not on CPU")
    (pdb,) = by["PodDisruptionBudget"]
    pw = "PodDisruptionBudget/" + pdb["metadata"]["name"]
    need(all(labels.get(k) == v for k, v in get(pdb, "spec.selector.matchLabels", pw).items()),
         pw + ": selector does not match the pods")
    need(pdb["spec"]["minAvailable"] < lo, pw + ": minAvailable leaves no replica to evict")

    # KServe.
    kdocs = [d for d in yaml.safe_load_all(open(kserve)) if d]
    rts = [d for d in kdocs if d["kind"] == "ServingRuntime"]
    isvcs = [d for d in kdocs if d["kind"] == "InferenceService"]
    need(len(rts) == 1 and len(isvcs) == 1, "deploy/kserve: one ServingRuntime and one InferenceService")
    rt, isvc = rts[0], isvcs[0]
    rw = "ServingRuntime/" + rt["metadata"]["name"]
    need(rt["apiVersion"] == "serving.kserve.io/v1alpha1", rw + ": apiVersion")
    need(isvc["apiVersion"] == "serving.kserve.io/v1beta1", "InferenceService: apiVersion")
    fmts = get(rt, "spec.supportedModelFormats", rw)
    need(all("name" in f for f in fmts), rw + ": a supportedModelFormats entry without name")
    need(set(get(rt, "spec.protocolVersions", rw)) <= {"v1", "v2", "grpc-v1", "grpc-v2"}, rw + ": protocolVersions")
    need("v1" in rt["spec"]["protocolVersions"], rw + ": not TF Serving's protocol (v1)")
    (kc,) = get(rt, "spec.containers", rw)
    kw = rw + " container"
    need(kc["name"] == "kserve-container", kw + ": KServe wants the name kserve-container")
    need(kc["image"] == "cfx-serve:" + version, kw + ": image")
    check_container(kc, kw, uid, {})
    need(kc["securityContext"].get("runAsUser") == uid and kc["securityContext"].get("runAsNonRoot") is True,
         kw + ": not the image's non-root user")
    kfl = flags(kc["args"])
    need(kfl["model_name"] == "{{.Name}}", kw + ": --model_name is not {{.Name}}")
    need(kfl["model_base_path"] == "/mnt/models", kw + ": --model_base_path is not /mnt/models")
    need(kc["readinessProbe"]["httpGet"]["port"] == int(kfl["rest_api_port"]), kw + ": readiness not on REST")
    need(rt["spec"]["annotations"]["prometheus.kserve.io/port"] == kfl["rest_api_port"],
         rw + ": prometheus.kserve.io/port is not the REST port")
    need(re.search(r"echo '.*path: \"%s\".*' *>%s" % (re.escape(rt["spec"]["annotations"]["prometheus.kserve.io/path"]),
                                                     re.escape(kfl["monitoring_config_file"])), cf),
         rw + ": --monitoring_config_file is not the image's file with that metrics path")
    model = get(isvc, "spec.predictor.model", "InferenceService")
    need(model["runtime"] == rt["metadata"]["name"], "InferenceService: runtime is not " + rt["metadata"]["name"])
    need(model["modelFormat"]["name"] in [f["name"] for f in fmts], "InferenceService: format not supported")
    need(re.fullmatch(r"pvc://%s/.+" % re.escape(vols["models"]["persistentVolumeClaim"]["claimName"]),
                      model["storageUri"]), "InferenceService: storageUri is not on the models claim")

    with open(os.path.join(out, "deployment.args"), "w") as f:
        f.write("\n".join(c["args"]) + "\n")
    with open(os.path.join(out, "servingruntime.args"), "w") as f:
        f.write("\n".join(kc["args"]) + "\n")
    with open(os.path.join(out, "monitoring.txt"), "w") as f:
        f.write(cm["data"][os.path.basename(mon)])
    with open(os.path.join(out, "stop"), "w") as f:
        f.write("%d %s\n" % (grace, stop[1]))
    with open(os.path.join(out, "probes"), "w") as f:
        f.write("\n".join(probes) + "\n")
    print("deploy_check: OK (%d objects in deploy/, %d in deploy/kserve)" % (len(docs), len(kdocs)))


main()
