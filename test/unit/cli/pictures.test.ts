// The pictures as a person sees them: each SVG is rendered to PNG by Debian's chromium (driven by
// playwright-core; no browser is downloaded: scripts/ensure-chromium.sh, run by `make unit`), and
// the picture must show what the scenario says: every node inside the picture and apart from the
// others, every fault edge labelled, and each fault kind's colour actually on the pixels.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { FAULT_COLOURS } from '../../../src/timeline/colours.js';
import type { FaultAction } from '../../../src/api/types.js';
import { faultline } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';

/** Every kind of fault, all active from the start. */
const SCENARIO = `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata: {name: pictures}
spec:
  networks:
    - {name: front, ipam: {config: [{subnet: 10.249.1.0/24}]}}
    - {name: back, ipam: {config: [{subnet: 10.249.2.0/24}]}}
  containers:
    - {name: web, image: faultline/testbox}
    - {name: api, image: faultline/testbox}
    - {name: db, image: faultline/testbox}
    - {name: cache, image: faultline/testbox}
  members:
    - {network: front, select: {names: [web, api]}}
    - {network: back, select: {names: [api, db, cache]}}
  faults:
    - {name: slow-db, targets: {names: [db]}, netem: {delay: 100ms, loss: 5%}, at: 0s, duration: 1m}
    - {name: thin, targets: {names: [web]}, bandwidth: {rate: 1mbit}, at: 0s, duration: 1m}
    - {name: split, partition: {groups: [[web], [api]]}, at: 0s, duration: 1m}
    - {name: hole, targets: {names: [cache]}, peers: {names: [api]}, blackhole: {}, at: 0s, duration: 1m}
    - {name: refuse, targets: {names: [db]}, peers: {names: [cache]}, reject: {with: tcp-reset}, at: 0s, duration: 1m}
    - {name: names, targets: {names: [web]}, dns: {action: refuse, names: [db]}, at: 0s, duration: 1m}
    - {name: off, targets: {names: [cache]}, disconnect: {network: back}, at: 0s, duration: 1m}
    - {name: freeze, targets: {names: [api]}, container: {action: pause}, at: 0s, duration: 1m}
    - {name: later, targets: {names: [web]}, netem: {delay: 1s}, at: 5m}
`;
const KINDS = Object.keys(FAULT_COLOURS) as FaultAction[];

