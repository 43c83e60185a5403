#!/usr/bin/env node
// deploy/ci/validate-k8s.mjs - validate rendered Kubernetes manifests offline.
//
//   node deploy/ci/validate-k8s.mjs [--quiet] FILE.yaml...
//
// 1. Every object is checked against its schema: the Kubernetes OpenAPI schemas (npm
//    kubernetes-models) and the prometheus-operator CRD schemas (@kubernetes-models/prometheus-operator).
//    It fails closed: an apiVersion/kind without a schema, or one the target Kubernetes no longer
//    serves (extensions/v1beta1, policy/v1beta1, autoscaling/v2beta2...), is an error.
// 2. What the schemas leave out but the API server or the cluster would reject or silently break:
//    DNS-1123 names, label syntax, port ranges and IANA port names, duplicate objects, selectors that
//    match no pod template (workload, Service, PodDisruptionBudget, ServiceMonitor), named ports and
//    volumes that do not exist, an HPA or StatefulSet pointing at a missing object.
// 3. The pod security baseline this project promises (Pod Security Standard "restricted"): non-root,
//    no privilege escalation, all capabilities dropped, RuntimeDefault seccomp, read-only root fs.
//
// Prints one line per problem and "N objects passed, M failed"; exit status 1 on any problem.
// The npm packages come from deploy/ci/package.json (deploy/ci/setup installs them); their folder
// is $IOMT_NODE_MODULES, else deploy/ci/node_modules.
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const nodeModules = process.env.IOMT_NODE_MODULES || join(here, "node_modules");
const load = (rel) => import(pathToFileURL(join(nodeModules, rel)).href);
const YAML = await load("yaml/dist/index.js");

const args = process.argv.slice(2);
const quiet = args.includes("--quiet");
const files = args.filter((a) => a !== "--quiet");
if (files.length === 0) {
  console.error("usage: validate-k8s.mjs [--quiet] FILE.yaml...");
  process.exit(2);
}

// API versions removed from Kubernetes (1.22, 1.25, 1.26): the schemas still exist in the models.
const removed = new Set([
  "extensions/v1beta1", "apps/v1beta1", "apps/v1beta2", "policy/v1beta1", "autoscaling/v2beta1",
  "autoscaling/v2beta2", "batch/v1beta1", "networking.k8s.io/v1beta1", "rbac.authorization.k8s.io/v1beta1",
  "storage.k8s.io/v1beta1", "flowcontrol.apiserver.k8s.io/v1beta1", "flowcontrol.apiserver.k8s.io/v1beta2",
]);

async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) return null;
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const candidates = group === "monitoring.coreos.com"
    ? [`@kubernetes-models/prometheus-operator/${group}/${version}/${kind}.js`]
    : [`kubernetes-models/${group ? `${group}/` : ""}${version}/${kind}.js`];
  for (const rel of candidates) {
    if (!existsSync(join(nodeModules, rel))) continue;
    const mod = await load(rel);
    const M = mod[kind];
    if (M && M.apiVersion === apiVersion && M.kind === kind) return M;
  }
  return null;
}

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const labelName = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const ianaSvcName = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
// Kinds whose names must be DNS-1123 labels (63 chars, no dots); the rest are subdomains.
const labelNamed = new Set(["Service", "Namespace", "StatefulSet", "Deployment", "Pod"]);

const objects = [];  // {file, index, obj}
let failed = 0;
const problems = new Map();  // object key -> [messages]
const keyOf = (o, file, i) => `${file}#${i} ${o?.apiVersion ?? "?"}/${o?.kind ?? "?"} ${o?.metadata?.name ?? "(no name)"}`;
const report = (key, msg) => { if (!problems.has(key)) problems.set(key, []); problems.get(key).push(msg); };

for (const file of files) {
  let docs;
  try {
    docs = YAML.parseAllDocuments(readFileSync(file, "utf8"), { uniqueKeys: true });
  } catch (e) {
    console.log(`FAIL ${file}: ${e.message}`);
    failed++;
    continue;
  }
  docs.forEach((doc, i) => {
    const key = `${file}#${i}`;
    if (doc.errors.length) { report(key, `YAML: ${doc.errors.map((e) => e.message).join("; ")}`); return; }
    const obj = doc.toJS();
    if (obj === null || obj === undefined) return;  // empty document (e.g. a disabled template)
    objects.push({ file, index: i, obj, key: keyOf(obj, file, i) });
  });
}

const labelsOk = (key, where, labels) => {
  if (labels === undefined) return;
  if (typeof labels !== "object" || labels === null) { report(key, `${where} must be a map`); return; }
  for (const [k, v] of Object.entries(labels)) {
    const [prefix, name] = k.includes("/") ? k.split(/\/(.*)/s) : [null, k];
    if ((prefix !== null && (!dns1123Subdomain.test(prefix) || prefix.length > 253)) || !labelName.test(name) || name.length > 63)
      report(key, `${where}: invalid label key '${k}'`);
    if (typeof v !== "string" || !labelValue.test(v) || v.length > 63) report(key, `${where}: invalid label value '${k}: ${v}'`);
  }
};
const matches = (selector, labels) =>
  selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => (labels ?? {})[k] === v);

