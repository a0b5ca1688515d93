import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writer } from 'protobufjs/minimal';
import { readOnnxModel } from '../../src/shared/onnx/onnxModel';
import { encodeOutputPatch } from '../../src/shared/instrumentAttention';
import { ModelFormatError } from '../../src/shared/errors';

/** A minimal ModelProto: ir_version 8, opset 17, one Relu node x → y. */
function tinyModel(): Uint8Array {
  const node = Writer.create().uint32((1 << 3) | 2).string('x').uint32((2 << 3) | 2).string('y').uint32((4 << 3) | 2).string('Relu').finish();
  const vi = (name: string) => Writer.create().uint32((1 << 3) | 2).string(name).finish();
  const graph = Writer.create().uint32((1 << 3) | 2).bytes(node).uint32((2 << 3) | 2).string('g')
    .uint32((11 << 3) | 2).bytes(vi('x')).uint32((12 << 3) | 2).bytes(vi('y')).finish();
  const opset = Writer.create().uint32((2 << 3) | 0).int64(17).finish();
  return Writer.create().uint32((1 << 3) | 0).int64(8).uint32((7 << 3) | 2).bytes(graph).uint32((8 << 3) | 2).bytes(opset).finish();
}

test('reads graph, opset and outputs of a minimal model', () => {
  const m = readOnnxModel(tinyModel());
  assert.equal(m.irVersion, 8);
  assert.deepEqual(m.opsets, [{ domain: '', version: 17 }]);
  assert.equal(m.graph.nodes[0].opType, 'Relu');
  assert.deepEqual(m.graph.outputs.map((o) => o.name), ['y']);
});

test('an appended output patch merges into the graph outputs (protobuf merge semantics)', () => {
  const base = tinyModel();
  const patch = encodeOutputPatch(['x'], 1);
  const merged = new Uint8Array(base.length + patch.length);
  merged.set(base);
  merged.set(patch, base.length);
  const m = readOnnxModel(merged);
  assert.deepEqual(m.graph.outputs.map((o) => o.name), ['y', 'x']);
  assert.equal(m.graph.outputs[1].elemType, 1);
  assert.equal(m.graph.nodes.length, 1, 'nodes are not duplicated');
});

test('empty, text and truncated files give specific errors', () => {
  assert.throws(() => readOnnxModel(new Uint8Array()), (e: Error) => e instanceof ModelFormatError && /empty \(0 bytes\)/.test(e.message));
  assert.throws(() => readOnnxModel(new TextEncoder().encode('{"not": "onnx"}\n')), /text, not an ONNX protobuf/);
  const full = tinyModel();
  for (let cut = 1; cut < full.length; cut++) {
    assert.throws(() => readOnnxModel(full.subarray(0, cut)), ModelFormatError, `cut at ${cut}`);
  }
});
