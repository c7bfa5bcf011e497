import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Document, parseDocument } from 'yaml';
import { specHash } from '../../../src/api/hash.js';
import type { ScenarioStatus } from '../../../src/api/types.js';
import {
  type StatusEdit,
  applyMerge,
  generationOf,
  rewriteMinimally,
  statusEntryText,
  withStatus,
} from '../../../src/store/yamlEdit.js';
import { SCENARIO } from './helpers.js';

/** The text with the status entry and the generation line cut out: what a person owns. */
function personsPart(text: string): string {
  const entry = statusEntryText(text);
  const cut = entry === undefined ? text : text.replace(entry, '<status>\n');
  return cut.replace(/^ {2}generation: \d+\n/m, '');
}

function statusOf(text: string): unknown {
  return (parseDocument(text).toJS() as { status?: unknown }).status;
}

/** withStatus that must succeed. */
function edited(text: string, status: ScenarioStatus, opts: { reconciledSpecHash?: string } = {}): StatusEdit {
  const out = withStatus(text, status, opts);
  assert.ok(!('notEditable' in out), `withStatus refused: ${'notEditable' in out ? out.notEditable : ''}`);
  return out;
}

function write(text: string, status: ScenarioStatus, reconciledSpecHash?: string): string {
  return edited(text, status, { reconciledSpecHash }).text;
}

/** withStatus(text, {phase: 'Running'}) gives exactly `want`, by `method`; returns the edit. */
function writesRunning(text: string, method: StatusEdit['method'], want: string): StatusEdit {
  const out = edited(text, { phase: 'Running' });
  assert.equal(out.method, method);
  assert.equal(out.text, want);
  return out;
}

describe("withStatus: the person's bytes", () => {
  it('keeps every byte outside status and the generation line across repeated writes', () => {
    let text = SCENARIO;
    const methods: string[] = [];
    for (let i = 0; i < 20; i++) {
      const status: ScenarioStatus =
        i % 3 === 0
          ? {
              observedGeneration: 1,
              phase: 'Running',
              conditions: [
                {
                  type: 'Ready',
                  status: 'True',
                  reason: 'Converged',
                  message: `round ${i}`,
                  lastTransitionTime: '2025-01-01T00:00:00Z',
                },
              ],
            }
          : i % 3 === 1
            ? {
                observedGeneration: 1,
                phase: 'Pending',
                events: [{ time: 't', type: 'Normal', reason: 'R', message: 'multi\nline' }],
              }
            : {};
      const out = edited(text, status);
      assert.ok(out);
      methods.push(out.method);
      text = out.text;
      assert.equal(personsPart(text), personsPart(SCENARIO));
    }
    // Into the file's empty status: written anew; from then on patched where it changed.
    assert.deepEqual(methods, ['splice', ...Array<string>(19).fill('patch')]);
    // The lines a reformatting printer would have changed are still exactly as written.
    for (const line of [
      '  labels: {team: net,  tier: "gold"}',
      "  description:   'two halves'   # why we do this",
      '    partition: { groups: [[server], [client1, client2]] }',
      '  - name: split',
      '# a note a person left at the end',
    ]) {
      assert.ok(text.includes(`${line}\n`), `lost: ${line}`);
    }
    // The comment on the status line stays on the status line.
    assert.match(text, /^status: +# written by the controller only\n {2}\S/m);
  });

  it("inserts metadata.generation right after metadata.name, in the file's indentation", () => {
    const text = write(SCENARIO, { observedGeneration: 1 });
    assert.ok(text.includes('  name: split-brain            # unique in the directory\n  generation: 1\n  labels:'));
  });

  it('appends status at the end when the file has none (also without a final newline)', () => {
    const bare = 'metadata:\n  name: a\nspec:\n  suspend: true';
    const text = write(bare, { phase: 'Suspended' });
    assert.ok(
      text.startsWith('metadata:\n  name: a\n  generation: 1\nspec:\n  suspend: true\nstatus:\n  phase: Suspended\n'),
    );
  });

  it('writes into a file without metadata through the Document API, still changing only what it adds', () => {
    const bare = 'apiVersion: v   # no metadata yet\nspec: {a: [b]}  # c\n';
    writesRunning(
      bare,
      'document',
      `apiVersion: v   # no metadata yet\nspec: {a: [b]}  # c\nmetadata:\n  generation: 1\nstatus:\n  phase: Running\n  specHash: ${specHash({ a: ['b'] })}\n`,
    );
  });

  it('refuses a document that is not a mapping, or not data, saying why', () => {
    const refused = (text: string): string => {
      const out = withStatus(text, {});
      assert.ok('notEditable' in out, `expected a refusal for ${JSON.stringify(text)}`);
      return out.notEditable;
    };
    assert.match(refused('- a\n- b\n'), /the document is a list, not a mapping/);
    assert.match(refused('key: [unclosed\n'), /not valid YAML/);
    // A billion laughs: parses, but expanding it is refused.
    let bomb = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 9; i++)
      bomb += `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]\n`;
    assert.match(refused(`metadata:\n  name: a\n${bomb}`), /aliases cannot be expanded/);
    assert.throws(() => applyMerge(`metadata:\n  name: a\n${bomb}`, undefined), /too many aliases/);
  });
});

