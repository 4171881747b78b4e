import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { untrustedFileReason } from '../file-trust.js';
import { ZohoTokenStoreError } from '../zoho-token-store-error.js';
import type { AccountsSnapshot } from './accounts-state.js';
import type { CrmSnapshot } from './crm-directory.js';

/** Codes carried by {@link EmulatorStateError}. */
export const EmulatorStateErrorCode = {
  /** The state file is not one the emulator wrote (not JSON, another version, a malformed entry). It was left as it is. */
  CORRUPT_STATE: 'CORRUPT_STATE',
  /**
   * The state file is owned by another user (root excepted) or group or others may write it: it
   * could be theirs, so it was not read. It was left as it is.
   */
  UNTRUSTED_FILE: 'UNTRUSTED_FILE',
  /** The state file could not be read or written; `cause` holds the file system's error. */
  STATE_FILE_FAILURE: 'STATE_FILE_FAILURE',
} as const;

export type EmulatorStateErrorCode = (typeof EmulatorStateErrorCode)[keyof typeof EmulatorStateErrorCode];

/**
 * The emulator's `stateFile` could not be used (a {@link ZohoTokenStoreError}). The message names the file and never quotes its content
 * (it holds tokens).
 *
 * @example
 * ```ts
 * try {
 *   await startZohoEmulator({ stateFile: 'zoho-emulator-state.json' });
 * } catch (error) {
 *   if (error instanceof EmulatorStateError && error.code === EmulatorStateErrorCode.CORRUPT_STATE) {
 *     console.error(`${error.file}: delete it to start the emulator empty`);
 *   }
 * }
 * ```
 */
export class EmulatorStateError extends ZohoTokenStoreError {
  override readonly name = 'EmulatorStateError';
  declare readonly code: EmulatorStateErrorCode;
  /** The state file, as given. */
  readonly file: string;

  constructor(code: EmulatorStateErrorCode, file: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.file = file;
  }
}

/** The state file's content, version 1. */
export interface SavedState {
  version: 1;
  /** The emulator clock when it was saved. */
  clock: number;
  accounts: AccountsSnapshot;
  crm: CrmSnapshot;
}

/** Where the content breaks the format: a path such as `accounts.refreshTokens[2]`, never a value. */
class Malformed extends Error {}

