// The /events decoder and the reconnect loop, driven by fake streams: no daemon is restarted.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import {
  JsonObjectStreamDecoder,
  toDockerEvent,
  watchWithReconnect,
  type EventStreamSource,
} from '../../../src/adapters/docker/events.js';
import { parseRestartPolicy } from '../../../src/adapters/docker/translate.js';
import type { DockerEvent } from '../../../src/ports/index.js';

// Docker's timeNano is a JSON number: past 2^53 it loses precision in JSON.parse exactly as here.
// eslint-disable-next-line no-loss-of-precision
function rawEvent(action: string, id: string, timeNano = 1_700_000_000_123_456_789) {
  return {
    status: action,
    id,
    Type: 'container',
    Action: action,
    Actor: { ID: id, Attributes: { name: `c-${id}`, 'faultline.dev/managed-by': 'faultline' } },
    scope: 'local',
    time: Math.floor(timeNano / 1e9),
    timeNano,
  };
}

function decodeAll(chunks: (string | Buffer)[]) {
  const values: unknown[] = [];
  const errors: Error[] = [];
  const d = new JsonObjectStreamDecoder(
    (v) => values.push(v),
    (e) => errors.push(e),
    200,
  );
  for (const c of chunks) d.push(c);
  d.end();
  return { values, errors };
}

describe('JsonObjectStreamDecoder', () => {
  const one = JSON.stringify({ a: 1, s: 'x}{"\\"y' });
  const two = JSON.stringify({ b: [1, { c: '}' }] });

  it('decodes one object per line', () => {
    assert.deepEqual(decodeAll([`${one}\n${two}\n`]).values, [JSON.parse(one), JSON.parse(two)]);
  });

  it('decodes objects split at every possible byte', () => {
    const text = `${one}\n${two}\n`;
    for (let cut = 1; cut < text.length; cut++) {
      const { values, errors } = decodeAll([text.slice(0, cut), text.slice(cut)]);
      assert.deepEqual(values, [JSON.parse(one), JSON.parse(two)], `cut at ${cut}`);
      assert.deepEqual(errors, []);
    }
  });

  it('decodes objects merged without a separator, and one byte at a time', () => {
    assert.equal(decodeAll([one + two]).values.length, 2);
    assert.equal(decodeAll([...`${one}\n${two}`].map((ch) => ch)).values.length, 2);
  });

  it('decodes a multi-byte UTF-8 character split across chunks', () => {
    const buf = Buffer.from(JSON.stringify({ name: 'grüße-✓' }) + '\n');
    const at = buf.indexOf(Buffer.from('✓')) + 1; // inside the 3-byte sequence
    assert.deepEqual(decodeAll([buf.subarray(0, at), buf.subarray(at)]).values, [{ name: 'grüße-✓' }]);
  });

  it('reports garbage and oversized objects, then resumes at the next line', () => {
    const big = JSON.stringify({ pad: 'x'.repeat(300) });
    const { values, errors } = decodeAll([`nonsense\n${big}\n${one}\n`]);
    assert.deepEqual(values, [JSON.parse(one)]);
    assert.equal(errors.length, 2);
    assert.match(errors[0].message, /unexpected "n"/);
    assert.match(errors[1].message, /larger than 200 characters/);
  });

  it('reports a stream that ends inside an object', () => {
    const { values, errors } = decodeAll([one.slice(0, 5)]);
    assert.deepEqual(values, []);
    assert.match(errors[0].message, /ended inside a JSON object/);
  });
});

describe('toDockerEvent', () => {
  it('maps type, action, actor, attributes and time', () => {
    assert.deepEqual(toDockerEvent(rawEvent('start', 'abc')), {
      type: 'container',
      action: 'start',
      actorId: 'abc',
      attributes: { name: 'c-abc', 'faultline.dev/managed-by': 'faultline' },
      time: 1_700_000_000,
    });
  });

  it('maps a network event (the container is an attribute)', () => {
    const e = toDockerEvent({
      Type: 'network',
      Action: 'connect',
      Actor: { ID: 'net1', Attributes: { container: 'c1', name: 'n', type: 'bridge' } },
      time: 5,
    });
    assert.deepEqual(e, {
      type: 'network',
      action: 'connect',
      actorId: 'net1',
      attributes: { container: 'c1', name: 'n', type: 'bridge' },
      time: 5,
    });
  });

  it('ignores values that are not events', () => {
    assert.equal(toDockerEvent({ hello: 1 }), undefined);
    assert.equal(toDockerEvent(null), undefined);
    assert.equal(toDockerEvent('start'), undefined);
  });
});