describe('withStatus: status and generation', () => {
  it('replaces the status entry instead of merging into it', () => {
    const first = write(SCENARIO, {
      observedGeneration: 1,
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True', reason: 'Converged', message: 'ok', lastTransitionTime: 't' }],
      startedAt: '2025-01-01T00:00:00Z',
    });
    const second = write(first, { observedGeneration: 1, phase: 'Failed' });
    const spec = (parseDocument(SCENARIO).toJS() as { spec: unknown }).spec;
    assert.deepEqual(statusOf(second), { observedGeneration: 1, phase: 'Failed', specHash: specHash(spec) });
  });

  it('bumps the generation only when the spec changes', () => {
    const g = (t: string) => (parseDocument(t).toJS() as { metadata: { generation: number } }).metadata.generation;
    let text = write(SCENARIO, { observedGeneration: 1 });
    assert.equal(g(text), 1);
    text = write(text, { observedGeneration: 1, phase: 'Running' });
    assert.equal(g(text), 1, 'a second write of the same spec');

    const commented = text.replace('  suspend: false\n', '  # paused on Fridays\n  suspend: false\n');
    assert.equal(g(write(commented, { observedGeneration: 1 })), 1, 'a comment edit');

    const statusEdited = text.replace('phase: Running', 'phase: Completed');
    assert.equal(g(write(statusEdited, { observedGeneration: 1 })), 1, 'a status edit by hand');

    const reformatted = text.replace(
      '    partition: { groups: [[server], [client1, client2]] }',
      '    partition:\n      groups:\n        - [server]\n        - [client1, client2]',
    );
    assert.equal(g(write(reformatted, { observedGeneration: 1 })), 1, 'the same spec, formatted differently');

    const specEdited = text.replace('  suspend: false', '  suspend: true');
    const out = edited(specEdited, { observedGeneration: 1 });
    assert.ok(out);
    assert.equal(out.generation, 2);
    assert.equal(out.bumped, true);
    assert.equal(g(out.text), 2, 'a spec edit');
    assert.equal(
      (statusOf(out.text) as { specHash: string }).specHash,
      specHash({ ...(parseDocument(specEdited).toJS() as { spec: object }).spec }),
    );
  });

  it('makes the generation newer than observedGeneration when the status describes an older spec', () => {
    // The controller reconciled spec A (generation 1), a person saved spec B before the status write.
    const a = write(SCENARIO, { observedGeneration: 1 });
    const hashA = generationOf(parseDocument(a)).specHash;
    const b = a.replace('  suspend: false', '  suspend: true');
    const out = edited(b, { observedGeneration: 1 }, { reconciledSpecHash: hashA });
    assert.ok(out);
    assert.equal(out.generation, 2);
    // Even when the file never recorded a hash, the status must not claim generation 1 for spec B.
    const fresh = edited(
      SCENARIO.replace('  suspend: false', '  suspend: true'),
      { observedGeneration: 1 },
      { reconciledSpecHash: hashA },
    );
    assert.equal(fresh?.generation, 2);
  });
});

