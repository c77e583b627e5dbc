import { quote, rejectUnknown, requireBoolean, suggest } from '../base/validate.js';
import type { ConfigValue, PolicyConfig } from '../base/policy-config.js';
import type { PolicyState } from '../base/state-codec.js';

export type { ConfigValue, PolicyConfig } from '../base/policy-config.js';

/** Any policy that can describe itself, so that an optimizer using it can be saved. */
export interface Configurable {
  /** The registry entry that recreates this policy; absent for unregistered user policies. */
  readonly config?: PolicyConfig;
  /** The policy's own state, saved as `rso/<name>` with the search's; absent for a stateless policy. */
  readonly state?: PolicyState<unknown>;
}

/** The categories of pluggable policies, as {@link registerPolicy} accepts them. */
export const POLICY_KINDS = ['schedule', 'distribution', 'layerOrder', 'sigmaRule', 'coordinates', 'acceptance', 'weightGrid', 'sigmaAdaptation', 'moves', 'earlyRejection', 'probeReuse'] as const;

/** The categories of pluggable policies. */
export type PolicyKind = (typeof POLICY_KINDS)[number];

const method = (name: string) => (v: unknown) => (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as Record<string, unknown>)[name] === 'function';

/** What a policy of each kind must be, as the core calls it: the test, and its description for errors. */
const SHAPES: Readonly<Record<PolicyKind, { readonly test: (v: unknown) => boolean; readonly what: string }>> = {
  schedule: { test: (v) => typeof v === 'function', what: 'a function (count, horizon) => number' },
  distribution: { test: method('sample'), what: 'an object with sample(rng)' },
  layerOrder: { test: method('order'), what: 'an object with order(groups, context)' },
  sigmaRule: { test: method('sigma'), what: 'an object with sigma(tensor, layer)' },
  coordinates: { test: method('select'), what: 'an object with select(size, context)' },
  acceptance: { test: method('accept'), what: 'an object with accept(losses)' },
  weightGrid: { test: method('amplitude'), what: 'an object with amplitude(sigma)' },
  sigmaAdaptation: { test: method('update'), what: 'an object with update(multiplier, moved, window)' },
  moves: { test: (v) => method('block')(v) && typeof (v as { norm?: unknown }).norm === 'number', what: 'an object with block(site) and a number norm' },
  earlyRejection: { test: (v) => method('plan')(v) && method('decide')(v), what: 'an object with plan(rows) and decide(sums, tested, candidates)' },
  probeReuse: { test: method('position'), what: 'an object with position(losses)' },
};

/**
 * Whether `value` has the shape the core needs of a policy of `kind` (a schedule is a function; the others are
 * objects with their methods), so that a wrong value fails when it is given, not at the first step.
 *
 * @param kind - The policy category.
 * @param value - Anything.
 * @returns True when `value` can serve as a policy of that kind.
 */
export function isPolicyOf(kind: PolicyKind, value: unknown): boolean {
  return SHAPES[kind].test(value);
}

/** A factory that rebuilds a policy from its config. */
export type PolicyFactory = (config: PolicyConfig) => unknown;

/** Options of {@link registerPolicy}. */
export interface RegisterPolicyOptions {
  /**
   * Replace an existing registration of the same kind and name, a built-in included (default false).
   * Every optimizer rebuilt from a config naming it afterwards runs the new factory.
   */
  readonly override?: boolean;
}

const registries = new Map<PolicyKind, Map<string, PolicyFactory>>();
const builtIns = new Set<string>();

function checkKind(where: string, kind: unknown): PolicyKind {
  if (typeof kind !== 'string' || !(POLICY_KINDS as readonly string[]).includes(kind)) {
    throw new RangeError(`${where}: kind must be one of ${POLICY_KINDS.join(', ')}, got ${quote(kind)}${typeof kind === 'string' ? suggest(kind, POLICY_KINDS) : ''}`);
  }
  return kind as PolicyKind;
}

/**
 * Registers a policy factory under a name, so that configs naming it can be deserialized.
 *
 * @param kind - The policy category, one of {@link POLICY_KINDS}.
 * @param name - The name stored in `config.name`.
 * @param factory - Rebuilds the policy from its config. The result should carry that config in `.config`.
 * @param options - `override: true` to replace an existing registration (a built-in included).
 * @throws RangeError for an unknown kind, or a name already registered (unless `override`); TypeError for an
 *   empty name or a factory that is not a function.
 * @remarks Registering the same factory again under the same name is a no-op.
 * @example
 * ```ts
 * registerPolicy('schedule', 'halving', (c) => Object.assign((n: number) => 0.5 ** n, { config: c }));
 * ```
 */
