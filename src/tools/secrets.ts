/**
 * How the HTTP executor obtains `{{secrets.NAME}}` values. The encrypted
 * vault implements this later; until then nothing resolves.
 *
 * @module
 */

/**
 * Looks up a secret's plaintext for one call. Values are used to build the
 * upstream request and never appear in results or logs.
 */
export interface SecretResolver {
  /** The value of secret `name` in org `orgId`, or undefined when there is none. */
  resolve(orgId: string, name: string): Promise<string | undefined>;
}

/** A resolver with no secrets: tools that need one fail with a message naming it. */
export const NO_SECRETS: SecretResolver = {
  resolve: () => Promise.resolve(undefined),
};

/** A resolver over a fixed map of `orgId -> name -> value` (tests, single-tenant setups). */
export function staticSecrets(values: Record<string, Record<string, string>>): SecretResolver {
  // Own properties only: a secret named "constructor" must not resolve to a function.
  const get = (orgId: string, name: string) => {
    const org = Object.hasOwn(values, orgId) ? values[orgId] : undefined;
    return org && Object.hasOwn(org, name) ? org[name] : undefined;
  };
  return { resolve: (orgId, name) => Promise.resolve(get(orgId, name)) };
}
