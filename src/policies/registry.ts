/** JSON value allowed in a policy config. */
export type ConfigValue = number | boolean | string | null | readonly ConfigValue[] | { readonly [key: string]: ConfigValue };

/**
 * The serializable description of a built-in or registered policy: its registry name plus its parameters.
 *
 * @remarks Keep string parameters under the `name` key only: tfjs rewrites other string values to camelCase
 * when it reloads a saved model.
 */
export interface PolicyConfig {
  /** The registry name, e.g. `'linear'`. */
  readonly name: string;
  readonly [param: string]: ConfigValue;
}

/** Any policy that can describe itself, so that an optimizer using it can be saved. */
export interface Configurable {
  /** The registry entry that recreates this policy; absent for unregistered user policies. */
  readonly config?: PolicyConfig;
}

/** The categories of pluggable policies. */
export type PolicyKind = 'schedule' | 'distribution' | 'layerOrder' | 'sigmaRule' | 'coordinates' | 'acceptance';

/** A factory that rebuilds a policy from its config. */
export type PolicyFactory = (config: PolicyConfig) => unknown;

const registries = new Map<PolicyKind, Map<string, PolicyFactory>>();

/**
 * Registers a policy factory under a name, so that configs naming it can be deserialized.
 *
 * @param kind - The policy category.
 * @param name - The name stored in `config.name`.
 * @param factory - Rebuilds the policy from its config. The result should carry that config in `.config`.
 * @example
 * ```ts
 * registerPolicy('schedule', 'halving', (c) => Object.assign((n: number) => 0.5 ** n, { config: c }));
 * ```
 */
export function registerPolicy(kind: PolicyKind, name: string, factory: PolicyFactory): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`registerPolicy: name must be a non-empty string, got ${JSON.stringify(name)}`);
  }
  let registry = registries.get(kind);
  if (registry === undefined) {
    registry = new Map();
    registries.set(kind, registry);
  }
  registry.set(name, factory);
}

/**
 * Lists the registered names of one policy kind.
 *
 * @param kind - The policy category.
 * @returns The names, in registration order.
 * @example
 * ```ts
 * policyNames('distribution'); // ['normal', 'uniform', ...]
 * ```
 */
export function policyNames(kind: PolicyKind): string[] {
  return [...(registries.get(kind)?.keys() ?? [])];
}

/**
 * Rebuilds a policy from its config.
 *
 * @param kind - The policy category.
 * @param config - A config produced by a policy's `.config`.
 * @param field - The config field being parsed, quoted in errors.
 * @returns The policy.
 * @throws RangeError when the name is not registered.
 * @example
 * ```ts
 * const schedule = createPolicy<Schedule>('schedule', { name: 'constant', value: 1 });
 * ```
 */
export function createPolicy<T>(kind: PolicyKind, config: PolicyConfig, field: string = kind): T {
  if (config === null || typeof config !== 'object' || typeof config.name !== 'string') {
    throw new TypeError(`${field}: expected a policy config like {"name": ...}, got ${JSON.stringify(config)}`);
  }
  const factory = registries.get(kind)?.get(config.name);
  if (factory === undefined) {
    throw new RangeError(
      `${field}: unknown ${kind} "${config.name}"; known: ${policyNames(kind).join(', ') || '(none)'}. ` +
        `Register custom policies with registerPolicy('${kind}', name, factory).`,
    );
  }
  return factory(config) as T;
}

/** Attaches a config to a policy value, returning the same value typed with it. */
export function withConfig<T extends object>(policy: T, config: PolicyConfig): T & { readonly config: PolicyConfig } {
  return Object.assign(policy, { config });
}

/** Reads a policy config as the options object of its factory (the extra `name` key is ignored). */
export function configParams<O>(config: PolicyConfig): O {
  return config as unknown as O;
}
