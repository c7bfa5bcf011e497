// splitTrailingStatus: where the status block that ends a file begins, and why parsing only the
// part before it reads the file as parsing all of it does (the reconciler relies on it when the
// block is one it read or wrote before).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { parseScenario } from '../../../src/api/parse.js';
import { readName, splitTrailingStatus } from '../../../src/store/yamlEdit.js';

const SPEC = `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: shop # the shop
spec:
  containers:
    - { name: a, image: faultline/testbox }
`;
const STATUS = `status:
  phase: Running
  observedGeneration: 2
  faults:
    - name: x
      state: Active # ours
`;

describe('splitTrailingStatus', () => {
  it('a controller-written file: the spec part and the status block, which together are the file', () => {
    const s = splitTrailingStatus(SPEC + STATUS);
    assert.deepEqual(s, { head: SPEC, tail: STATUS });
  });

  it('comments and blank lines after the block, a comment on its key line, CRLF: still the last entry', () => {
    for (const [head, tail] of [
      [SPEC, `${STATUS}\n# a person's note\n\n`],
      [SPEC, 'status: # controller only\n  phase: Running\n'],
      [SPEC.replaceAll('\n', '\r\n'), STATUS.replaceAll('\n', '\r\n')],
      [SPEC, 'status:\n'],
    ])
      assert.deepEqual(splitTrailingStatus(head + tail), { head, tail });
  });

  it('no split where the status is not the last block entry of the one document', () => {
    for (const text of [
      SPEC, // no status
      `${STATUS}${SPEC}`, // a key after it at column 0
      `${SPEC}status: { phase: Running }\n`, // flow: not a block
      `${SPEC}status: Running\n`,
      `${SPEC}status:#x\n  a: 1\n`, // not a comment: the key is "status:#x"
      `${SPEC}${STATUS}...\n`, // document end after it
      `${SPEC}---\nkind: Other\n${STATUS}`, // a second document holds the status
      `${SPEC}${STATUS}\tphase: x\n`, // a tab at column 0
    ])
      assert.equal(splitTrailingStatus(text), undefined, JSON.stringify(text));
  });

  it('where the head parses alone, the whole file parses as the head plus that status', () => {
    // Heads that end in every kind of node a status line at column 0 could be read into (metadata
    // last, so that its annotations, free text, end the head).
    const META = SPEC.replace('metadata:\n  name: shop # the shop\n', '') + 'metadata:\n  name: shop\n';
    const heads = [
      SPEC,
      `${META}  annotations:\n    note: |\n      a block scalar\n      of two lines\n`,
      `${META}  annotations:\n    note: >-\n      folded\n`,
      `${META}  annotations:\n    note: a plain scalar\n      continued on a second line\n`,
      `${META}  labels: &l { a: b }\n  annotations: *l\n`,
      `${META}# a comment last\n`,
      `${META}  annotations: { note: "a quoted scalar`, // open: the head alone is refused
      `${META}  annotations: { note: [a,\n`, // open flow: refused
      `${META}  annotations:\n    note: |\n`, // empty block scalar
      `---\n${SPEC}`,
    ];
    let compared = 0;
    for (const head of heads) {
      const text = head + (head.endsWith('\n') ? '' : '\n') + STATUS;
      const s = splitTrailingStatus(text);
      if (!s) continue;
      const alone = parseScenario(s.head, 'shop.yaml');
      const whole = parseScenario(text, 'shop.yaml');
      if (!alone.ok) continue; // the reconciler then parses the whole text
      assert.ok(whole.ok, `${JSON.stringify(head)}: the whole file is refused where its head is not`);
      assert.deepEqual(alone.scenario, whole.scenario, JSON.stringify(head));
      const full = whole.doc.toJS() as { status?: unknown };
      assert.deepEqual(full.status, (parseDocument(s.tail).toJS() as { status?: unknown }).status);
      assert.deepEqual({ ...(alone.doc.toJS() as object), status: full.status }, full);
      compared++;
    }
    assert.equal(compared, heads.length - 2, 'every head but the two left open was compared');
  });

  it('readName finds the name in the spec part, and in the whole file when that part alone is not YAML', () => {
    assert.deepEqual(readName(SPEC + STATUS), { name: 'shop' });
    const broken = `${SPEC.replace('metadata:', 'x: [\nmetadata:')}${STATUS}`;
    assert.deepEqual(readName(broken), readName(broken.replace(STATUS, '')));
  });
});
