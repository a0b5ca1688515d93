/** Image sniffing and size limits on real files of every kind (scripts/make_image_fixtures.py). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ImageError } from '../../src/shared/errors';
import { checkImageSize, readImageHeader } from '../../src/shared/imageHeader';
import { ROOT } from '../support/fixtures';

const file = (n: string) => new Uint8Array(readFileSync(path.join(ROOT, 'test/fixtures/bad-images', n)));

test('formats and dimensions are read from the headers', () => {
  const expect: [string, string, number | undefined, number | undefined][] = [
    ['rgb.png', 'png', 160, 120], ['grey16.png', 'png', 160, 120], ['alpha.png', 'png', 160, 120],
    ['cmyk.jpg', 'jpeg', 160, 120], ['exif-rotated.jpg', 'jpeg', 120, 160], ['animated.gif', 'gif', 160, 120],
    ['image.bmp', 'bmp', 160, 120], ['image.webp', 'webp', 160, 120], ['vector.svg', 'svg', undefined, undefined],
    ['huge-20000x20000.png', 'png', 20000, 20000],
  ];
  for (const [name, format, w, h] of expect) {
    const hd = readImageHeader(file(name), name);
    assert.deepEqual([hd.format, hd.width, hd.height], [format, w, h], name);
  }
  assert.equal(readImageHeader(new Uint8Array(readFileSync(path.join(ROOT, 'samples/cat_tabby.jpg'))), 'cat').width, 640);
});

test('empty files and non-images are refused with what they are', () => {
  assert.throws(() => readImageHeader(file('empty.png'), 'empty.png'), (e: Error) => e instanceof ImageError && e.message === 'empty.png is empty (0 bytes).');
  assert.throws(() => readImageHeader(file('not-an-image.png'), 'not-an-image.png'), (e: Error) => e instanceof ImageError && /not an image ViT Lens can read.*"This is …" \(text\)/.test(e.message));
});

test('an enormous image is refused with its size before decoding', () => {
  const h = readImageHeader(file('huge-20000x20000.png'), 'huge.png');
  assert.throws(() => checkImageSize(h, 'huge.png', 64), (e: Error) => e instanceof ImageError && /huge\.png is 20000×20000 pixels \(400 MP, about 1\.5 GiB decoded\); ViT Lens decodes images up to 64 MP/.test(e.message));
  checkImageSize(readImageHeader(file('rgb.png'), 'rgb.png'), 'rgb.png', 64);
});
