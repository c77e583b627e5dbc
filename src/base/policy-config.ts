// A policy's config as plain data: what getConfig writes and a registry entry reads back.

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