let browser: Browser;
let page: Page;
let profile: string;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/ensure-chromium.sh (make unit does)`);
  profile = mkdtempSync(join(tmpdir(), 'faultline-chromium-'));
  // launch() runs it headless in a fresh profile of its own (a new --user-data-dir each time); the
  // flags keep Debian's chromium from reaching for a network it does not have here.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    env: { ...process.env, HOME: profile },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage();
});

after(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Render `svg` to PNG; return the PNG and how many of its pixels are each fault kind's colour. */
async function render(svg: string): Promise<{ png: Buffer; pixels: Record<string, number> }> {
  await page.setContent(`<!doctype html><html><body style="margin:0;background:#fff">${svg}</body></html>`);
  const png = await page.locator('svg').first().screenshot({ type: 'png' });
  // Read the PNG's pixels back in the browser (a canvas decodes it): what a person would see.
  const pixels = await page.evaluate(
    async ({ data, colours }) => {
      const img = new Image();
      img.src = `data:image/png;base64,${data}`;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.width;
      canvas.height = img.height;
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const px = ctx.getImageData(0, 0, img.width, img.height).data;
      const want = Object.entries(colours).map(([k, hex]) => [k, parseInt(hex.slice(1), 16)] as const);
      const counts: Record<string, number> = Object.fromEntries(want.map(([k]) => [k, 0]));
      for (let i = 0; i < px.length; i += 4)
        for (const [k, c] of want)
          if (
            Math.abs(px[i] - (c >> 16)) < 12 &&
            Math.abs(px[i + 1] - ((c >> 8) & 255)) < 12 &&
            Math.abs(px[i + 2] - (c & 255)) < 12
          )
            counts[k]++;
      return counts;
    },
    { data: png.toString('base64'), colours: FAULT_COLOURS as Record<string, string> },
  );
  return { png, pixels };
}

/** The boxes of the rendered elements matching `selector`, in page pixels. */
async function boxes(selector: string): Promise<{ id: string; x: number; y: number; w: number; h: number }[]> {
  return page.$$eval(selector, (els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return { id: e.getAttribute('data-id') ?? e.textContent ?? '', x: r.x, y: r.y, w: r.width, h: r.height };
    }),
  );
}

test('graph: engine, containers and networks apart and inside the picture; every fault kind on the pixels', async () => {
  const r = await faultline(['graph', '-f', '-', '--at', '10s'], { input: SCENARIO });
  assert.equal(r.code, 0, r.stderr);
  const { png, pixels } = await render(r.stdout);
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  const nodes = await boxes('g.node rect');
  const kinds = await page.$$eval('g.node', (els) => els.map((e) => e.getAttribute('data-kind')));
  assert.deepEqual(
    kinds.sort(),
    ['container', 'container', 'container', 'container', 'engine', 'network', 'network'],
    'one engine, four containers, two networks',
  );
  const svg = (await boxes('svg'))[0];
  for (const n of nodes) {
    assert.ok(n.x >= svg.x && n.y >= svg.y && n.x + n.w <= svg.x + svg.w && n.y + n.h <= svg.y + svg.h, 'inside');
    for (const m of nodes)
      if (m !== n)
        assert.ok(n.x + n.w <= m.x || m.x + m.w <= n.x || n.y + n.h <= m.y || m.y + m.h <= n.y, 'nodes do not overlap');
  }
  // Active faults are drawn, each with its label; the one not active yet is not.
  const faults = await page.$$eval('g.edge[data-kind="fault"]', (els) =>
    els.map((e) => [e.getAttribute('data-fault'), e.getAttribute('data-fault-kind'), e.textContent?.trim()]),
  );
  assert.deepEqual([...new Set(faults.map((f) => f[0]))].sort(), [
    'freeze',
    'hole',
    'names',
    'off',
    'refuse',
    'slow-db',
    'split',
    'thin',
  ]);
  assert.ok(faults.every(([name, , label]) => label?.startsWith(`${name}: `)));
  assert.ok(faults.some(([, , label]) => label === 'slow-db: delay 100ms, loss 5%'));
  for (const kind of KINDS) assert.ok(pixels[kind] > 40, `${kind}'s colour is on the picture (${pixels[kind]} px)`);
  const labels = await boxes('g.edge text');
  for (const l of labels) assert.ok(l.x >= svg.x - 1 && l.x + l.w <= svg.x + svg.w + 1, `label inside: ${l.id}`);
});

test('timeline: each fault bar in its kind colour, the same as in the graph', async () => {
  const r = await faultline(['timeline', '-f', '-', '--format', 'svg', '--at', '10s', '--width', '800'], {
    input: SCENARIO,
  });
  assert.equal(r.code, 0, r.stderr);
  const { pixels } = await render(r.stdout);
  for (const kind of KINDS) assert.ok(pixels[kind] > 100, `${kind}'s colour is on the chart (${pixels[kind]} px)`);
  const rows = await page.$$eval('g.fault', (els) =>
    els.map((e) => [e.getAttribute('data-fault'), e.getAttribute('data-kind')]),
  );
  assert.deepEqual(
    rows.find((x) => x[0] === 'split'),
    ['split', 'partition'],
  );
});

test("the README's pictures render, with the colours of what they show", async () => {
  const svg = (f: string) => readFileSync(`${ROOT}docs/images/${f}`, 'utf8');
  const at12 = await render(svg('blockade-graph.svg'));
  assert.ok(at12.pixels.netem > 40, 'loss and delay at 12 s');
  assert.equal(at12.pixels.partition, 0, 'no cut yet at 12 s');
  const at17 = await render(svg('blockade-graph-split.svg'));
  assert.ok(at17.pixels.partition > 40, 'the cut at 17 s');
  const bastion = await render(svg('bastion-graph.svg'));
  assert.equal((await page.$$('g.node[data-kind="network"]')).length, 2);
  assert.ok(bastion.png.length > 1000);
});
