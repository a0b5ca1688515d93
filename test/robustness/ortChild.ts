/** Child process of the fuzz test: runs the given mutants with onnxruntime-web, one JSON line each. */
import { instrumentedBytes } from '../../src/shared/instrumentAttention';
import * as ort from 'onnxruntime-web';
import { prepareModel } from '../../src/shared/prepareModel';
import { mutate } from '../support/mutate';

async function main(): Promise<void> {
  ort.env.wasm.numThreads = 1;
  for (const arg of process.argv.slice(3)) {
    const i = Number(arg);
    const t0 = performance.now();
    let outcome: string;
    try {
      const m = prepareModel(mutate(i).bytes, 'fuzz.onnx', `fuzz-${i}`);
      const s = await ort.InferenceSession.create(instrumentedBytes(m));
      const out = await s.run({ [m.structure.input.name]: new ort.Tensor('float32', new Float32Array(3 * 224 * 224), [1, 3, 224, 224]) });
      const logits = out[m.logitsOutput].data as Float32Array;
      outcome = logits.every(Number.isFinite) ? 'ran' : 'ran:non-finite logits';
      await s.release();
    } catch (e) {
      outcome = `error: ${(e as Error).message.slice(0, 120)}`;
    }
    process.stdout.write(JSON.stringify({ i, outcome, ms: Math.round(performance.now() - t0) }) + '\n');
  }
}
void main();