describe('generationOf', () => {
  const spec = { suspend: true };
  const h = specHash(spec);
  const cases: [string, unknown, { generation: number; changed: boolean }][] = [
    ['fresh file', { metadata: { name: 'a' }, spec }, { generation: 1, changed: true }],
    [
      'recorded, unchanged',
      { metadata: { generation: 3 }, spec, status: { specHash: h } },
      { generation: 3, changed: false },
    ],
    [
      'recorded, spec edited',
      { metadata: { generation: 3 }, spec: { suspend: false }, status: { specHash: h } },
      { generation: 4, changed: true },
    ],
    [
      'generation deleted by hand',
      { metadata: {}, spec, status: { specHash: h, observedGeneration: 5 } },
      { generation: 5, changed: false },
    ],
    ['status deleted by hand', { metadata: { generation: 3 }, spec }, { generation: 4, changed: true }],
    ['not an object', 'text', { generation: 1, changed: true }],
  ];
  for (const [name, input, want] of cases) {
    it(name, () => {
      const got = generationOf(input);
      assert.deepEqual({ generation: got.generation, changed: got.changed }, want);
    });
  }
  it('reads a yaml Document like the plain object it holds', () => {
    const text = `metadata:\n  generation: 3\nspec:\n  suspend: true\nstatus:\n  specHash: ${h}\n`;
    assert.deepEqual(generationOf(parseDocument(text)), { generation: 3, specHash: h, changed: false });
  });
});

describe('applyMerge', () => {
  const withStatusText = write(SCENARIO, { observedGeneration: 1, phase: 'Running' });

  it('takes everything from the source but the status entry and generation, which stay verbatim', () => {
    const source = SCENARIO.replace("'two halves'", '"both halves"').replace(
      'status: {}                      # written by the controller only\n',
      '',
    );
    const out = applyMerge(source, withStatusText);
    assert.ok(out.includes(statusEntryText(withStatusText) as string));
    assert.ok(out.includes('  generation: 1\n'));
    assert.ok(out.includes('"both halves"'));
    assert.equal(personsPart(out), `${source}<status>\n`, 'the status entry goes at the end, nothing else differs');
  });

  it('drops the status content and generation the source carries', () => {
    const source = 'metadata:\n  name: a\n  generation: 9\nspec: {}\nstatus:  # ours\n  phase: Running\n';
    assert.equal(applyMerge(source, undefined), 'metadata:\n  name: a\nspec: {}\nstatus: {}  # ours\n');
    assert.equal(applyMerge(source, 'metadata:\n  name: a\nspec: {}\n'), 'metadata:\n  name: a\nspec: {}\n');
  });

  it('gives back the file unchanged when the same source is applied again', () => {
    for (const source of [SCENARIO, SCENARIO.replace(/^status: .*\n/m, '')]) {
      const created = applyMerge(source, undefined);
      assert.equal(applyMerge(source, created), created);
      const statused = write(created, { observedGeneration: 1, phase: 'Running' });
      assert.equal(applyMerge(source, statused), statused);
    }
  });

  it('explains a source that is not YAML', () => {
    assert.throws(() => applyMerge('a: [unclosed\n', undefined), /not a YAML mapping; fix its syntax/);
  });
});

