// A field of the optimizer's config, declared once, next to what it configures: src/config/config.ts derives the
// known-fields list, the did-you-mean hints, parsing, defaults and serialization from these declarations.
import { quote } from '../base/validate.js';
import type { ConfigValue, PolicyConfig } from '../base/policy-config.js';
import { createPolicy, isPolicyOf } from './registry.js';
import type { PolicyKind } from './registry.js';

/**
 * One field of `RSOConfig`: its name, default, parser, serialized form and did-you-mean hints.
 *
 * @typeParam T - The resolved value.
 * @typeParam N - The field's name in `RSOConfig` and in a saved config.
 * @typeParam K - Its key in `ResolvedConfig` (the name unless it differs, as `grid` → `grids`).
 */
export interface ConfigField<T = unknown, N extends string = string, K extends string = N> {
  /** The field's name in `RSOConfig` and in a saved config. */
  readonly name: N;
  /** Its key in `ResolvedConfig`. */
  readonly key: K;
  /** Names from other optimizers and trainers that mean this field, for the did-you-mean of an unknown field. */
  readonly hints: readonly string[];
  /** The policy kind the field holds, if any (as a policy object or its registered config). */
  readonly kind?: PolicyKind;
  /** True when a saved config leaves the field out at its default (it is then written after the other fields). */
  readonly optional: boolean;
  /** The value of a field that is missing, `undefined` or `null`. */
  readonly fallback: () => T;
  /**
   * Parses and validates a given value (never `undefined` or `null`).
   *
   * @throws RangeError or TypeError whose message starts with the field's name and quotes the value.
   */
  readonly parse: (value: unknown) => T;
  /** The JSON form a saved config holds; `undefined` leaves the field out. */
  readonly serialize: (value: T) => ConfigValue | undefined;
  /** Checks the value against the other resolved fields, once every field is parsed (by `ResolvedConfig` key). */
  readonly check?: (value: T, resolved: Readonly<Record<string, unknown>>) => void;
}

/** What {@link configField} needs; `key`, `hints` and `optional` have defaults. */
export type ConfigFieldSpec<T, N extends string, K extends string> = Omit<ConfigField<T, N, K>, 'key' | 'hints' | 'optional'> &
  Partial<Pick<ConfigField<T, N, K>, 'key' | 'hints' | 'optional'>>;

/**
 * Declares a config field.
 *
 * @param spec - The field; `key` defaults to the name, `hints` to none, `optional` to false.
 * @returns The declaration.
 */
export function configField<T, N extends string, K extends string = N>(spec: ConfigFieldSpec<T, N, K>): ConfigField<T, N, K> {
  return { ...spec, key: spec.key ?? (spec.name as unknown as K), hints: spec.hints ?? [], optional: spec.optional ?? false };
}

function hasMethods(v: object): boolean {
  return Object.values(v).some((x) => typeof x === 'function');
}

function isPolicyConfig(v: unknown): v is PolicyConfig {
  return typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string' && !hasMethods(v);
}

/**
 * Reads a policy of `kind` given as a policy object or as its config `{ name, ...params }`.
 *
 * @param kind - The policy category.
 * @param field - The config field, named in errors.
 * @param value - A policy, or its config (never `undefined` or `null`).
 * @returns The policy.
 * @throws TypeError when `value` is neither.
 */
export function readPolicy<T>(kind: PolicyKind, field: string, value: unknown): T {
  if (isPolicyConfig(value)) return createPolicy<T>(kind, value, field);
  if (isPolicyOf(kind, value)) return value as T;
  throw new TypeError(`${field}: expected a ${kind} policy or its config {"name": ...}, got ${quote(value)}`);
}

/**
 * The config a policy carries, for a saved config.
 *
 * @param field - The config field, named in the error.
 * @param p - The policy.
 * @returns Its `config`.
 * @throws TypeError for a custom policy without a config.
 */
export function policyConfig(field: string, p: { readonly config?: PolicyConfig }): PolicyConfig {
  if (p.config === undefined) {
    throw new TypeError(
      `RSOOptimizer.getConfig: the "${field}" policy is a custom one without a config, so it cannot be saved. ` +
        `Register a factory with registerPolicy() and give the policy a { name, ...params } config.`,
    );
  }
  return p.config;
}

/** Options of {@link policyField}. */
export interface PolicyFieldOptions {
  /** See {@link ConfigField.hints}. */
  readonly hints?: readonly string[];
}

/**
 * A field that holds one policy of `kind`, with a default policy: written to a saved config as the policy's config.
 *
 * @param kind - The policy category.
 * @param name - The field's name.
 * @param fallback - The default policy.
 * @param options - Hints.
 * @returns The declaration.
 */
export function policyField<T extends object, N extends string>(kind: PolicyKind, name: N, fallback: () => T, options: PolicyFieldOptions = {}): ConfigField<T, N> {
  return configField<T, N>({
    name,
    kind,
    fallback,
    parse: (v) => readPolicy<T>(kind, name, v),
    serialize: (p) => policyConfig(name, p),
    ...options,
  });
}

/**
 * A field that holds one policy of `kind` or none (`null`, the default): left out of a saved config when none.
 *
 * @param kind - The policy category.
 * @param name - The field's name.
 * @param options - Hints.
 * @returns The declaration.
 */
export function optionalPolicyField<T extends object, N extends string>(kind: PolicyKind, name: N, options: PolicyFieldOptions = {}): ConfigField<T | null, N> {
  return configField<T | null, N>({
    name,
    kind,
    optional: true,
    fallback: () => null,
    parse: (v) => readPolicy<T>(kind, name, v),
    serialize: (p) => (p === null ? undefined : policyConfig(name, p)),
    ...options,
  });
}