// ---- 1. schemas --------------------------------------------------------------------------------
for (const { obj, key } of objects) {
  if (typeof obj !== "object" || Array.isArray(obj)) { report(key, "not a Kubernetes object (a YAML mapping)"); continue; }
  if (removed.has(obj.apiVersion)) { report(key, `apiVersion ${obj.apiVersion} is no longer served by Kubernetes`); continue; }
  const M = await modelFor(obj.apiVersion, obj.kind);
  if (!M) { report(key, `no schema for ${obj.apiVersion}/${obj.kind} (unknown kinds fail closed)`); continue; }
  try {
    new M(obj).validate();
  } catch (e) {
    const details = (e.errors ?? []).map((x) => `${x.instancePath || "/"} ${x.message}${x.params?.allowedValues ? ` (${x.params.allowedValues.join(", ")})` : ""}`);
    report(key, `schema: ${details.length ? details.join("; ") : e.message}`);
  }
}

// ---- 2. what the schemas leave out -------------------------------------------------------------
const seen = new Set();
const byKind = (kind) => objects.filter((o) => o.obj?.kind === kind);
const workloads = objects.filter((o) => ["Deployment", "StatefulSet", "DaemonSet"].includes(o.obj?.kind));
for (const { obj, key } of objects) {
  if (!obj || typeof obj !== "object" || !obj.metadata) continue;
  const { name, namespace } = obj.metadata;
  const id = `${obj.apiVersion}/${obj.kind}/${namespace ?? ""}/${name}`;
  if (seen.has(id)) report(key, `duplicate object ${id}`);
  seen.add(id);
  if (typeof name === "string") {
    const re = labelNamed.has(obj.kind) ? dns1123Label : dns1123Subdomain;
    const max = labelNamed.has(obj.kind) ? 63 : 253;
    if (!re.test(name) || name.length > max) report(key, `metadata.name '${name}' is not a DNS-1123 ${labelNamed.has(obj.kind) ? "label" : "subdomain"}`);
  }
  labelsOk(key, "metadata.labels", obj.metadata.labels);
}

function checkPodSpec(key, spec, claimNames) {
  const volumes = new Set([...(spec.volumes ?? []).map((v) => v.name), ...claimNames]);
  const podSc = spec.securityContext ?? {};
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    const where = `container ${c.name}`;
    if (typeof c.name === "string" && !dns1123Label.test(c.name)) report(key, `${where}: name is not a DNS-1123 label`);
    const portNames = new Set();
    for (const p of c.ports ?? []) {
      if (!(Number.isInteger(p.containerPort) && p.containerPort >= 1 && p.containerPort <= 65535)) report(key, `${where}: containerPort ${p.containerPort} out of range`);
      if (p.name !== undefined && (!ianaSvcName.test(p.name) || p.name.length > 15)) report(key, `${where}: port name '${p.name}' is not an IANA service name (15 chars, a-z0-9-)`);
      if (p.name) portNames.add(p.name);
    }
    for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
      const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
      if (typeof port === "string" && !portNames.has(port)) report(key, `${where}: ${probe} uses port '${port}' that the container does not declare`);
    }
    for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name)) report(key, `${where}: volumeMount '${m.name}' has no volume`);
    // Pod Security Standard "restricted" (https://kubernetes.io/docs/concepts/security/pod-security-standards/)
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) report(key, `${where}: securityContext.allowPrivilegeEscalation must be false`);
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) report(key, `${where}: securityContext.capabilities.drop must contain ALL`);
    if ((sc.capabilities?.add ?? []).some((x) => x !== "NET_BIND_SERVICE")) report(key, `${where}: only NET_BIND_SERVICE may be added`);
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) report(key, `${where}: runAsNonRoot must be true`);
    if ((sc.runAsUser ?? podSc.runAsUser) === 0) report(key, `${where}: runAsUser must not be 0`);
    if ((sc.seccompProfile?.type ?? podSc.seccompProfile?.type) !== "RuntimeDefault" && (sc.seccompProfile?.type ?? podSc.seccompProfile?.type) !== "Localhost")
      report(key, `${where}: seccompProfile.type must be RuntimeDefault or Localhost`);
    if (sc.privileged === true) report(key, `${where}: privileged`);
    if (sc.readOnlyRootFilesystem !== true) report(key, `${where}: securityContext.readOnlyRootFilesystem must be true (this project's images write only to volumes)`);
    if (!c.resources?.limits?.memory || !c.resources?.requests?.cpu) report(key, `${where}: resources.requests.cpu and resources.limits.memory are required`);
  }
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) report(key, "pod uses host namespaces");
  for (const v of spec.volumes ?? []) {
    if (v.hostPath) report(key, `volume ${v.name}: hostPath is not allowed`);
    if (v.configMap && !byKind("ConfigMap").some((o) => o.obj.metadata?.name === v.configMap.name) && v.configMap.optional !== true)
      report(key, `volume ${v.name}: ConfigMap '${v.configMap.name}' is not part of the rendered manifests`);
  }
}

