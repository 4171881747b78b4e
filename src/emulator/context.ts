import type { AccountsState } from './accounts-state.js';
import type { EmulatorClock } from './clock.js';
import type { CrmDirectory } from './crm-directory.js';
import type { ResolvedOptions } from './options.js';

/** What every route handler reads: the emulator's state and settings. */
export interface EmulatorContext {
  /** `http://127.0.0.1:PORT`: the accounts server and the API domain. */
  readonly url: string;
  readonly options: ResolvedOptions;
  readonly clock: EmulatorClock;
  readonly accounts: AccountsState;
  readonly directory: CrmDirectory;
}
