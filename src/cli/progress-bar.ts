import { UsageError } from './cli-errors.js';
import type { CliIo } from './cli-io.js';

/**
 * A progress display that can be updated often; it redraws at most every `intervalMs`.
 *
 * @example
 * ```ts
 * const progress: Progress = io.isTTY ? progressBar(io.stderr, 'migrate', total) : NO_PROGRESS;
 * ```
 */
export interface Progress {
  /** `done` of the total have been handled. */
  update(done: number): void;
  /** Draws the final state and ends the line. */
  finish(done: number): void;
}

const WIDTH = 30;

/**
 * A progress display that shows nothing, for when stderr is not a terminal.
 *
 * @example
 * ```ts
 * NO_PROGRESS.update(10); // draws nothing
 * ```
 */
export const NO_PROGRESS: Progress = { update() {}, finish() {} };

/**
 * A one-line progress bar, redrawn in place with `\r`: `label [█████░░░░░] 45,000/100,000 45% 3.1 s`.
 *
 * @example
 * ```ts
 * const progress = progressBar(process.stderr, 'copying', tokens.length);
 * progress.update(500);
 * progress.finish(tokens.length);
 * ```
 */
export function progressBar(
  stream: { write(text: string): unknown },
  label: string,
  total: number,
  intervalMs = 100,
): Progress {
  const started = performance.now();
  let drawnAt = -Infinity;
  const draw = (done: number) => {
    drawnAt = performance.now();
    const share = total === 0 ? 1 : Math.min(1, done / total);
    const filled = Math.round(share * WIDTH);
    const seconds = ((drawnAt - started) / 1000).toFixed(1);
    const counts = `${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}`;
    stream.write(
      `\r${label} [${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}] ${counts} ${Math.floor(share * 100)}% ${seconds} s`,
    );
  };
  return {
    update(done) {
      if (performance.now() - drawnAt >= intervalMs) draw(done);
    },
    finish(done) {
      draw(done);
      stream.write('\n');
    },
  };
}

/**
 * `--progress` and `--no-progress`, for the commands that draw a progress bar.
 *
 * @example
 * ```ts
 * defineCommand({ name: 'migrate', options: { from: { type: 'string' }, ...PROGRESS_OPTIONS }, … });
 * ```
 */
export const PROGRESS_OPTIONS = { progress: { type: 'boolean' }, 'no-progress': { type: 'boolean' } } as const;

/**
 * Whether to draw a progress bar: as `--progress` or `--no-progress` say, else when stderr is a terminal.
 *
 * @throws UsageError when both are given.
 *
 * @example
 * ```ts
 * const progress = wantsProgress(values, io) ? progressBar(io.stderr, 'rekey', total) : NO_PROGRESS;
 * ```
 */
export function wantsProgress(values: { progress?: boolean; 'no-progress'?: boolean }, io: CliIo): boolean {
  if (values.progress && values['no-progress']) throw new UsageError('give --progress or --no-progress, not both');
  return values.progress ?? (values['no-progress'] ? false : io.isTTY);
}