// Issue 12: status writes reformatted the spec (`{name: x}` became `{ name: x, generation: 1 }`).
// Golden texts: every byte outside the status entry and the generation value is the file's own.
describe('withStatus: golden texts (flow collections, comments, CRLF)', () => {
  it('flow-style metadata gets its generation inside the braces, nothing re-spaced', () => {
    const text = 'metadata: {name: a}   # flow style\nspec: {suspend: true, targets: [c1]}  # [c1] stays [c1]\n';
    const out = writesRunning(
      text,
      'splice',
      `metadata: {name: a, generation: 1}   # flow style\nspec: {suspend: true, targets: [c1]}  # [c1] stays [c1]\nstatus:\n  phase: Running\n  specHash: ${specHash({ suspend: true, targets: ['c1'] })}\n`,
    );
    // A second write changes the status only; a spec edit changes the generation value only.
    assert.equal(write(out.text, { phase: 'Pending' }), out.text.replace('phase: Running', 'phase: Pending'));
    const specEdited = out.text.replace('suspend: true', 'suspend: false');
    const bumped = write(specEdited, { phase: 'Pending' });
    assert.ok(
      bumped.startsWith(
        'metadata: {name: a, generation: 2}   # flow style\nspec: {suspend: false, targets: [c1]}  # [c1] stays [c1]\nstatus:\n',
      ),
    );
  });

  it('keeps the padding a file uses inside braces, and puts the generation after the name', () => {
    const text = 'metadata: { name: a, labels: { x: y } }\nspec: { suspend: true }\n';
    assert.equal(
      write(text, {}),
      `metadata: { name: a, generation: 1, labels: { x: y } }\nspec: { suspend: true }\nstatus:\n  specHash: ${specHash({ suspend: true })}\n`,
    );
    assert.equal(
      write('metadata: {}\nspec: {}\n', {}),
      `metadata: {generation: 1}\nspec: {}\nstatus:\n  specHash: ${specHash({})}\n`,
    );
    const multiline = 'metadata: {\n  name: a,   # the name\n  labels: {x: y}\n}\nspec: {}\n';
    assert.ok(
      write(multiline, {}).startsWith(
        'metadata: {\n  name: a, generation: 1,   # the name\n  labels: {x: y}\n}\nspec: {}\n',
      ),
    );
  });

  it('a CRLF file stays CRLF: inserted lines included, comments on the status line kept', () => {
    const text = 'apiVersion: v\r\nmetadata:\r\n  name: a   # c\r\nspec:\r\n  targets: [c1]\r\nstatus: {}   # ours\r\n';
    writesRunning(
      text,
      'splice',
      `apiVersion: v\r\nmetadata:\r\n  name: a   # c\r\n  generation: 1\r\nspec:\r\n  targets: [c1]\r\nstatus:   # ours\r\n  phase: Running\r\n  specHash: ${specHash({ targets: ['c1'] })}\r\n`,
    );
    const flow = 'metadata: {name: a}\r\nspec: {x: [c1]}\r\n';
    assert.equal(
      write(flow, {}),
      `metadata: {name: a, generation: 1}\r\nspec: {x: [c1]}\r\nstatus:\r\n  specHash: ${specHash({ x: ['c1'] })}\r\n`,
    );
  });

  it('a file without a final newline gets status on a line of its own', () => {
    assert.equal(
      write('metadata: {name: a}\nspec: {}', {}),
      `metadata: {name: a, generation: 1}\nspec: {}\nstatus:\n  specHash: ${specHash({})}\n`,
    );
  });

  it('applyMerge keeps flow-style metadata as written, generation carried over or dropped in place', () => {
    assert.equal(
      applyMerge('metadata: {name: a, generation: 9}\nspec: {x: [c1]}\n', undefined),
      'metadata: {name: a}\nspec: {x: [c1]}\n',
    );
    assert.equal(
      applyMerge(
        'metadata: {generation: 9, name: a}\nspec: {x: [c1]}\n',
        'metadata: {name: a, generation: 3}\nspec: {}\nstatus: {phase: R}\n',
      ),
      'metadata: {generation: 3, name: a}\nspec: {x: [c1]}\nstatus: {phase: R}\n',
    );
  });
});

