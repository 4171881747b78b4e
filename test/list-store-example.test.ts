import { describe, it } from 'node:test';
import { describeTokenStoreConformance } from 'zoho-token-store/testing';
import { ListStore } from '../examples/custom-stores/list-store.js';

describeTokenStoreConformance({ describe, it }, 'ListStore (examples/custom-stores)', {
  createStore: () => new ListStore(),
});
