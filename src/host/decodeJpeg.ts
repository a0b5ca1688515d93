/**
 * JPEG decoding in the extension host, bit for bit as the panel's Chromium decodes it: libjpeg-turbo's decoder
 * (MozJPEG's, the same code: accurate integer IDCT, fancy chroma upsampling) compiled to WASM (@jsquash/jpeg). So the
 * host can run the model on an image before the panel's page exists (runAhead.ts); the page still decodes the image
 * itself and checks that its pixels are the same before it draws a map of that run. No vscode import: Node tests
 * drive it directly.
 */
import * as fs from 'node:fs';
import mozjpegFactory from '@jsquash/jpeg/codec/dec/mozjpeg_dec.js';
import type { DecodedImage } from '../shared/preprocess';

/** The parts of the Emscripten module used here (the package's own types leave its options untyped). */
interface MozJPEGModule { decode(data: Uint8Array, preserveOrientation: boolean): ImageData | null }
interface ModuleOptions {
  noInitialRun: boolean;
  instantiateWasm: (imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance) => void) => WebAssembly.Exports;
  printErr: (s: string) => void;
}
const moduleFactory = mozjpegFactory as unknown as (options: ModuleOptions) => Promise<MozJPEGModule>;

let decoder: Promise<MozJPEGModule> | undefined;
let lastMessage = '';

/**
 * In Node the module defines a global ImageData class, which its decode builds its result with. The extension host
 * is shared with every other extension, some of which may read a global ImageData as "in a browser": it exists only
 * while a decode runs.
 */
const g = globalThis as { ImageData?: unknown };
let imageDataClass: unknown;
function withImageData<T>(f: () => T): T {
  const had = 'ImageData' in g;
  if (!had) g.ImageData = imageDataClass;
  try {
    return f();
  } finally {
    if (!had) delete g.ImageData;
  }
}

function load(wasmPath: string): Promise<MozJPEGModule> {
  decoder ??= WebAssembly.compile(fs.readFileSync(wasmPath)).then((wasm) => {
    const had = 'ImageData' in g;
    const module = moduleFactory({
      noInitialRun: true,
      instantiateWasm: (imports, done) => {
        const instance = new WebAssembly.Instance(wasm, imports);
        done(instance);
        return instance.exports;
      },
      // libjpeg's warnings and errors: kept for the error message, not printed in the host's console.
      printErr: (s) => (lastMessage = s),
    });
    // The factory defined the class as it started (synchronously): kept here for the decodes.
    if (!had) {
      imageDataClass = g.ImageData;
      delete g.ImageData;
    }
    return module;
  });
  return decoder;
}

/**
 * Decodes `bytes` with the EXIF orientation applied, as the page's createImageBitmap(…, { imageOrientation:
 * 'from-image', colorSpaceConversion: 'none' }) does. `wasmPath`: mozjpeg_dec.wasm (dist/ in the package).
 */
export async function decodeJpeg(bytes: Uint8Array, wasmPath: string): Promise<DecodedImage> {
  const m = await load(wasmPath);
  lastMessage = '';
  let img: ImageData | null;
  try {
    img = withImageData(() => m.decode(bytes, true));
  } catch (e) {
    // libjpeg's error exit leaves the WASM instance in an unknown state: the next decode starts a fresh one.
    decoder = undefined;
    throw new Error(lastMessage || (e instanceof Error ? e.message : String(e)));
  }
  // l10n-ignore: never shown: the page then decodes the image itself, and logs this to its console only
  if (!img) throw new Error(lastMessage || 'JPEG decoding failed');
  return { rgba: new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.byteLength), width: img.width, height: img.height };
}
