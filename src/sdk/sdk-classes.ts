/** A class, as `new` and `instanceof` take it. */
// biome-ignore lint/suspicious/noExplicitAny: any constructor signature, as the SDKs' classes vary
export type AnyClass<T = object> = abstract new (...args: any[]) => T;

/**
 * A class an official SDK exports, found as its module exports it: the class itself (the
 * TypeScript SDKs, the legacy deep imports), or a namespace holding it under its own name (the
 * ESM `@zohocrm/nodejs-sdk-*`, whose `TokenStore` is `{ TokenStore, MasterModel }`). Undefined
 * when the SDK has no such class at run time (a TypeScript SDK's `TokenStore` is an interface).
 */
export function sdkClass<T>(exported: unknown, name: string): AnyClass<T> | undefined {
  if (typeof exported === 'function') return exported as AnyClass<T>;
  if (typeof exported === 'object' && exported !== null) {
    const inner = (exported as Record<string, unknown>)[name];
    if (typeof inner === 'function') return inner as AnyClass<T>;
  }
  return undefined;
}

/** The SDK's class, or a TypeError that says what to pass. */
export function requiredSdkClass<T>(exported: unknown, name: string, adapter: string): AnyClass<T> {
  const found = sdkClass<T>(exported, name);
  if (found === undefined) {
    throw new TypeError(`${adapter}: pass the official SDK's ${name} class (or its module), e.g. { ${name} }`);
  }
  return found;
}

/** A base class for the adapter: the SDK's own `TokenStore` when it is a class, so `instanceof` passes. */
export function storeBase(exported: unknown): AnyClass {
  return sdkClass<object>(exported, 'TokenStore') ?? Object;
}