for (const { obj, key } of workloads) {
  const spec = obj.spec ?? {};
  const tmpl = spec.template ?? {};
  labelsOk(key, "spec.template.metadata.labels", tmpl.metadata?.labels);
  const sel = spec.selector?.matchLabels;
  if (!matches(sel, tmpl.metadata?.labels)) report(key, "spec.selector.matchLabels does not match spec.template.metadata.labels");
  const claims = (spec.volumeClaimTemplates ?? []).map((c) => c.metadata?.name);
  if (tmpl.spec) checkPodSpec(key, tmpl.spec, claims);
  if (obj.kind === "StatefulSet") {
    const svc = byKind("Service").find((s) => s.obj.metadata?.name === spec.serviceName);
    if (!svc) report(key, `serviceName '${spec.serviceName}' is not a rendered Service`);
    else if (svc.obj.spec?.clusterIP !== "None") report(key, `serviceName '${spec.serviceName}' is not a headless Service (clusterIP: None)`);
  }
}
const podLabels = workloads.map((w) => w.obj.spec?.template?.metadata?.labels ?? {});
const podPorts = (name) => workloads.some((w) => (w.obj.spec?.template?.spec?.containers ?? []).some((c) => (c.ports ?? []).some((p) => p.name === name || p.containerPort === name)));
for (const { obj, key } of byKind("Service")) {
  const sel = obj.spec?.selector;
  if (sel && !podLabels.some((l) => matches(sel, l))) report(key, "spec.selector matches no rendered pod template");
  for (const p of obj.spec?.ports ?? []) {
    if (!(Number.isInteger(p.port) && p.port >= 1 && p.port <= 65535)) report(key, `port ${p.port} out of range`);
    if (p.targetPort !== undefined && !podPorts(p.targetPort)) report(key, `targetPort '${p.targetPort}' is no container port of the selected pods`);
  }
}
for (const { obj, key } of byKind("PodDisruptionBudget")) {
  if (!podLabels.some((l) => matches(obj.spec?.selector?.matchLabels, l))) report(key, "spec.selector matches no rendered pod template");
}
for (const { obj, key } of byKind("HorizontalPodAutoscaler")) {
  const ref = obj.spec?.scaleTargetRef ?? {};
  if (!workloads.some((w) => w.obj.kind === ref.kind && w.obj.metadata?.name === ref.name && w.obj.apiVersion === ref.apiVersion))
    report(key, `scaleTargetRef ${ref.apiVersion}/${ref.kind} ${ref.name} is not a rendered workload`);
  if ((obj.spec?.minReplicas ?? 1) > obj.spec?.maxReplicas) report(key, "minReplicas > maxReplicas");
  for (const w of workloads) if (w.obj.metadata?.name === ref.name && w.obj.spec?.replicas !== undefined)
    report(key, `${ref.kind} ${ref.name} sets spec.replicas, which fights the HorizontalPodAutoscaler`);
}
for (const { obj, key } of byKind("ServiceMonitor")) {
  const sel = obj.spec?.selector?.matchLabels;
  const svcs = byKind("Service").filter((s) => matches(sel, s.obj.metadata?.labels));
  if (svcs.length === 0) report(key, "spec.selector matches no rendered Service");
  if (svcs.length > 1) report(key, `spec.selector matches ${svcs.length} Services: every pod would be scraped ${svcs.length} times`);
  for (const ep of obj.spec?.endpoints ?? []) {
    if (ep.port && !svcs.some((s) => (s.obj.spec?.ports ?? []).some((p) => p.name === ep.port))) report(key, `endpoint port '${ep.port}' is no port name of the selected Service`);
  }
}

// ---- report ------------------------------------------------------------------------------------
let passed = 0;
for (const { key } of objects) {
  const own = [...problems.entries()].filter(([k]) => k === key || key.startsWith(`${k} `));
  if (own.length === 0) { passed++; if (!quiet) console.log(`ok   ${key}`); continue; }
  failed++;
  for (const [, msgs] of own) for (const m of msgs) console.log(`FAIL ${key}: ${m}`);
}
for (const [k, msgs] of problems) if (!objects.some((o) => o.key === k || o.key.startsWith(`${k} `))) { failed++; for (const m of msgs) console.log(`FAIL ${k}: ${m}`); }
console.log(`${passed} objects passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
