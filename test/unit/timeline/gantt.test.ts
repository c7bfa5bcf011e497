// Golden tests for the charts: the exact text and SVG for fixed inputs. If a change to the
// renderers is intended, update the goldens below and review the diff as you would a picture.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TimelineSpec } from '../../../src/api/types.js';
import { evaluate, renderGantt, renderSvg, type TimelineContext } from '../../../src/timeline/index.js';

const SPEC: TimelineSpec = {
  duration: '10m',
  faults: [
    { name: 'slow-clients', at: '30s', duration: '1m', repeat: { every: '3m' } },
    { name: 'split', at: '4m', duration: '1m' },
    { name: 'flap', schedule: '*/2 * * * *', duration: '30s' },
    { name: 'tail', at: '8m' },
  ],
};
const CTX: TimelineContext = {
  startedAt: new Date('2026-03-01T12:00:00Z'),
  now: new Date('2026-03-01T12:03:45Z'),
  seed: 1,
  lastObservedAt: new Date('2026-03-01T12:01:00Z'), // flap's 12:02 window was missed
};
const gantt = (spec: TimelineSpec, ctx: TimelineContext, width: number) =>
  renderGantt(spec, evaluate(spec, ctx), ctx, width);

describe('renderGantt', () => {
  it('running: past, active, missed and planned windows, the now marker', () => {
    assert.equal(
      gantt(SPEC, CTX, 60),
      `scenario Running  start 2026-03-01T12:00:00.000Z  end +10m  now +3m45s  next +4m
              0s          2m          4m          6m          8m          10m
              +-----------+-----------+-----------+-----------+-----------+
slow-clients     ======            ######            ++++++            +++  Active     windows 2
split                               | ++++++                                Scheduled  windows 0
flap          ===         xxx       | +++         +++         +++           Missed     windows 2, missed 1
tail                                |                         ++++++++++++  Scheduled  windows 0
                                    ^ now
= past  # active  ~ suspended  x missed  + planned
`,
    );
  });

  it('suspended: the would-be active window is drawn with ~', () => {
    const spec = { ...SPEC, suspend: true };
    assert.equal(
      gantt(spec, CTX, 40),
      `scenario Suspended  start 2026-03-01T12:00:00.000Z  end +10m  now +3m45s  next +4m
              0s                  5m                  10m
              +-------------------+-------------------+
slow-clients    ====        ~~~~        ++++        ++  Suspended  windows 2
split                        |++++                      Scheduled  windows 0
flap          ==      xx     |++      ++      ++        Missed     windows 2, missed 1
tail                         |                ++++++++  Scheduled  windows 0
                             ^ now
= past  # active  ~ suspended  x missed  + planned
`,
    );
  });

  it('pending: the chart starts at now, before the scenario', () => {
    const ctx = { ...CTX, now: new Date('2026-03-01T11:59:00Z'), lastObservedAt: undefined };
    assert.equal(
      gantt(SPEC, ctx, 40),
      `scenario Pending  start 2026-03-01T12:00:00.000Z  end +10m  now -1m  next +0s
                  0s                5m                10m
              ----+-----------------+-----------------+
slow-clients  |    +++++      ++++       ++++       ++  Scheduled  windows 0
split         |                 ++++                    Scheduled  windows 0
flap          |  +++    +++     ++     +++    +++       Scheduled  windows 0
tail          |                               ++++++++  Scheduled  windows 0
              ^ now
= past  # active  ~ suspended  x missed  + planned
`,
    );
  });

  it('open-ended scenario: drawn to a little past the next known window', () => {
    const spec: TimelineSpec = {
      faults: [
        { name: 'tick', duration: '20s', repeat: { every: '1m' } },
        { name: 'forever', at: '2m' },
      ],
    };
    const ctx = { startedAt: new Date('2026-03-01T12:00:00Z'), now: new Date('2026-03-01T12:02:30Z'), seed: 1 };
    assert.equal(
      gantt(spec, ctx, 50),
      `scenario Running  start 2026-03-01T12:00:00.000Z  now +2m30s  next +3m
         0s           1m          2m           3m          4m
         +------------+-----------+------------+-----------+
tick     =====       =====        ===== |     +++++          Scheduled  windows 3
forever                           #########################  Active     windows 1
                                        ^ now
= past  # active  ~ suspended  x missed  + planned
`,
    );
  });

  it('every fault row has exactly width columns of time', () => {
    for (const width of [10, 33, 80, 200]) {
      const rows = gantt(SPEC, CTX, width).split('\n').slice(3, 7);
      for (const row of rows) assert.match(row.slice(14, 14 + width + 2), new RegExp(`^[ =#~x+|]{${width}}  `));
    }
  });

  it('is deterministic', () => {
    assert.equal(gantt(SPEC, CTX, 72), gantt(structuredClone(SPEC), { ...CTX }, 72));
  });
});

