/** DequantizeLinear on constant weights: x = (q − zero point) · scale, per tensor or per channel along `axis`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dequantizeLinear } from '../../src/shared/onnx/dequantize';
import { GraphIndex } from '../../src/shared/onnx/graphIndex';
import { OnnxGraph, OnnxNode, OnnxTensor, tensorValues, TensorDataType } from '../../src/shared/onnx/onnxModel';

test('per tensor: one scale and zero point for every element', () => {
  assert.deepEqual(Array.from(dequantizeLinear([0, 1, -2, 127], [2, 2], [0.5], [1])!), [-0.5, 0, -1.5, 63]);
});

test('per channel along axis 0 (Conv [out, in, kh, kw], Gemm transB [out, in])', () => {
  // Two output channels of 2×2 elements each.
  const q = [1, 2, 3, 4, 1, 2, 3, 4];
  assert.deepEqual(Array.from(dequantizeLinear(q, [2, 1, 2, 2], [0.5, 2], [0, 1], 0)!), [0.5, 1, 1.5, 2, 0, 2, 4, 6]);
});

test('per channel along axis 1 (MatMul [in, out]) and a negative axis', () => {
  const q = [1, 1, 1, 2, 2, 2]; // [2, 3]
  const want = [1, 10, 100, 2, 20, 200];
  assert.deepEqual(Array.from(dequantizeLinear(q, [2, 3], [1, 10, 100], undefined, 1)!), want);
  assert.deepEqual(Array.from(dequantizeLinear(q, [2, 3], [1, 10, 100], [0, 0, 0], -1)!), want);
});

test('a scale that fits neither layout is not read', () => {
  assert.equal(dequantizeLinear([1, 2, 3, 4], [2, 2], [1, 2, 3], undefined, 0), undefined);
  assert.equal(dequantizeLinear([1, 2, 3, 4], [2, 2], [1, 2], [0], 0), undefined);
});

test('GraphIndex.constant looks through DequantizeLinear(axis) of int8 initializers', () => {
  const int8 = (name: string, v: number[], dims: number[]): OnnxTensor => ({ name, dims, dataType: TensorDataType.INT8, raw: Uint8Array.from(new Int8Array(v)) });
  const graph: OnnxGraph = {
    name: 'g', inputs: [], outputs: [], valueInfo: new Map(),
    initializers: new Map<string, OnnxTensor>([
      ['w_q', int8('w_q', [-127, 64, 1, -2], [2, 2])],
      ['w_s', { name: 'w_s', dims: [2], dataType: TensorDataType.FLOAT, floatData: [0.5, 0.25] }],
      ['w_z', int8('w_z', [0, 0], [2])],
    ]),
    nodes: [{ name: 'dq', opType: 'DequantizeLinear', domain: '', inputs: ['w_q', 'w_s', 'w_z'], outputs: ['w'], attributes: new Map([['axis', { name: 'axis', type: 2, i: 0 }]]) } satisfies OnnxNode],
  };
  const g = new GraphIndex(graph);
  const t = g.constant('w');
  assert.ok(t && g.isConstant('w'));
  assert.deepEqual(t.dims, [2, 2]);
  assert.deepEqual(tensorValues(t), [-63.5, 32, 0.25, -0.5]);
});
