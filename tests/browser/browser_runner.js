// Runs converted models in headless Chromium (Debian's /usr/bin/chromium driven by puppeteer-core),
// loaded over HTTP from 127.0.0.1 the way a web page loads them, on the WebGL, WASM and CPU backends.
//
//   node browser_runner.js REQUEST.json  ->  JSON on stdout
//
// REQUEST: {"batch": [{"model_dir", "backend": "webgl"|"wasm"|"cpu", "f16"?: bool,
//                      "inputs": [...], "output_names"?: [...]}, ...]}
//   (inputs and outputs encoded as python/tensorflowjs/verify/tensor_codec.js says)
// Reply:   {"results": [{"kind", "backend", "flags", "outputs"} | {"error": message}, ...]}
// "backend" is the backend TF.js really used; "flags" the WebGL facts that matter for precision.
// Each request runs in a fresh page, so one model's WebGL flags never leak into the next.
'use strict';

const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const puppeteer = require('puppeteer-core');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TFJS_DIST = path.dirname(require.resolve('@tensorflow/tfjs/dist/tf.min.js'));
const WASM_DIST = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js'));
const PAGE_JS = fs.readFileSync(path.join(__dirname, 'page.js'), 'utf8');
// The package's tensor_codec.js (TENSOR_CODEC, set by tfjs_browser.py): the JSON encoding of tensors.
const CODEC_JS = fs.readFileSync(process.env.TENSOR_CODEC, 'utf8');

const PAGE = `<!doctype html><html><head><meta charset="utf-8">
<script src="/tfjs/tf.min.js"></script>
<script src="/tfjs-wasm/tf-backend-wasm.min.js"></script>
<script src="/tensor_codec.js"></script>
<script src="/page.js"></script></head><body></body></html>`;

const TYPES = {'.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.html': 'text/html'};

// Serves only the TF.js bundles, the page and each request's model directory (no path escapes).
function serve(modelDirs) {
  return http.createServer((request, response) => {
    const url = decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname);
    const parts = url.split('/').filter(Boolean);
    let file = null;
    if (url === '/' || url === '/index.html') {
      response.writeHead(200, {'Content-Type': 'text/html'});
      response.end(PAGE);
      return;
    } else if (url === '/page.js' || url === '/tensor_codec.js') {
      response.writeHead(200, {'Content-Type': 'text/javascript'});
      response.end(url === '/page.js' ? PAGE_JS : CODEC_JS);
      return;
    } else if (parts[0] === 'tfjs' && parts.length === 2) {
      file = path.join(TFJS_DIST, parts[1]);
    } else if (parts[0] === 'tfjs-wasm' && parts.length === 2) {
      file = path.join(WASM_DIST, parts[1]);
    } else if (parts[0] === 'models' && parts.length === 3 && modelDirs[Number(parts[1])] !== undefined) {
      file = path.join(modelDirs[Number(parts[1])], parts[2]);
    }
    if (!file || parts.some((p) => p === '..') || !fs.existsSync(file)) {
      response.writeHead(404);
      response.end();
      return;
    }
    response.writeHead(200, {'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream'});
    fs.createReadStream(file).pipe(response);
  });
}

async function main() {
  const {batch} = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const server = serve(batch.map((r) => r.model_dir));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: [
      '--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic',
      '--no-first-run', '--disable-dev-shm-usage',
    ],
  });
  const results = [];
  try {
    for (let i = 0; i < batch.length; ++i) {
      const page = await browser.newPage();
      const errors = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      try {
        await page.goto(`${origin}/index.html`, {waitUntil: 'load'});
        const request = Object.assign({}, batch[i], {model_url: `${origin}/models/${i}/model.json`});
        results.push(await page.evaluate((r) => window.runRequest(r), request));
      } catch (error) {
        results.push({error: [String(error.stack || error), ...errors].join('\n')});
      } finally {
        await page.close();
      }
    }
  } finally {
    await browser.close();
    server.close();
    fs.rmSync(profile, {recursive: true, force: true});
  }
  return {results};
}

main()
  .then((reply) => process.stdout.write(JSON.stringify(reply)))
  .catch((error) => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exit(1);
  });
