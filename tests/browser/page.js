// The page side of browser_runner.js: window.runRequest(request) loads request.model_url with the
// TF.js bundle over HTTP, as a web app does, and predicts on the asked backend.
'use strict';

const {toTensor, fromTensor, isLayersModel} = tensorCodec(tf);

async function setBackend(request) {
  if (request.backend === 'wasm') tf.wasm.setWasmPaths('/tfjs-wasm/');
  if (request.backend === 'webgl' && request.f16) tf.env().set('WEBGL_FORCE_F16_TEXTURES', true);
  if (!(await tf.setBackend(request.backend))) throw new Error(`backend ${request.backend} failed to initialise`);
  await tf.ready();
  if (tf.getBackend() !== request.backend) throw new Error(`asked for ${request.backend}, TF.js runs ${tf.getBackend()}`);
}

function webglFlags() {
  if (tf.getBackend() !== 'webgl') return {};
  return {
    WEBGL_VERSION: tf.env().getNumber('WEBGL_VERSION'),
    WEBGL_RENDER_FLOAT32_ENABLED: tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED'),
    WEBGL_FORCE_F16_TEXTURES: tf.env().getBool('WEBGL_FORCE_F16_TEXTURES'),
  };
}

window.runRequest = async function runRequest(request) {
  await setBackend(request);
  const json = await (await fetch(request.model_url)).json();
  const layers = isLayersModel(json);
  const inputs = request.inputs.map(toTensor);
  let outputs;
  let names;
  if (layers) {
    const model = await tf.loadLayersModel(request.model_url);
    outputs = model.predict(inputs.length === 1 ? inputs[0] : inputs);
    names = model.outputNames;
  } else {
    const model = await tf.loadGraphModel(request.model_url);
    const feed = {};
    request.inputs.forEach((input, i) => {
      feed[input.name || model.inputs[i].name] = inputs[i];
    });
    names = request.output_names || model.outputs.map((o) => o.name);
    outputs = await model.executeAsync(feed, names);
  }
  outputs = Array.isArray(outputs) ? outputs : [outputs];
  return {
    kind: layers ? 'layers' : 'graph',
    backend: tf.getBackend(),
    flags: webglFlags(),
    outputs: await Promise.all(outputs.map((t, i) => fromTensor(names[i], t))),
  };
};
