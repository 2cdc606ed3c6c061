import type { MachineInfo } from './machine';
import type { ScenarioId } from './options';
import type { Degradation, LatencySummary, RssGrowth, SecondSample } from './stats';

/** What one scenario measured; the JSON file holds a list of these. */
export interface ScenarioResult {
  id: ScenarioId;
  title: string;
  /** The command that reproduces this figure. */
  command: string;
  /** The scenario it is compared with (a hello server or the disk). */
  baseline?: ScenarioId;
  status: 'ok' | 'skipped' | 'failed';
  /** Why it was skipped or failed. */
  reason?: string;
  /** Successful requests per second (for the disk probe: durable writes per second). */
  rate?: number;
  latency?: LatencySummary;
  /** Non-2xx answers, connection errors, bad bodies; empty when there were none. */
  failures?: string;
  connections?: number;
  durationSeconds?: number;
  succeeded?: number;
  statusCounts?: Record<string, number>;
  bytesPerSecond?: number;
  /** CPU used during the measured run, as a share of one core, per process. */
  cpu?: Record<string, number>;
  /** RSS at the end of the measured run, per service process. */
  rssBytes?: Record<string, number>;
  /** The highest RSS of the measured service over its life (VmHWM), where it matters. */
  peakRssBytes?: number;
  /**
   * The share of the machine's CPU time that the hypervisor gave to other guests during the
   * measured run (Linux steal). Well above zero, the host was busy and the figures are lower
   * than this machine's own, by an amount that changes from run to run.
   */
  stolenCpu?: number;
  /** One-minute load average before and after: others using the machine show up here. */
  loadAverage?: { before: number; after: number };
  notes: string[];
  perSecond?: SecondSample[];
  degradation?: Degradation;
  rssGrowth?: RssGrowth;
}

export interface BenchSettings {
  durationSeconds: number;
  longDurationSeconds: number;
  warmupSeconds: number;
  connections: number;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  commandLine: string;
  machine: MachineInfo;
  settings: BenchSettings;
  scenarios: ScenarioResult[];
  targets: TargetOutcome[];
  charts: string[];
}

export interface TargetOutcome {
  scenario: ScenarioId;
  /** e.g. "DCU read ≥ 0.5 × bare Fastify hello". */
  description: string;
  /** The measured value the target is about (a ratio, or a growth fraction). */
  measured?: number;
  /** The threshold, in the same unit. */
  threshold: number;
  comparison: 'at-least' | 'below';
  pass: boolean | undefined;
  /** One line a person reads: pass, or fail and by how much, or why it could not be judged. */
  verdict: string;
}
