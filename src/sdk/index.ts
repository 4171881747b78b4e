export type { LegacySdkClasses, LegacySdkStore } from './legacy-sdk.js';
export { forLegacySdk } from './legacy-sdk.js';
export type { OfficialSdkClasses, OfficialSdkStore } from './official-sdk.js';
export { forOfficialSdk } from './official-sdk.js';
export type { AnyClass } from './sdk-classes.js';
