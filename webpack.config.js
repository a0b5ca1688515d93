// Builds the extension host (Node) and its model thread, the webview page, the inference worker twice
// (onnxruntime-web's WASM-only build and its WebGPU build), and the CLI.
const path = require('path');
const CopyPlugin = require('copy-webpack-plugin');

const ts = { test: /\.ts$/, exclude: /node_modules/, use: [{ loader: 'ts-loader', options: { transpileOnly: true } }] };
const common = (mode) => ({
  mode,
  devtool: mode === 'production' ? false : 'source-map',
  resolve: { extensions: ['.ts', '.js'] },
  module: {
    rules: [ts],
    // ORT's `new URL('x.wasm', import.meta.url)` would make webpack copy the binaries again; we copy them once.
    parser: { javascript: { url: false } },
  },
  performance: { hints: false },
  infrastructureLogging: { level: 'warn' },
});

module.exports = (_env, argv) => {
  const mode = argv.mode ?? 'production';
  const extension = {
    ...common(mode),
    name: 'extension',
    target: 'node',
    entry: { extension: './src/extension.ts' },
    output: { path: path.resolve(__dirname, 'dist'), filename: '[name].js', libraryTarget: 'commonjs2' },
    externals: { vscode: 'commonjs vscode' },
    // The host's JPEG decoder (src/host/decodeJpeg.ts) reads its WASM from dist/ at run time.
    plugins: [new CopyPlugin({ patterns: [{ from: 'node_modules/@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm' }] })],
  };
  // The extension host's model thread (vitLens.runModelIn = "extensionHost"): onnxruntime-web's Node build, bundled;
  // at run time it imports its WASM glue (ort-wasm-simd-threaded.mjs, copied beside the .wasm) from dist/webview.
  const modelThread = {
    ...common(mode),
    name: 'modelThread',
    target: 'node',
    entry: { modelThread: './src/host/modelThread.ts' },
    output: { path: path.resolve(__dirname, 'dist'), filename: '[name].js', libraryTarget: 'commonjs2' },
  };
  const cli = {
    ...common(mode),
    name: 'cli',
    target: 'node',
    entry: { cli: './src/cli/cli.ts' },
    output: { path: path.resolve(__dirname, 'dist'), filename: '[name].js', libraryTarget: 'commonjs2' },
    // onnxruntime-web locates its .wasm next to its own files in Node: keep it a runtime dependency.
    externals: { 'onnxruntime-web': 'commonjs onnxruntime-web' },
  };
  const webview = {
    ...common(mode),
    name: 'webview',
    target: 'web',
    entry: { main: './src/webview/main.ts', sidebar: './src/webview/sidebar.ts' },
    output: { path: path.resolve(__dirname, 'dist', 'webview'), filename: '[name].js' },
    plugins: [
      new CopyPlugin({
        patterns: [
          { from: 'node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm' },
          // Already minified: copied as it is (Terser would rewrite it).
          { from: 'node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.mjs', info: { minimized: true } },
          { from: 'node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm' },
          { from: 'node_modules/@vscode/codicons/dist/codicon.css', to: 'codicons/' },
          { from: 'node_modules/@vscode/codicons/dist/codicon.ttf', to: 'codicons/' },
        ],
      }),
    ],
  };
  const worker = (name, ortEntry) => ({
    ...common(mode),
    name,
    target: 'webworker',
    entry: { [name]: './src/webview/inferenceWorker.ts' },
    output: { path: path.resolve(__dirname, 'dist', 'webview'), filename: '[name].js' },
    resolve: { extensions: ['.ts', '.js'], alias: { 'onnxruntime-web/wasm$': path.resolve(__dirname, 'node_modules/onnxruntime-web/dist', ortEntry) } },
  });
  const all = [extension, modelThread, webview, worker('worker-wasm', 'ort.wasm.bundle.min.mjs'), worker('worker-webgpu', 'ort.webgpu.bundle.min.mjs')];
  if (require('fs').existsSync(path.join(__dirname, 'src/cli/cli.ts'))) all.push(cli);
  return all;
};
