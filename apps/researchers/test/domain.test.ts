import {
  drawPauseMs,
  drawProfessors,
  drawProjectPlan,
  drawWithdrawalCents,
  PROPOSAL_MAX_CENTS,
  PROPOSAL_MIN_CENTS,
} from '../src/domain/draws';
import { endReasonOf, judgeWithdrawalAnswer, nextWithdrawalCents } from '../src/domain/decisions';
import { randomInt, seededRandom, streamFor } from '../src/domain/random';
import { scriptedRandom } from './fakes';

describe('seeded randomness', () => {
  it('gives the same sequence for the same seed and label', () => {
    const first = streamFor(7, 'P1/professor');
    const second = streamFor(7, 'P1/professor');
    const a = Array.from({ length: 5 }, () => first.next());
    const b = Array.from({ length: 5 }, () => second.next());
    expect(a).toEqual(b);
  });

  it('gives unrelated streams to different actors and seeds', () => {
    const draw = (seed: number, label: string) => streamFor(seed, label).next();
    expect(draw(7, 'P1/professor')).not.toBe(draw(7, 'P1/student-1'));
    expect(draw(7, 'P1/professor')).not.toBe(draw(8, 'P1/professor'));
  });

  it('stays within [0, 1) and draws integers within bounds, both ends reachable', () => {
    const random = seededRandom(1);
    const seen = new Set<number>();
    for (let index = 0; index < 2_000; index++) {
      const value = randomInt(random, 3, 6);
      expect(value).toBeGreaterThanOrEqual(3);
      expect(value).toBeLessThanOrEqual(6);
      seen.add(value);
    }
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
    expect(randomInt(scriptedRandom(0.999999), 0, 9)).toBe(9);
  });
});

describe('project plans', () => {
  const settings = { studentsPerProject: 3, durationDays: { min: 5, max: 15 } };

  it('are the same for the same seed, whatever else happened in between', () => {
    const plan = () => drawProjectPlan(streamFor(42, 'P2/plan'), 1, 'Byrne', settings);
    expect(plan()).toEqual(plan());
    expect(plan().code).toBe('P2');
  });

  it('ask for amounts on both sides of the funded range, and distinct students', () => {
    const plans = Array.from({ length: 60 }, (_, index) =>
      drawProjectPlan(streamFor(3, `P${index + 1}/plan`), index, 'Byrne', settings),
    );
    for (const plan of plans) {
      expect(Number.isInteger(plan.amountCents)).toBe(true);
      expect(plan.amountCents).toBeGreaterThanOrEqual(PROPOSAL_MIN_CENTS);
      expect(plan.amountCents).toBeLessThanOrEqual(PROPOSAL_MAX_CENTS);
      expect(plan.durationDays).toBeGreaterThanOrEqual(5);
      expect(plan.durationDays).toBeLessThanOrEqual(15);
      expect(new Set(plan.students).size).toBe(3);
    }
    const funded = plans.filter(
      (plan) => plan.amountCents >= 30_000_000 && plan.amountCents <= 50_000_000,
    );
    expect(funded.length).toBeGreaterThan(0);
    expect(funded.length).toBeLessThan(plans.length);
  });

  it('gives every project its own professor', () => {
    const professors = drawProfessors(streamFor(5, 'professors'), 10);
    expect(new Set(professors).size).toBe(10);
    expect(drawProfessors(streamFor(5, 'professors'), 10)).toEqual(professors);
  });

  it('draws withdrawals of half to one and a half times the project average, in whole cents', () => {
    const plan = { amountCents: 40_000_000, spendingBasisPoints: 100 }; // average 400,000 cents
    expect(drawWithdrawalCents(scriptedRandom(0), plan)).toBe(200_000);
    expect(drawWithdrawalCents(scriptedRandom(0.9999999), plan)).toBe(600_000);
    expect(Number.isInteger(drawWithdrawalCents(scriptedRandom(0.123456), plan))).toBe(true);
  });

  it('draws pauses within the range', () => {
    expect(drawPauseMs(scriptedRandom(0), { min: 10, max: 20 })).toBe(10);
    expect(drawPauseMs(scriptedRandom(0.99), { min: 10, max: 20 })).toBe(20);
  });
});

describe('spending decisions', () => {
  it('asks for the amount drawn while the balance covers it', () => {
    expect(nextWithdrawalCents(5_000, 100_000)).toBe(5_000);
  });

  it('asks for what is left once the balance is below the draw', () => {
    expect(nextWithdrawalCents(5_000, 1_234)).toBe(1_234);
  });

  it('asks for nothing when the balance is zero', () => {
    expect(nextWithdrawalCents(5_000, 0)).toBeUndefined();
  });

  it('stops on an expired account, a depleted one, or a zero balance, and not otherwise', () => {
    expect(endReasonOf({ status: 'expired', balanceCents: 10 })).toBe('expired');
    expect(endReasonOf({ status: 'depleted', balanceCents: 0 })).toBe('empty');
    expect(endReasonOf({ status: 'active', balanceCents: 0 })).toBe('empty');
    expect(endReasonOf({ status: 'active', balanceCents: 1 })).toBeUndefined();
  });

  it('reads the DCU answers to a withdrawal', () => {
    expect(judgeWithdrawalAnswer(201, {})).toBe('withdrawn');
    expect(judgeWithdrawalAnswer(410, {})).toBe('expired');
    expect(
      judgeWithdrawalAnswer(409, { message: 'the withdrawal would overdraw the account' }),
    ).toBe('overdraw');
    expect(
      judgeWithdrawalAnswer(409, {
        message: 'a request with this Idempotency-Key is still in flight',
      }),
    ).toBe('in-flight');
    expect(judgeWithdrawalAnswer(503, {})).toBe('retry');
    expect(judgeWithdrawalAnswer(422, {})).toBe('failed');
  });
});
