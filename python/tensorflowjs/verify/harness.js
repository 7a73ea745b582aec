// Loads a converted model from disk in real TF.js and runs it: the way users will.
// Shipped in the package for `tensorflowjs_converter --verify` (driven by harness.py) and
// used by the tests through tests/e2e/tfjs_e2e.py. NODE_PATH names the node_modules.
//
//   node harness.js REQUEST.json  ->  JSON on stdout
//
// REQUEST: {"model_dir", "backend": "cpu"|"wasm",
//           "inputs": [{"name"?, "dtype", "shape", "data": flat list}],
//           "output_names"?: [...]}
// Reply:   {"kind": "layers"|"graph", "outputs": [{"name", "dtype", "shape", "data"}]}
// Tensors are encoded as tensor_codec.js says.
//
// Batch mode, many models in one Node process:
//   REQUEST: {"batch": [REQUEST, ...]}  ->  {"results": [Reply | {"error": message}, ...]}
'use strict';

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const {toTensor, fromTensor, isLayersModel} = require('./tensor_codec.js')(tf);

function fileHandler(modelDir) {
  return {
    async load() {
      const json = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const buffers = [];
        for (const group of manifest) {
          for (const shard of group.paths) {
            const bytes = fs.readFileSync(path.join(modelDir, shard));
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
          }
        }
        return [tf.io.getWeightSpecs(manifest), tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

async function setBackend(name) {
  if (name === 'wasm') {
    wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), path.sep));
  }
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
}

async function run(request) {
  await setBackend(request.backend || 'cpu');
  const json = JSON.parse(fs.readFileSync(path.join(request.model_dir, 'model.json'), 'utf8'));
  const inputs = request.inputs.map(toTensor);
  if (isLayersModel(json)) {
    const model = await tf.loadLayersModel(fileHandler(request.model_dir));
    let outputs = model.predict(inputs.length === 1 ? inputs[0] : inputs);
    outputs = Array.isArray(outputs) ? outputs : [outputs];
    const names = model.outputNames;
    return {kind: 'layers', outputs: await Promise.all(outputs.map((t, i) => fromTensor(names[i], t)))};
  }
  const model = await tf.loadGraphModel(fileHandler(request.model_dir));
  const feed = {};
  request.inputs.forEach((input, i) => {
    feed[input.name || model.inputs[i].name] = inputs[i];
  });
  const names = request.output_names || model.outputs.map((o) => o.name);
  let outputs = await model.executeAsync(feed, names);
  outputs = Array.isArray(outputs) ? outputs : [outputs];
  return {kind: 'graph', outputs: await Promise.all(outputs.map((t, i) => fromTensor(names[i], t)))};
}

async function runBatch(requests) {
  const results = [];
  for (const request of requests) {
    try {
      results.push(await run(request));
    } catch (error) {
      results.push({error: String(error.stack || error)});
    }
    tf.disposeVariables();
  }
  return {results};
}

const request = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
(request.batch ? runBatch(request.batch) : run(request))
  .then((reply) => process.stdout.write(JSON.stringify(reply)))
  .catch((error) => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exit(1);
  });
