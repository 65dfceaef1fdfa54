import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MockActivityEnvironment } from '@temporalio/testing';
import { heartbeating } from '../../src/activities/heartbeat.js';

// What the send activity tells Temporal while it works: the heartbeats carry what its successor
// needs (the SMTP outcome), and no beat at the start replaces what an earlier attempt left.

function recorded(info: ConstructorParameters<typeof MockActivityEnvironment>[0] = {}) {
  const env = new MockActivityEnvironment(info);
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  return { env, beats };
}

test('a quick attempt sends one heartbeat: the outcome it notes, and none as it starts', async () => {
  const { env, beats } = recorded();
  const result = await env.run(() =>
    heartbeating(async (note) => {
      await sleep(10);
      note({ smtpOutcome: { state: 'sent' } });
      return 'done';
    }),
  );
  assert.equal(result, 'done');
  assert.deepEqual(beats, [{ smtpOutcome: { state: 'sent' } }]);
});

test("an attempt that carries an earlier attempt's outcome repeats it in every beat until it notes its own", async () => {
  const carried = { smtpOutcome: { state: 'sent', messageId: '<a@b>' } };
  const { env, beats } = recorded({ heartbeatDetails: carried });
  await env.run(() =>
    heartbeating(async () => {
      // Longer than one heartbeat interval (2 s): the timer beats once.
      await sleep(2300);
    }),
  );
  assert.deepEqual(beats, [carried]);
});
