import { styleText } from 'node:util';

type Format = Parameters<typeof styleText>[0];

/** Colours only for a terminal; plain text for pipes, files and NO_COLOR. */
export interface Style {
  enabled: boolean;
  paint(format: Format, text: string): string;
}

export function createStyle(enabled: boolean): Style {
  return {
    enabled,
    paint: (format, text) => (enabled ? styleText(format, text) : text),
  };
}

export function wantsColour(
  stream: NodeJS.WriteStream,
  env: Record<string, string | undefined>,
): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

/** One colour per project, so its lines are easy to follow when projects interleave. */
const PROJECT_COLOURS = [
  'cyan',
  'magenta',
  'yellow',
  'blue',
  'green',
  'redBright',
  'cyanBright',
  'magentaBright',
] as const;

export function projectColour(projectIndex: number): Format {
  return PROJECT_COLOURS[projectIndex % PROJECT_COLOURS.length] as Format;
}
