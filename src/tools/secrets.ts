/**
 * How the HTTP executor obtains secrets: `{{secrets.NAME}}` values and
 * `executionConfig.auth` credentials. The encrypted vault (`src/secrets/`)
 * implements this; tests use {@link staticSecrets}.
 *
 * @module
 */

/**
 * A failure about a secret that the model may read: its message names the
 * secret and says what to do, and never contains a value.
 */
export class SecretError extends Error {
  /** Creates the error; `message` must not contain any secret value. */
  constructor(message: string) {
    super(message);
    this.name = "SecretError";
  }
}

/** Options of one resolution. */
export interface ResolveOptions {
  /** The tool call's cancellation (an OAuth2 token fetch stops waiting on it). */
  signal?: AbortSignal;
  /** Get a fresh derived credential (an OAuth2 token) instead of a cached one. */
  fresh?: boolean;
}

/** A resolved template value and every string derived from it that must never be shown. */
export interface ResolvedSecret {
  value: string;
  /** Also redacted from results and logs (a password inside `user:pass`, ...). */
  sensitive: readonly string[];
}

/** How a secret authenticates one upstream request (`executionConfig.auth`). */
export interface AuthMaterial {
  /** Headers to set (they replace the tool's own headers of the same name). */
  headers: readonly (readonly [string, string])[];
  /** Query parameters to append (names and values unencoded). */
  query: readonly (readonly [string, string])[];
  /** Every string to redact from results and logs. */
  sensitive: readonly string[];
  /** True when a fresh credential can be fetched: an upstream 401 is retried once with it. */
  refreshable: boolean;
}

/**
 * Looks up secrets for one call. Values are used to build the upstream
 * request and never appear in results or logs. A {@link SecretError} thrown
 * here is shown to the model; any other error only as "could not be read".
 */
export interface SecretResolver {
  /**
   * The value `{{secrets.name}}` stands for in org `orgId`, or undefined when
   * there is no such secret. A plain string needs no extra redaction.
   */
  resolve(
    orgId: string,
    name: string,
    options?: ResolveOptions,
  ): Promise<string | ResolvedSecret | undefined>;
  /** What `executionConfig.auth: {secret: name}` adds to a request; undefined when missing. */
  authenticate?(
    orgId: string,
    name: string,
    options?: ResolveOptions,
  ): Promise<AuthMaterial | undefined>;
}

/** A resolver with no secrets: tools that need one fail with a message naming it. */
export const NO_SECRETS: SecretResolver = {
  resolve: () => Promise.resolve(undefined),
};

/**
 * A resolver over a fixed map of `orgId -> name -> value` (tests, single-tenant
 * setups). Used as `auth`, a value authenticates as a bearer token.
 */
export function staticSecrets(values: Record<string, Record<string, string>>): SecretResolver {
  // Own properties only: a secret named "constructor" must not resolve to a function.
  const get = (orgId: string, name: string) => {
    const org = Object.hasOwn(values, orgId) ? values[orgId] : undefined;
    return org && Object.hasOwn(org, name) ? org[name] : undefined;
  };
  return {
    resolve: (orgId, name) => Promise.resolve(get(orgId, name)),
    authenticate: (orgId, name) => {
      const v = get(orgId, name);
      return Promise.resolve(
        v === undefined ? undefined : {
          headers: [["authorization", `Bearer ${v}`]],
          query: [],
          sensitive: [v],
          refreshable: false,
        },
      );
    },
  };
}
