// @kubernetes/client-node through the 1.35 server: KubernetesObjectApi
// resolves MutatingAdmissionPolicy (apiVersion + kind) through legacy
// discovery and creates, reads, lists and deletes one; a Watch sees it
// ADDED and DELETED. Arguments: kubeconfig, a MAP as JSON.
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';

const [kubeconfig, mapFile] = process.argv.slice(2);
const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfig);
const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
const body = JSON.parse(readFileSync(mapFile, 'utf8'));
const { apiVersion, kind } = body;
const name = body.metadata.name;
const path = '/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies';

function check(cond, what) {
  if (!cond) {
    throw new Error(`check failed: ${what}`);
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const resource = await objects.resource(apiVersion, kind);
check(resource && resource.name === 'mutatingadmissionpolicies' && !resource.namespaced,
  `discovery found ${JSON.stringify(resource)}`);

const created = await objects.create(body);
check(created.metadata.uid, `created ${JSON.stringify(created)}`);
const read = await objects.read({ apiVersion, kind, metadata: { name } });
check(read.spec.failurePolicy === body.spec.failurePolicy, `read ${JSON.stringify(read.spec)}`);
const list = await objects.list(apiVersion, kind);
const names = list.items.map((i) => i.metadata.name);
check(names.length === 1 && names[0] === name, `listed ${names}`);

// A watch without a resourceVersion starts with the existing objects
// (ADDED), so its first event proves it is established before the delete.
const seen = [];
let request;
const watched = new Promise((resolve, reject) => {
  new k8s.Watch(kc).watch(path, {}, (type, obj) => {
    seen.push(`${type} ${obj.metadata.name}`);
    if (type === 'ADDED' && obj.metadata.name === name) {
      objects.delete({ apiVersion, kind, metadata: { name } }).catch(reject);
    }
    if (type === 'DELETED' && obj.metadata.name === name) {
      resolve();
    }
  }, (err) => {
    if (err) {
      reject(err);
    }
  }).then((r) => { request = r; }, reject);
});
await withTimeout(watched, 60000, `the watch's ADDED and DELETED, saw ${seen}`);
request?.abort();
check(seen.includes(`ADDED ${name}`) && seen.includes(`DELETED ${name}`), `watch saw ${seen}`);
const after = await objects.list(apiVersion, kind);
check(after.items.length === 0, `left ${after.items.map((i) => i.metadata.name)}`);
console.log('client-node passed');
