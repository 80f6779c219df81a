// tfjs-reference.js TFJS_DIR MODEL.json OUT.json OUTPUT_NAME...
//
// Runs a TF.js graph model with TF.js itself (pure JavaScript CPU backend,
// from the lockfile-pinned install in TFJS_DIR) on the deterministic
// reference input and writes the named outputs as JSON:
//   {"outputs": {"NAME": {"shape": [...], "data": [...]}}}
// The input of each model input is the pattern postkit uses everywhere:
// element i = ((i * 7919) mod 1000) / 1000 in float32, batch 1 where the
// batch dimension is dynamic. `postkit models install` runs the converted
// ONNX model on the same input and compares (src/ml/install.c).
'use strict';
const fs = require('fs');
const path = require('path');

async function main() {
  const [tfjsDir, modelPath, outPath, ...outputNames] = process.argv.slice(2);
  if (!outPath || outputNames.length === 0) {
    process.stderr.write('usage: tfjs-reference.js TFJS_DIR MODEL.json OUT.json OUTPUT_NAME...\n');
    process.exit(2);
  }
  // TF.js greets Node users on stdout; keep stdout for nothing.
  console.log = () => {};
  console.warn = () => {};
  const tf = require(path.join(tfjsDir, 'node_modules', '@tensorflow', 'tfjs'));
  await tf.setBackend('cpu');
  await tf.ready();

  const dir = path.dirname(modelPath);
  const json = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
  const handler = {
    load: async () => {
      const specs = [];
      const buffers = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
      };
    },
  };
  const model = await tf.loadGraphModel(handler);

  const feeds = {};
  for (const input of model.inputs) {
    const shape = input.shape.map((d) => (d === null || d < 0 ? 1 : d));
    const count = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = ((i * 7919) % 1000) / 1000;
    feeds[input.name] = tf.tensor(data, shape, 'float32');
  }
  let results = model.execute(feeds, outputNames);
  if (!Array.isArray(results)) results = [results];
  const out = { runtime: `@tensorflow/tfjs ${tf.version.tfjs} (${tf.getBackend()})`, outputs: {} };
  for (let k = 0; k < outputNames.length; k++) {
    out.outputs[outputNames[k]] = {
      shape: results[k].shape,
      data: Array.from(await results[k].data()),
    };
  }
  fs.writeFileSync(outPath, JSON.stringify(out));
}

main().catch((e) => {
  process.stderr.write(`tfjs-reference: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