describe('watchWithReconnect', () => {
  /** A scripted event source: each call takes the next step. */
  function scripted(steps: ((s: PassThrough) => void | Error)[]) {
    const calls: { since?: string }[] = [];
    const source: EventStreamSource = async ({ since }) => {
      calls.push({ since });
      const step = steps[Math.min(calls.length - 1, steps.length - 1)];
      const s = new PassThrough();
      const failure = step(s);
      if (failure) throw failure;
      return s;
    };
    return { source, calls };
  }
  const line = (v: unknown) => JSON.stringify(v) + '\n';

  it('reopens after end, failed open and stream error, with growing backoff; resyncs after each reopen', async () => {
    const ac = new AbortController();
    const events: DockerEvent[] = [];
    const sleeps: number[] = [];
    const errors: string[] = [];
    let reconnects = 0;
    // eslint-disable-next-line no-loss-of-precision
    const first = rawEvent('start', 'a', 1_700_000_001_000_000_007);
    const { source, calls } = scripted([
      (s) => {
        // Two events split across three chunks, then the daemon goes away.
        const text = line(first) + line(rawEvent('die', 'a', 1_700_000_002_000_000_000));
        setImmediate(() => {
          s.write(text.slice(0, 10));
          s.write(text.slice(10, 200));
          s.end(text.slice(200));
        });
      },
      () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      (s) => {
        setImmediate(() => {
          s.write(line(rawEvent('start', 'b', 1_700_000_003_000_000_000)));
          setImmediate(() => s.destroy(new Error('socket hang up')));
        });
      },
      (s) => {
        setImmediate(() => s.write(line(rawEvent('destroy', 'b', 1_700_000_004_000_000_000))));
      },
    ]);
    const done = watchWithReconnect(
      source,
      (e) => {
        events.push(e);
        if (e.action === 'destroy') ac.abort();
      },
      ac.signal,
      () => reconnects++,
      {
        now: () => 1_700_000_000_000,
        sleep: async (ms) => void sleeps.push(ms),
        onError: (e) => errors.push(e.message),
      },
    );
    await done;
    assert.deepEqual(
      events.map((e) => `${e.action} ${e.actorId}`),
      ['start a', 'die a', 'start b', 'destroy b'],
    );
    assert.deepEqual(sleeps, [200, 400, 800]);
    assert.equal(reconnects, 2, 'after the 3rd and 4th open, not the first, not the failed one');
    assert.equal(calls.length, 4);
    assert.equal(calls[0].since, '1700000000.000000000', 'first open replays from the call');
    assert.equal(calls[1].since, '1700000002.000000000', 'reopen replays from the last event seen');
    assert.deepEqual(errors, [
      'Docker event stream ended (engine restarting?)',
      'connect ECONNREFUSED',
      'socket hang up',
    ]);
  });

  it('caps the backoff, and resets it after a stream that stayed up', async () => {
    const ac = new AbortController();
    const sleeps: number[] = [];
    let clock = 0;
    let opens = 0;
    const source: EventStreamSource = async () => {
      opens++;
      if (opens <= 7) throw new Error('down');
      const s = new PassThrough();
      if (opens === 8) {
        setImmediate(() => {
          clock += 10_000; // stayed up long enough
          s.end();
        });
      } else {
        ac.abort();
      }
      return s;
    };
    await watchWithReconnect(source, () => {}, ac.signal, undefined, {
      now: () => clock,
      sleep: async (ms) => void sleeps.push(ms),
    });
    assert.deepEqual(sleeps, [200, 400, 800, 1600, 3200, 5000, 5000, 200]);
  });

  it('a throwing onEvent is reported, not fatal', async () => {
    const ac = new AbortController();
    const seen: string[] = [];
    const errors: string[] = [];
    const { source } = scripted([
      (s) => {
        setImmediate(() => s.write(line(rawEvent('start', 'x')) + line(rawEvent('stop', 'x'))));
      },
    ]);
    await watchWithReconnect(
      source,
      (e) => {
        seen.push(e.action);
        if (e.action === 'start') throw new Error('consumer bug');
        ac.abort();
      },
      ac.signal,
      undefined,
      { onError: (e) => errors.push(e.message) },
    );
    assert.deepEqual(seen, ['start', 'stop']);
    assert.deepEqual(errors, ['consumer bug']);
  });

  it('returns at once when the signal is already aborted', async () => {
    let opened = 0;
    await watchWithReconnect(
      async () => (opened++, new PassThrough()),
      () => {},
      AbortSignal.abort(),
      undefined,
    );
    assert.equal(opened, 0);
  });
});

describe('parseRestartPolicy', () => {
  it('parses the compose forms', () => {
    assert.deepEqual(parseRestartPolicy('no'), { Name: 'no' });
    assert.deepEqual(parseRestartPolicy(''), { Name: 'no' });
    assert.deepEqual(parseRestartPolicy('always'), { Name: 'always' });
    assert.deepEqual(parseRestartPolicy('unless-stopped'), { Name: 'unless-stopped' });
    assert.deepEqual(parseRestartPolicy('on-failure'), { Name: 'on-failure' });
    assert.deepEqual(parseRestartPolicy('on-failure:3'), { Name: 'on-failure', MaximumRetryCount: 3 });
  });
  it('rejects anything else with the allowed forms', () => {
    assert.throws(
      () => parseRestartPolicy('sometimes'),
      /not one of no \| always \| unless-stopped \| on-failure\[:N\]/,
    );
  });
});