export function registerPolicy(kind: PolicyKind, name: string, factory: PolicyFactory, options: RegisterPolicyOptions = {}): void {
  const k = checkKind('registerPolicy', kind);
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`registerPolicy: name must be a non-empty string, got ${quote(name)}`);
  }
  if (typeof factory !== 'function') {
    throw new TypeError(`registerPolicy: factory of ${k} "${name}" must be a function (config) => policy, got ${quote(factory)}`);
  }
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`registerPolicy: options must be an object like { override: true }, got ${quote(options)}`);
  }
  rejectUnknown('registerPolicy options', options, ['override']);
  const override = options.override === undefined ? false : requireBoolean('registerPolicy: override', options.override);
  let registry = registries.get(k);
  if (registry === undefined) {
    registry = new Map();
    registries.set(k, registry);
  }
  const existing = registry.get(name);
  if (existing !== undefined && existing !== factory && !override) {
    const what = builtIns.has(`${k}/${name}`) ? 'a built-in' : 'already registered';
    throw new RangeError(
      `registerPolicy: ${k} "${name}" is ${what}; pass { override: true } to replace it (every config naming "${name}" would then run your factory), or choose another name`,
    );
  }
  registry.set(name, factory);
}

/**
 * Registers a built-in policy (used by the policy modules; users call {@link registerPolicy}).
 *
 * @param kind - The policy category.
 * @param name - The built-in name.
 * @param factory - Rebuilds the policy from its config.
 */
export function registerBuiltInPolicy(kind: PolicyKind, name: string, factory: PolicyFactory): void {
  registerPolicy(kind, name, factory);
  builtIns.add(`${kind}/${name}`);
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
 * @throws RangeError when the name is not registered; TypeError when the factory returns something that is not a
 *   policy of that kind (an object with that kind's methods, or a function for a schedule).
 * @example
 * ```ts
 * const schedule = createPolicy<Schedule>('schedule', { name: 'constant', value: 1 });
 * ```
 */
export function createPolicy<T>(kind: PolicyKind, config: PolicyConfig, field: string = kind): T {
  if (config === null || typeof config !== 'object' || typeof config.name !== 'string') {
    throw new TypeError(`${field}: expected a policy config like {"name": ...}, got ${JSON.stringify(config)}`);
  }
  checkKind(field, kind);
  const factory = registries.get(kind)?.get(config.name);
  if (factory === undefined) {
    throw new RangeError(
      `${field}: unknown ${kind} "${config.name}"${suggest(config.name, policyNames(kind))}; known: ${policyNames(kind).join(', ') || '(none)'}. ` +
        `Register custom policies with registerPolicy('${kind}', name, factory).`,
    );
  }
  let made: unknown;
  try {
    made = factory(config);
  } catch (e) {
    // Name the config field in errors of the factory's own validation.
    if (e instanceof RangeError) throw new RangeError(`${field}: ${e.message}`, { cause: e });
    if (e instanceof TypeError) throw new TypeError(`${field}: ${e.message}`, { cause: e });
    throw e;
  }
  if (!isPolicyOf(kind, made)) {
    throw new TypeError(`${field}: the factory registered as ${kind} "${config.name}" returned ${quote(made)}, not ${SHAPES[kind].what}`);
  }
  return made as T;
}

/** Attaches a config to a policy value, returning the same value typed with it. */
export function withConfig<T extends object>(policy: T, config: PolicyConfig): T & { readonly config: PolicyConfig } {
  return Object.assign(policy, { config });
}

/**
 * Reads a policy config as the options object of its factory: every key but `name`.
 *
 * @param config - The config.
 * @returns Its parameters, which the factory validates.
 */
export function configParams<O>(config: PolicyConfig): O {
  const params: Record<string, ConfigValue> = { ...config };
  delete params['name'];
  return params as unknown as O;
}

/**
 * Checks that the config of a policy without parameters has none but `name`.
 *
 * @param where - The factory name, e.g. `'normalDistribution'`.
 * @param config - The config.
 * @throws RangeError naming the first unknown key, with a suggestion.
 */
export function noParams(where: string, config: PolicyConfig): void {
  rejectUnknown(where, configParams<object>(config), []);
}