describe('rewriteMinimally: a Document edit written back changing only what changed', () => {
  const cases: [string, string, (d: Document) => void, string][] = [
    [
      'a scalar replaced',
      'spec:\n  seed: 1   # was\n  targets: [c1]\n',
      (d) => d.setIn(['spec', 'seed'], 42),
      'spec:\n  seed: 42   # was\n  targets: [c1]\n',
    ],
    [
      'a key added to a block map',
      'spec:\n  targets: [c1]   # two\n',
      (d) => d.setIn(['spec', 'seed'], 7),
      'spec:\n  targets: [c1]   # two\n  seed: 7\n',
    ],
    [
      'a key added to a flow map',
      'spec: {targets: [c1]}\n',
      (d) => d.setIn(['spec', 'seed'], 7),
      'spec: {targets: [c1], seed: 7}\n',
    ],
    [
      'a key removed from a flow map',
      'a: {x: 1, y: [c1]}  # c\n',
      (d) => d.deleteIn(['a', 'x']),
      'a: {y: [c1]}  # c\n',
    ],
    ['a key removed from a block map', 'a:\n  x: 1\n  y: [c1]\n', (d) => d.deleteIn(['a', 'x']), 'a:\n  y: [c1]\n'],
    ['a value that needs quotes', 'a: {x: 1}\n', (d) => d.setIn(['a', 'x'], 'b: c'), 'a: {x: "b: c"}\n'],
    [
      'a block value replaced by a collection',
      'a: [x]\nb:   # keep me\n  - 1\n',
      (d) => d.set('b', d.createNode({ k: [1] })),
      'a: [x]\nb:   # keep me\n  k:\n    - 1\n',
    ],
    [
      'items appended',
      'a: [x]\nc:\n  - 1  # one\n',
      (d) => {
        d.addIn(['a'], 'y');
        d.addIn(['c'], 2);
      },
      'a: [x, y]\nc:\n  - 1  # one\n  - 2\n',
    ],
    [
      'CRLF',
      'spec:\r\n  targets: [c1]\r\n',
      (d) => d.setIn(['spec', 'seed'], 7),
      'spec:\r\n  targets: [c1]\r\n  seed: 7\r\n',
    ],
    // Not spliceable (keys reordered): printed, with the file's own flow spacing.
    [
      'reordered: printed tight like the file',
      'a: [c1]\nb: {x: y}\n',
      (d) => {
        const a = d.get('a', true);
        d.delete('a');
        d.set('a', a);
      },
      'b: {x: y}\na: [c1]\n',
    ],
  ];
  for (const [name, text, edit, want] of cases) {
    it(name, () => {
      const d = parseDocument(text);
      edit(d);
      assert.equal(rewriteMinimally(text, d), want);
    });
  }
});

describe('withStatus: a JSON patch, so unchanged status lines never move', () => {
  const base = `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata: {name: web, generation: 1}
spec: {networks: [{name: n}]}
status:
    # the controller's, kept as it was written
    phase: 'Running'
    observedGeneration: 1
    conditions:
        -   type: Ready
            status: "True"      # quoted on purpose
            reason: Converged
            message: all good
    specHash: ${specHash({ networks: [{ name: 'n' }] })}
`;
  const before = statusOf(base) as ScenarioStatus;

  it('changes only the line of the value that changed, whatever the status looks like', () => {
    const next = structuredClone(before);
    next.conditions![0].message = 'still good';
    const out = edited(base, next);
    assert.equal(out.method, 'patch');
    const a = base.split('\n');
    const b = out.text.split('\n');
    assert.equal(a.length, b.length);
    const changed = a.flatMap((l, i) => (l === b[i] ? [] : [[l, b[i]]]));
    assert.deepEqual(changed, [['            message: all good', '            message: still good']]);
  });

  it('adds a key and a list item in block style, next to what is there; removes a key by its line', () => {
    const next = structuredClone(before) as ScenarioStatus & Record<string, unknown>;
    next.conditions!.push({
      type: 'Degraded',
      status: 'False',
      reason: 'AsExpected',
      message: 'm',
      lastTransitionTime: 't',
    });
    delete (next as Record<string, unknown>).phase;
    next.seed = 7;
    const out = edited(base, next);
    assert.equal(out.method, 'patch');
    assert.deepEqual(statusOf(out.text), { ...next, specHash: before.specHash });
    assert.ok(out.text.includes('            status: "True"      # quoted on purpose\n'));
    assert.ok(out.text.includes("    # the controller's, kept as it was written\n"));
    assert.match(out.text, /\n {8}- type: Degraded\n {10}status: "False"\n/);
    assert.doesNotMatch(out.text, /phase/);
    assert.match(out.text, /\n {4}seed: 7\n$/);
    assert.ok(out.text.startsWith(base.slice(0, base.indexOf('status:'))), 'nothing before status moved');
  });

  it('a status that is empty or in flow style is written anew (nothing of a person to keep)', () => {
    assert.equal(edited(base.replace(/status:[^]*$/, 'status: {}\n'), before).method, 'splice');
    assert.equal(edited(base.replace(/status:[^]*$/, 'status: {phase: X}\n'), before).method, 'splice');
  });
});
