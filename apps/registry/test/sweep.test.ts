import { InstanceTable } from '../src/domain/instance-table';
import { buildTestRegistry, heartbeat, listedIds, ManualClock, register } from './helpers';

describe('instance table (pure, injected clock)', () => {
  it('lists an instance while its last heartbeat is younger than ttlMs', () => {
    const clock = new ManualClock();
    const table = new InstanceTable(300, clock.now);
    const entry = table.register('dcu', 'http://127.0.0.1:9002');
    clock.advance(299);
    expect(table.live('dcu')).toEqual([entry]);
    clock.advance(1);
    expect(table.live('dcu')).toEqual([]);
    expect(table.liveByType().size).toBe(0);
  });

  it('sweeps only the instances whose heartbeats stopped, and returns them', () => {
    const clock = new ManualClock();
    const table = new InstanceTable(300, clock.now);
    const silent = table.register('dcu', 'http://127.0.0.1:9002');
    clock.advance(200);
    const beating = table.register('dcu', 'http://127.0.0.1:9012');
    expect(table.sweep()).toEqual([]);
    clock.advance(150);
    expect(table.heartbeat(beating.id)).toBe(true);
    expect(table.sweep()).toEqual([silent]);
    expect(table.size).toBe(1);
    expect(table.heartbeat(silent.id)).toBe(false);
    // Its type+url slot is free again: registering it anew is a fresh entry.
    const back = table.register('dcu', 'http://127.0.0.1:9002');
    expect(back.id).not.toBe(silent.id);
    expect(table.size).toBe(2);
  });

  it('does not let a replaced entry free the slot of its replacement', () => {
    const table = new InstanceTable(300);
    const first = table.register('dcu', 'http://127.0.0.1:9002');
    const second = table.register('dcu', 'http://127.0.0.1:9002');
    expect(table.unregister(first.id)).toBe(false);
    const third = table.register('dcu', 'http://127.0.0.1:9002');
    expect(table.live('dcu')).toEqual([third]);
    expect(table.heartbeat(second.id)).toBe(false);
  });
});

describe('registry sweeper (fake timers)', () => {
  const heartbeatIntervalMs = 100;
  const ttlMs = 300;

  beforeEach(() => {
    // Fake the clock and the sweeper's interval; leave what inject needs to run on its own.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('forgets a silent instance within ttlMs + heartbeatIntervalMs of its last heartbeat', async () => {
    const app = await buildTestRegistry({ heartbeatIntervalMs, ttlMs });
    try {
      const silent = await register(app, 'dcu', 'http://127.0.0.1:9002');
      const beating = await register(app, 'dcu', 'http://127.0.0.1:9012');
      for (let elapsed = 0; elapsed < ttlMs; elapsed += heartbeatIntervalMs) {
        jest.advanceTimersByTime(heartbeatIntervalMs);
        expect((await heartbeat(app, beating.id)).statusCode).toBe(204);
      }
      // ttlMs after its last heartbeat: no longer listed, though perhaps not swept yet.
      expect(await listedIds(app, 'dcu')).toEqual([beating.id]);
      jest.advanceTimersByTime(heartbeatIntervalMs);
      expect(app.instances.size).toBe(1);
      expect(app.instances.live('dcu').map((entry) => entry.id)).toEqual([beating.id]);
      expect((await heartbeat(app, silent.id)).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('sets its expiry timer only while an instance is listed, and clears it on close', async () => {
    const app = await buildTestRegistry({ heartbeatIntervalMs, ttlMs });
    expect(jest.getTimerCount()).toBe(0);
    await register(app, 'dcu', 'http://127.0.0.1:9002');
    expect(jest.getTimerCount()).toBe(1);
    await app.close();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('forgets a silent instance at its TTL, not up to a sweep interval later', async () => {
    const app = await buildTestRegistry({ heartbeatIntervalMs, ttlMs });
    try {
      await register(app, 'dcu', 'http://127.0.0.1:9002');
      jest.advanceTimersByTime(ttlMs - 1);
      expect(app.instances.size).toBe(1);
      jest.advanceTimersByTime(2);
      expect(app.instances.size).toBe(0);
    } finally {
      await app.close();
    }
  });
});

describe('registry sweeper (injected clock, real timers)', () => {
  it('sweeps on its own, without any request arriving', async () => {
    const clock = new ManualClock();
    const app = await buildTestRegistry({ heartbeatIntervalMs: 20, now: clock.now });
    try {
      await register(app, 'dcu', 'http://127.0.0.1:9002');
      clock.advance(60);
      const deadline = Date.now() + 5_000;
      while (app.instances.size > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(app.instances.size).toBe(0);
    } finally {
      await app.close();
    }
  });
});
