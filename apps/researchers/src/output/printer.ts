import { Mutex } from 'async-mutex';
import type { Style } from './style';

/** Who a line is about, e.g. project P3, actor "prof. Byrne". */
export interface Speaker {
  project: string;
  actor: string;
  /** Colour of the project's prefix. */
  colour: Parameters<Style['paint']>[0];
}

export type Tone = 'plain' | 'good' | 'bad' | 'quiet';

/**
 * The one place that writes to the terminal. Each call writes whole lines under a mutex, so
 * the lines of concurrent actors never mix, and a multi-line block stays together.
 */
export class Printer {
  private readonly mutex = new Mutex();
  private prefixWidth = 0;

  constructor(
    private readonly out: { write(text: string): unknown },
    readonly style: Style,
    private readonly quiet: boolean,
  ) {}

  /** Pads prefixes to the widest one, so the events line up in a column. */
  registerSpeaker(speaker: Omit<Speaker, 'colour'>): void {
    this.prefixWidth = Math.max(this.prefixWidth, prefixText(speaker).length);
  }

  /** An event in the story of a project (left out with --quiet). */
  event(speaker: Speaker, text: string, tone: Tone = 'plain'): Promise<void> {
    if (this.quiet) return Promise.resolve();
    const prefix = prefixText(speaker).padEnd(this.prefixWidth);
    return this.write([`${this.style.paint(speaker.colour, prefix)} ${this.tone(tone, text)}`]);
  }

  /** A note about the run itself (left out with --quiet). */
  note(text: string): Promise<void> {
    if (this.quiet) return Promise.resolve();
    return this.write([this.style.paint('dim', text)]);
  }

  /** A problem: always printed. */
  problem(text: string): Promise<void> {
    return this.write([this.style.paint('red', text)]);
  }

  /** Lines that belong together (a table), always printed, never interleaved. */
  block(lines: string[]): Promise<void> {
    return this.write(lines);
  }

  tone(tone: Tone, text: string): string {
    switch (tone) {
      case 'good':
        return this.style.paint('green', text);
      case 'bad':
        return this.style.paint('red', text);
      case 'quiet':
        return this.style.paint('dim', text);
      default:
        return text;
    }
  }

  private write(lines: string[]): Promise<void> {
    return this.mutex.runExclusive(() => {
      this.out.write(lines.map((line) => `${line}\n`).join(''));
    });
  }
}

function prefixText(speaker: Omit<Speaker, 'colour'>): string {
  return `[${speaker.project} ${speaker.actor}]`;
}
