export type { EmulatorClock } from './clock.js';
export type { EmulatorFault } from './faults.js';
export type { EmulatorClient, EmulatorUser, ZohoEmulatorOptions } from './options.js';
export { DEFAULT_EMULATOR_USERS, EMULATOR_CLIENT } from './options.js';
export { EmulatorStateError, EmulatorStateErrorCode } from './state-file.js';
export { TEST_API_HEADERS } from './test-api-routes.js';
export type { GrantCodeOptions, ZohoEmulator } from './zoho-emulator.js';
export { DEFAULT_EMULATOR_SCOPE, startZohoEmulator } from './zoho-emulator.js';
