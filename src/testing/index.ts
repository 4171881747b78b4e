export type { ConformanceOptions, TestRunner } from './conformance.js';
export { describeTokenStoreConformance } from './conformance.js';
