import { describe, it } from 'node:test';
import { MemoryStore } from 'zoho-token-store/stores/memory';
import { describeTokenStoreConformance } from 'zoho-token-store/testing';

describeTokenStoreConformance({ describe, it }, 'MemoryStore', { createStore: () => new MemoryStore() });
