#!/usr/bin/env node
// The `zoho-tokens` bin: wires the process to runCli, which holds everything testable.
import { runCli } from './run-cli.js';

// `zoho-tokens list | head` closes the pipe early: that is the reader's choice, not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  isTTY: process.stderr.isTTY === true,
  // Listening only when asked keeps Ctrl-C's default (exit at once) for every other command.
  untilStopped: () =>
    new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }),
});
