import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelFormatError, toErrorInfo } from '../../src/shared/errors';

test('toErrorInfo keeps kind, message and hint whatever shape the error arrives in', () => {
  assert.deepEqual(toErrorInfo(new ModelFormatError('bad file', 'pick another')), { kind: 'model-format', message: 'bad file', hint: 'pick another' });
  // A rejection that crossed a worker or webview boundary is a plain object: it must not become "[object Object]".
  assert.deepEqual(toErrorInfo({ kind: 'inference', message: 'The model did not finish within 2 s.', hint: 'Raise the timeout.' }), { kind: 'inference', message: 'The model did not finish within 2 s.', hint: 'Raise the timeout.' });
  assert.deepEqual(toErrorInfo(new Error('boom')), { kind: 'inference', message: 'boom' });
  assert.deepEqual(toErrorInfo('text'), { kind: 'inference', message: 'text' });
});
