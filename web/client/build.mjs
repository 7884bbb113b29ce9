// build.mjs bundles src/ into dist/comet.js (one ES module, served by
// every Comet node at /comet.js) and generates dist/comet.d.ts from it
// with the TypeScript compiler. `node build.mjs --check` builds in memory
// and fails when the committed files differ: the build is deterministic
// (no dates, no paths of this machine), so a stale build is a failed test.
//
// The bundler is small because the sources keep to a subset it checks:
// imports are `import { a, b } from './x.js';` of relative modules, every
// top-level declaration starts at column 0 with `export` or not, only
// src/index.js has `export { ... }` and `export default`, and top-level
// names are unique across modules (checked). Type-only imports are JSDoc
// `@typedef {import('./x.js').T} T` lines, dropped (T is in scope once
// bundled), and `import('./x.js').T` in JSDoc becomes T.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import os from 'node:os';

const here = path.dirname(new URL(import.meta.url).pathname);
const src = path.join(here, 'src');
const dist = path.join(here, 'dist');
const check = process.argv.includes('--check');

const IMPORT_RE = /^import\s*\{([^}]*)\}\s*from\s*'([^']+)';[ \t]*\n/gm;
const TYPEDEF_IMPORT_RE = /^\/\*\* @typedef \{import\('[^']+'\)\.[A-Za-z_$][\w$]*\} [A-Za-z_$][\w$]* \*\/\n/gm;
const DECL_RE = /^(?:export\s+)?(?:async\s+)?(?:function\*?|class|const|let|var)\s+([A-Za-z_$][\w$]*)/gm;

function fail(msg) {
  console.error(`build: ${msg}`);
  process.exit(1);
}

// Modules in dependency order (each after what it imports).
const order = [];
const seen = new Set();
function visit(file, stack) {
  if (seen.has(file)) return;
  if (stack.includes(file)) return; // a cycle of types only is fine; values are checked below
  const text = fs.readFileSync(file, 'utf8');
  for (const m of text.matchAll(IMPORT_RE)) {
    if (!m[2].startsWith('.')) fail(`${rel(file)}: import of ${m[2]}: only relative modules`);
    visit(path.resolve(path.dirname(file), m[2]), [...stack, file]);
  }
  seen.add(file);
  order.push({ file, text });
}
const rel = (f) => path.relative(here, f).split(path.sep).join('/');
visit(path.join(src, 'index.js'), []);

const entry = path.join(src, 'index.js');
const names = new Map();
const exported = new Map();
let body = '';
for (const { file, text } of order) {
  let t = text.replace(/^\/\/ @ts-check\n/, '');
  const isEntry = file === entry;
  const declared = [];
  for (const m of t.matchAll(DECL_RE)) {
    if (names.has(m[1])) fail(`top-level name ${m[1]} in ${rel(file)} and ${names.get(m[1])}`);
    names.set(m[1], rel(file));
    declared.push(m[1]);
    if (m[0].startsWith('export')) (exported.get(file) || exported.set(file, new Set()).get(file)).add(m[1]);
  }
  for (const m of t.matchAll(IMPORT_RE)) {
    const target = path.resolve(path.dirname(file), m[2]);
    for (const n of m[1].split(',').map((s) => s.trim()).filter(Boolean)) {
      if (!(exported.get(target) || new Set()).has(n)) fail(`${rel(file)} imports ${n}, which ${rel(target)} does not export`);
    }
  }
  t = t.replace(IMPORT_RE, '').replace(TYPEDEF_IMPORT_RE, '');
  if (!isEntry && /^export\s*(\{|default)/m.test(t)) fail(`${rel(file)}: only src/index.js may have export { } or export default`);
  if (!isEntry) t = t.replace(/^export\s+(?=(async\s+)?(function|class|const|let|var)\b)/gm, '');
  body += `// ---- ${rel(file)} ----\n${t.trim()}\n\n`;
}
body = body.replace(/import\('[^']+'\)\.([A-Za-z_$][\w$]*)/g, '$1');
const version = /export const VERSION = '([^']+)'/.exec(body);
if (!version) fail('src/index.js has no VERSION');
const js = `/*! comet.js ${version[1]}: built from web/client/src by web/client/build.mjs; do not edit. */\n// @ts-check\n${body.trimEnd()}\n`;

// The declarations: the TypeScript compiler on the bundle itself, so the
// types are those of the one file applications load.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'comet-build-'));
let dts;
try {
  fs.writeFileSync(path.join(tmp, 'comet.js'), js);
  const tsc = path.join(here, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!fs.existsSync(tsc)) fail('typescript is not installed: npm ci in web/client (make test-deps)');
  try {
    execFileSync(process.execPath, [tsc, path.join(tmp, 'comet.js'), '--allowJs', '--checkJs', '--declaration', '--emitDeclarationOnly',
      '--target', 'es2022', '--module', 'es2022', '--moduleResolution', 'bundler', '--lib', 'es2022,dom,dom.iterable',
      '--strict', '--noImplicitAny', 'false', '--skipLibCheck', '--outDir', path.join(tmp, 'out')], { stdio: 'pipe' });
  } catch (err) {
    fail(`tsc on the bundle:\n${err.stdout}${err.stderr}`);
  }
  dts = `/*! comet.d.ts ${version[1]}: generated from dist/comet.js by web/client/build.mjs; do not edit. */\n` +
    fs.readFileSync(path.join(tmp, 'out', 'comet.d.ts'), 'utf8');
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

const outputs = { 'comet.js': js, 'comet.d.ts': dts };
if (check) {
  let stale = [];
  for (const [name, content] of Object.entries(outputs)) {
    const file = path.join(dist, name);
    if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== content) stale.push(`dist/${name}`);
  }
  if (stale.length) fail(`${stale.join(', ')} not up to date with src/: run node web/client/build.mjs and commit`);
  console.log(`build: dist/comet.js and dist/comet.d.ts are up to date (${order.length} modules)`);
} else {
  fs.mkdirSync(dist, { recursive: true });
  for (const [name, content] of Object.entries(outputs)) fs.writeFileSync(path.join(dist, name), content);
  console.log(`build: wrote dist/comet.js (${js.length} bytes, ${order.length} modules) and dist/comet.d.ts (${dts.length} bytes)`);
}
