// Validates Kubernetes objects against the API's OpenAPI schemas, offline, with the
// kubernetes-models packages (JSON Schema through ajv): types, required fields, enums, formats.
// (The schemas allow unknown fields; tests/k8s_test.py checks the fields that matter.)
//   node validate.mjs objects.json     (a JSON array of objects); exit 1 if any is invalid.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

// K8S_MODELS_DIR: the node_modules folder that holds the packages.
const modules = process.env.K8S_MODELS_DIR;
const objects = JSON.parse(readFileSync(process.argv[2], "utf8"));
let failed = 0;
for (const o of objects) {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  const pkg = group.endsWith("coreos.com") ? "@kubernetes-models/prometheus-operator" : "kubernetes-models";
  const spec = `${pkg}/${group ? group + "/" : ""}${version}/${o.kind}`;
  const name = `${o.kind}/${o.metadata.name}`;
  try {
    const url = pathToFileURL(`${modules}/${spec}.js`).href;
    const Model = (await import(url))[o.kind];
    new Model(o).validate();
    console.log(`PASS ${name} validates against ${o.apiVersion} ${o.kind}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${String(e.message).slice(0, 500)}`);
  }
}
process.exit(failed ? 1 : 0);
