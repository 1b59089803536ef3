import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { compress } from 'hono/compress';
import { etag } from 'hono/etag';
import type { ParsedDashboardOptions } from '../options.js';

/** The UI's own files: next to this module in src/ and in dist/ alike (the build copies them). */
const UI_DIR = fileURLToPath(new URL('../ui/', import.meta.url));

const require = createRequire(import.meta.url);
/**
 * Browser builds served from the installed dependencies, so the UI needs no bundler, no build at
 * install and no CDN. Resolved through each package's entry point because some packages do not
 * export their package.json.
 */
const VENDOR: Record<string, () => string> = {
  'preact.mjs': () => require.resolve('preact'),
  'hooks.mjs': () => require.resolve('preact/hooks'),
  'htm.mjs': () => join(dirname(require.resolve('htm')), 'htm.mjs'),
  'uPlot.esm.js': () => join(dirname(require.resolve('uplot')), 'uPlot.esm.js'),
  'uPlot.min.css': () => join(dirname(require.resolve('uplot')), 'uPlot.min.css'),
};

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

interface Asset {
  body: Uint8Array;
  type: string;
}

async function loadAssets(): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const name of await readdir(UI_DIR)) {
    const type = TYPES[extname(name)];
    if (type) assets.set(name, { body: await readFile(join(UI_DIR, name)), type });
  }
  for (const [name, path] of Object.entries(VENDOR)) {
    assets.set(`vendor/${name}`, { body: await readFile(path()), type: TYPES[extname(name)]! });
  }
  return assets;
}

/** Inline `<script>` text for a JSON value: `<` escaped so that no value can close the element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/**
 * The single-page UI: `index.html` with the dashboard's settings, its modules and the vendored
 * libraries. The page is public (it holds no data); every datum comes from the API, which
 * requires the credentials.
 */
/** Routes at absolute paths (mount with `app.route('/', …)`): '/admin' and '/admin/' differ in Hono. */
export function uiRoutes(options: ParsedDashboardOptions): Hono {
  let assets: Promise<Map<string, Asset>> | undefined;
  const load = () => {
    assets ??= loadAssets();
    return assets;
  };
  const page = (async () => {
    const template = await readFile(join(UI_DIR, 'index.html'), 'utf8');
    const config = {
      basePath: options.basePath,
      readOnly: options.readOnly,
      auth: options.auth === false ? 'none' : 'token' in options.auth ? 'token' : 'basic',
    };
    const html = template.replace('id="pgsched-config">{}<', `id="pgsched-config">${scriptJson(config)}<`);
    // The import map is the page's only inline script: allow exactly it by its hash.
    const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    const hash = createHash('sha256').update(importMap).digest('base64');
    return {
      html,
      csp: `default-src 'self'; script-src 'self' 'sha256-${hash}'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
    };
  })();
  // Surfaces a missing UI file on first request, not as an unhandled rejection at startup.
  page.catch(() => {});

  const app = new Hono();
  const base = options.basePath;
  // Relative asset and API URLs need the page at '<basePath>/'.
  if (base) app.get(base, (c) => c.redirect(`${base}/`, 301));
  // Revalidated on each load (no-cache) but sent again only when changed, and compressed:
  // uPlot's ES module is 145 kB as shipped, 40 kB gzipped.
  app.use(`${base}/assets/*`, etag(), compress());
  app.get(`${base}/`, async (c) => {
    const { html, csp } = await page;
    return c.html(html, 200, {
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
    });
  });
  app.get(`${base}/assets/*`, async (c) => {
    const name = new URL(c.req.url).pathname.slice(`${base}/assets/`.length);
    const asset = (await load()).get(decodeURIComponent(name));
    if (!asset) return c.json({ error: { code: 'not_found', message: 'No such asset' } }, 404);
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, {
      'content-type': asset.type,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-cache',
    });
  });
  return app;
}
