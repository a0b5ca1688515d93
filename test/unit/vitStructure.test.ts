import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { instrumentedBytes } from '../../src/shared/instrumentAttention';
import { readOnnxModel } from '../../src/shared/onnx/onnxModel';
import { detectVit } from '../../src/shared/vitStructure';
import { ModelFormatError, NotAViTError } from '../../src/shared/errors';
import { checkModelSize, prepareModel } from '../../src/shared/prepareModel';
import { demoModel, ROOT } from '../support/fixtures';

test('detects the demo ViT from its graph', () => {
  const m = demoModel();
  const s = m.structure;
  assert.equal(s.patchSize, 16);
  assert.deepEqual(s.grid, { rows: 14, cols: 14 });
  assert.equal(s.embedDim, 96);
  assert.equal(s.layers, 6);
  assert.equal(s.heads, 3);
  assert.equal(s.prefixTokens, 1);
  assert.equal(s.tokens, 197);
  assert.equal(s.norm, 'pre');
  assert.equal(s.classifier, 'cls');
  assert.equal(s.family, 'vit');
  assert.equal(s.input.name, 'pixel_values');
  assert.equal(s.logits.name, 'logits');
  assert.equal(new Set(s.attention.map((t) => t.tensor)).size, 6);
  assert.match(s.attention[0].where, /Softmax/);
});

test('instrumented bytes = original bytes + an output-only patch naming every attention tap', () => {
  const m = demoModel();
  const original = readFileSync(path.join(ROOT, 'models/vit-demo.onnx'));
  assert.ok(Buffer.from(m.bytes).equals(original), 'original bytes kept verbatim, not copied');
  // Outputs plus the token-norm nodes (Cast, ReduceL2, Shape, Cast per block).
  assert.ok(m.graphPatch && m.graphPatch.length < 5000, `patch is small (${m.graphPatch?.length} bytes)`);
  // Not a Node Buffer: VS Code's postMessage would send a Buffer as {type: 'Buffer', data} JSON.
  assert.equal(Object.getPrototypeOf(m.graphPatch), Uint8Array.prototype);
  const reparsed = readOnnxModel(instrumentedBytes(m));
  assert.deepEqual(reparsed.graph.outputs.map((o) => o.name), ['logits', ...m.attentionOutputs, m.featureOutput, ...m.tokenNormOutputs!, ...m.residualShapeOutputs!]);
  assert.match(m.structure.features?.where ?? '', /LayerNormalization output after the last block/);
});

for (const name of ['tiny-cnn', 'tiny-mlp']) {
  test(`rejects ${name} with a message naming what was looked for`, () => {
    const model = readOnnxModel(new Uint8Array(readFileSync(path.join(ROOT, `test/fixtures/models/${name}.onnx`))));
    assert.throws(() => detectVit(model), (e: Error) => {
      assert.ok(e instanceof NotAViTError, `${e.name}: ${e.message}`);
      assert.match(e.message, /Looked for: .*patch embedding.*Softmax/);
      return true;
    });
  });
}

test('a model card asking for another input size than the graph allows gives a clear message', () => {
  const bytes = new Uint8Array(readFileSync(path.join(ROOT, 'models/vit-demo.onnx')));
  const own = { ...JSON.parse(readFileSync(path.join(ROOT, 'models/vit-demo.json'), 'utf8')), preprocess: { size: 384 } };
  assert.throws(() => prepareModel(bytes, 'vit-demo.onnx', 'k', { own }), (e: Error) => e instanceof ModelFormatError && /asks for a 384×384 input, but the graph's input is fixed at 224×224 \(width×height\)/.test(e.message));
});

test('a model over the size limit is refused before loading, with both sizes', () => {
  assert.throws(() => checkModelSize(3_400_000_000, 1024), (e: Error) => e instanceof ModelFormatError && e.message.startsWith('The model is 3400 MB, over the 1024 MB that ViT Lens loads into a webview'));
  checkModelSize(3_107_634, 1024);
});
