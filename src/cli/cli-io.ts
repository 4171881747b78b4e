/**
 * Where a run of the CLI reads its environment and writes its output; the bin entry passes the process's.
 *
 * @example
 * ```ts
 * const io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, isTTY: false };
 * ```
 */
export interface CliIo {
  /** Receives the command's results: tables, JSON, summaries. */
  readonly stdout: { write(text: string): unknown };
  /** Receives errors, warnings and the progress bar. */
  readonly stderr: { write(text: string): unknown };
  /** Environment variables (`TOKEN_STORE_URL`, `ZOHO_TOKEN_KEY`, `ZOHO_DC`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether stderr is a terminal: progress bars are drawn only there unless forced. */
  readonly isTTY: boolean;
  /** The clock for relative times. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Resolves when the user asks a long-running command (`emulator`) to stop. The bin entry resolves it
   * on SIGINT or SIGTERM; without it such a command runs until the process ends.
   */
  readonly untilStopped?: () => Promise<void>;
}
