// How tensors travel as JSON between Python and TF.js, shared by harness.js (Node) and the
// browser tests' page (tests/browser/page.js): {"name"?, "dtype", "shape", "data": flat list},
// non-finite numbers as the strings "NaN", "Infinity", "-Infinity", complex64 as re, im pairs.
// Node: require('./tensor_codec.js')(tf); a page: tensorCodec(tf) after loading this file.
'use strict';

function tensorCodec(tf) {
  function decodeNumber(value) {
    if (value === 'NaN') return NaN;
    if (value === 'Infinity') return Infinity;
    if (value === '-Infinity') return -Infinity;
    return value;
  }

  function encodeNumber(value) {
    return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
  }

  function toTensor(input) {
    const data = input.dtype === 'string' ? input.data : input.data.map(decodeNumber);
    if (input.dtype === 'complex64') {
      const real = data.filter((_, i) => i % 2 === 0);
      const imag = data.filter((_, i) => i % 2 === 1);
      return tf.complex(tf.tensor(real, input.shape), tf.tensor(imag, input.shape));
    }
    return tf.tensor(data, input.shape, input.dtype);
  }

  async function fromTensor(name, tensor) {
    let data;
    if (tensor.dtype === 'complex64') {
      const [re, im] = [await tf.real(tensor).data(), await tf.imag(tensor).data()];
      data = [];
      for (let i = 0; i < re.length; ++i) data.push(re[i], im[i]);
    } else if (tensor.dtype === 'string') {
      data = Array.from(await tensor.data()).map((s) => (typeof s === 'string' ? s : new TextDecoder().decode(s)));
    } else {
      data = Array.from(await tensor.data());
    }
    return {name, dtype: tensor.dtype, shape: tensor.shape, data: data.map(encodeNumber)};
  }

  function isLayersModel(json) {
    if (json.format === 'layers-model') return true;
    if (json.format === 'graph-model') return false;
    const topology = json.modelTopology || {};
    return 'class_name' in topology || 'model_config' in topology;
  }

  return {toTensor, fromTensor, isLayersModel};
}

if (typeof module === 'object' && module.exports) {
  module.exports = tensorCodec;
}