describe('renderSvg', () => {
  it('golden: bars with classes and titles, axis, now line; names escaped', () => {
    const spec: TimelineSpec = {
      duration: '5m',
      faults: [
        { name: 'a&b', at: '1m', duration: '1m' },
        { name: 'c', schedule: '*/2 * * * *', duration: '20s' },
      ],
    };
    const ctx = { startedAt: new Date('2026-03-01T12:00:00Z'), now: new Date('2026-03-01T12:01:30Z'), seed: 1 };
    assert.equal(
      renderSvg(spec, evaluate(spec, ctx), ctx, 400),
      `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="112" viewBox="0 0 400 112" font-family="monospace" font-size="12">
<title>scenario Running  start 2026-03-01T12:00:00.000Z  end +5m  now +1m30s  next +2m</title>
<text x="4" y="14">scenario Running  end +5m  now +1m30s  next +2m</text>
<g class="axis" stroke="#555">
<line x1="40" y1="38" x2="250" y2="38"/>
<line x1="40" y1="34" x2="40" y2="38"/>
<text x="40" y="30" text-anchor="middle" stroke="none">0s</text>
<line x1="124" y1="34" x2="124" y2="38"/>
<text x="124" y="30" text-anchor="middle" stroke="none">2m</text>
<line x1="208" y1="34" x2="208" y2="38"/>
<text x="208" y="30" text-anchor="middle" stroke="none">4m</text>
</g>
<g class="fault" data-fault="a&amp;b">
<text x="4" y="59">a&amp;b</text>
<rect class="active" x="82" y="48" width="42" height="14" fill="#d64545"><title>a&amp;b active 2026-03-01T12:01:00.000Z .. 2026-03-01T12:02:00.000Z</title></rect>
<text x="258" y="59">Active windows 1</text>
</g>
<g class="fault" data-fault="c">
<text x="4" y="81">c</text>
<rect class="past" x="40" y="70" width="14" height="14" fill="#9aa5b1"><title>c past 2026-03-01T12:00:00.000Z .. 2026-03-01T12:00:20.000Z</title></rect>
<rect class="planned" x="124" y="70" width="14" height="14" fill="#8fb8de"><title>c planned 2026-03-01T12:02:00.000Z .. 2026-03-01T12:02:20.000Z</title></rect>
<rect class="planned" x="208" y="70" width="14" height="14" fill="#8fb8de"><title>c planned 2026-03-01T12:04:00.000Z .. 2026-03-01T12:04:20.000Z</title></rect>
<text x="258" y="81">Scheduled windows 1</text>
</g>
<line class="now" x1="103" y1="34" x2="103" y2="88" stroke="#000" stroke-dasharray="4 2"/>
<text x="103" y="106" text-anchor="middle">now</text>
</svg>
`,
    );
  });

  it('has one rect per drawn stretch and no script', () => {
    const svg = renderSvg(SPEC, evaluate(SPEC, CTX), CTX, 800);
    assert.equal((svg.match(/<rect /g) ?? []).length, 4 + 1 + 5 + 1);
    assert.doesNotMatch(svg, /<script|href=/);
  });
});

describe('renderSvg: fault colours', () => {
  it('a fault with an action is drawn in its kind colour (the colours of faultline graph)', async () => {
    const { FAULT_COLOURS } = await import('../../../src/timeline/colours.js');
    const spec = {
      duration: '5m',
      faults: [
        { name: 'cut', at: '1m', duration: '1m', partition: { groups: [['a'], ['b']] } },
        { name: 'slow', at: '3m', duration: '1m', netem: { delay: '100ms' } },
      ],
    } as unknown as TimelineSpec;
    const ctx = { startedAt: new Date('2026-03-01T12:00:00Z'), now: new Date('2026-03-01T12:01:30Z'), seed: 1 };
    const svg = renderSvg(spec, evaluate(spec, ctx), ctx, 400);
    assert.match(svg, /<g class="fault" data-fault="cut" data-kind="partition">/);
    assert.match(svg, new RegExp(`<rect class="active" [^>]* fill="${FAULT_COLOURS.partition}">`));
    assert.match(
      svg,
      new RegExp(
        `<rect class="planned" [^>]* fill="${FAULT_COLOURS.netem}" fill-opacity="0.12" stroke="${FAULT_COLOURS.netem}">`,
      ),
    );
  });
});