function expect(ok: boolean, at: string): void {
  if (!ok) throw new Malformed(at);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isStringArray = (value: unknown): boolean => Array.isArray(value) && value.every((s) => typeof s === 'string');
const isTime = (value: unknown): boolean => Number.isFinite(value);

function checkGrant(value: unknown, at: string): asserts value is Record<string, unknown> {
  expect(isRecord(value), at);
  const grant = value as Record<string, unknown>;
  expect(typeof grant.clientId === 'string' && typeof grant.userEmail === 'string', at);
  expect(isStringArray(grant.scopes), `${at}.scopes`);
  expect(grant.accessType === 'offline' || grant.accessType === 'online', `${at}.accessType`);
}

function checkEntries(value: unknown, at: string, checkValue: (value: unknown, at: string) => void): void {
  expect(Array.isArray(value), at);
  for (const [index, entry] of (value as unknown[]).entries()) {
    expect(Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'string', `${at}[${index}]`);
    checkValue((entry as unknown[])[1], `${at}[${index}]`);
  }
}

function checkState(value: unknown): asserts value is SavedState {
  expect(isRecord(value), 'the top level');
  const state = value as Record<string, unknown>;
  expect(state.version === 1, 'version (only 1 is known)');
  expect(isTime(state.clock), 'clock');
  const accounts = state.accounts;
  expect(isRecord(accounts), 'accounts');
  const a = accounts as Record<string, unknown>;
  checkEntries(a.codes, 'accounts.codes', (code, at) => {
    checkGrant(code, at);
    expect((typeof code.redirectUri === 'string' || code.redirectUri === null) && isTime(code.expiresAt), at);
  });
  checkEntries(a.refreshTokens, 'accounts.refreshTokens', (token, at) => {
    checkGrant(token, at);
    expect(isStringArray(token.accessTokens), `${at}.accessTokens`);
  });
  checkEntries(a.accessTokens, 'accounts.accessTokens', (token, at) => {
    checkGrant(token, at);
    expect(isTime(token.expiresAt), `${at}.expiresAt`);
    expect(token.refreshToken === null || typeof token.refreshToken === 'string', `${at}.refreshToken`);
  });
  expect(isRecord(a.windows), 'accounts.windows');
  for (const name of ['codesIssued', 'refreshTokensIssued', 'accessTokensMinted']) {
    const at = `accounts.windows.${name}`;
    checkEntries((a.windows as Record<string, unknown>)[name], at, (events, eventsAt) => {
      expect(Array.isArray(events) && events.every(isTime), eventsAt);
    });
  }
  expect(isRecord(state.crm), 'crm');
  for (const [domain, org] of Object.entries(state.crm as Record<string, unknown>)) {
    const at = `crm[${JSON.stringify(domain)}]`;
    expect(isRecord(org) && Number.isSafeInteger(org.nextSeq) && Array.isArray(org.leads), at);
    for (const [index, lead] of (org as { leads: unknown[] }).leads.entries()) {
      expect(isRecord(lead) && typeof lead.id === 'string', `${at}.leads[${index}]`);
    }
  }
}

/**
 * Reads a state file; null when there is none yet.
 *
 * @throws EmulatorStateError `CORRUPT_STATE` for content the emulator did not write, `UNTRUSTED_FILE` for
 * a file another user owns or may write, `STATE_FILE_FAILURE` when it cannot be read.
 */
export async function readStateFile(file: string): Promise<SavedState | null> {
  let text: string;
  let untrusted: string | null;
  try {
    // One descriptor: the owner checked is the owner of what is read.
    const handle = await open(file, 'r');
    try {
      untrusted = untrustedFileReason(await handle.stat(), file);
      text = untrusted === null ? await handle.readFile('utf8') : '';
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new EmulatorStateError(
      EmulatorStateErrorCode.STATE_FILE_FAILURE,
      file,
      `cannot read the Zoho emulator state file ${file}`,
      { cause: error },
    );
  }
  if (untrusted !== null) {
    throw new EmulatorStateError(
      EmulatorStateErrorCode.UNTRUSTED_FILE,
      file,
      `the Zoho emulator state file ${file} was not read: ${untrusted}`,
    );
  }
  const corrupt = (why: string) =>
    new EmulatorStateError(
      EmulatorStateErrorCode.CORRUPT_STATE,
      file,
      `${file} is not a Zoho emulator state file (${why}); it was left as it is: fix or delete it`,
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text, which holds tokens: it is not kept as the cause.
    throw corrupt('not JSON, perhaps truncated');
  }
  try {
    checkState(value);
  } catch (error) {
    if (error instanceof Malformed) throw corrupt(`bad ${error.message}`);
    throw error;
  }
  return value;
}

/**
 * Replaces the file in one step: a private (0600) temporary file beside it, synced, then renamed over
 * it, so a crash leaves the old state or the new one, never half of either.
 */
async function writeStateFile(file: string, text: string): Promise<void> {
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(draft, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(draft, file);
  } catch (error) {
    await rm(draft, { force: true });
    throw new EmulatorStateError(
      EmulatorStateErrorCode.STATE_FILE_FAILURE,
      file,
      `cannot write the Zoho emulator state file ${file}`,
      { cause: error },
    );
  }
}

/** Writes the state after changes, at most once per `delayMs`, and only when it differs from the last write. */
export class StateSaver {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private written: string | undefined;

  constructor(
    private readonly file: string,
    private readonly snapshot: () => SavedState,
    private readonly delayMs = 100,
  ) {}

  /** Saves soon. A failure here is not lost: the next {@link flush} (at the latest `close()`) tries again and throws. */
  schedule(): void {
    this.timer ??= setTimeout(() => {
      this.flush().catch(() => undefined);
    }, this.delayMs);
  }

  /** Saves now. @throws EmulatorStateError `STATE_FILE_FAILURE` when the file cannot be written. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing = this.writing
      .catch(() => undefined)
      .then(async () => {
        const text = `${JSON.stringify(this.snapshot())}\n`;
        if (text === this.written) return;
        await writeStateFile(this.file, text);
        this.written = text;
      });
    return this.writing;
  }
}
