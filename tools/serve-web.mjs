#!/usr/bin/env node
// A tiny static file server for the browser demo (web/), no dependencies.
//   node tools/serve-web.mjs [--port 8765] [--root web] [--dist build/wasm/web-dist] [--isolate]
// Serves the page's sources from --root and its built files (dist/...: the wasm
// module, wasm_bench, TF.js copies) from --dist, the wasm build's output folder
// (the build never writes into the source tree).
// Binds to 127.0.0.1 only; --port 0 picks a free port. Prints the URL. --isolate (option
// `isolate`) sends COOP/COEP, making the page cross-origin isolated: SharedArrayBuffer, so
// the wasm-threads build (build/wasm-threads/web-dist) can start its pthreads.
// Also importable: `const { url, close } = await startServer({ port: 0, dist })`.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const defaultRoot = path.resolve(here, '..', 'web');
// Where the wasm preset's build puts the files the page loads from dist/.
export const defaultDist = path.resolve(here, '..', 'build', 'wasm', 'web-dist');

const mimeTypes = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

export function startServer({ port = 8765, root = defaultRoot, dist = defaultDist, host = '127.0.0.1',
                              quiet = false, isolate = false } = {}) {
  const rootDir = path.resolve(root);
  const distDir = path.resolve(dist);
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    } catch {
      res.writeHead(400).end('bad request');
      return;
    }
    if (pathname.endsWith('/')) pathname += 'index.html';
    // /dist/... comes from the build folder, everything else from the page's sources.
    const inDist = pathname.startsWith('/dist/');
    const base = inDist ? distDir : rootDir;
    const file = path.resolve(base, '.' + (inDist ? pathname.slice('/dist'.length) : pathname));
    if (file !== base && !file.startsWith(base + path.sep)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found');
        if (!quiet) console.error(`404 ${pathname}`);
        return;
      }
      res.writeHead(200, {
        'Content-Type': mimeTypes[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
        'Content-Length': st.size,
        'Cache-Control': 'no-cache',
        'X-Content-Type-Options': 'nosniff',
        ...(isolate ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {}),
      });
      if (req.method === 'HEAD') res.end();
      else fs.createReadStream(file).pipe(res);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      const url = `http://${host}:${actual}/`;
      resolve({ url, port: actual, server, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
  };
  const port = Number(opt('--port', args.find((a) => /^\d+$/.test(a)) ?? '8765'));
  const root = opt('--root', defaultRoot);
  const dist = opt('--dist', defaultDist);
  if (!fs.existsSync(path.join(dist, 'varscope_web.mjs')))
    console.warn(`warning: ${path.join(dist, 'varscope_web.mjs')} is missing; build the wasm preset first (or pass --dist)`);
  const { url } = await startServer({ port, root, dist, isolate: args.includes('--isolate') });
  console.log(url);
}
