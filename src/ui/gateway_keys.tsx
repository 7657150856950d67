/**
 * A gateway's keys on its page: the list with each key's scopes, its own
 * rate limit (changed in place, `PATCH /gateways/{id}/keys/{keyId}`), its
 * dates and state, revoke buttons, and the form of a new key; and the rate
 * limit fields read back into the API's `{requests, windowSeconds}`.
 *
 * @module
 */
import type { Json } from "./client.ts";
import {
  Badge,
  Check,
  Csrf,
  Empty,
  errorOf,
  ErrorSummary,
  Field,
  type FormState,
  LimitFields,
  PostButton,
  Table,
  valueOf,
  When,
} from "./components.tsx";
import type { UiRequest } from "./context.ts";

const SCOPES = ["tools:read", "tools:execute"];

/** A key's own limit as a phrase. */
const limitText = (limit: Json) =>
  limit ? `${limit.requests} per ${limit.windowSeconds} s` : "the gateway's";

/** The form that changes key `k`'s own rate limit, in its table row. */
function LimitForm(
  { ui, base, k, state }: { ui: UiRequest; base: string; k: Json; state?: FormState },
) {
  const form = `key-${k.id}`;
  const v = (name: string, fallback: string) => valueOf(state, form, name, fallback);
  const e = (name: string) => errorOf(state, form, name);
  const error = e("rateLimit.requests") ?? e("rateLimit.windowSeconds") ?? e("rateLimit");
  return (
    <form method="post" action={`${base}/keys/${k.id}`} class="inline limit">
      <Csrf token={ui.csrf} />
      <label class="sr" for={`key-limit-${k.id}`}>{`Requests allowed to ${k.name}`}</label>
      <input
        id={`key-limit-${k.id}`}
        name="rateLimit.requests"
        type="number"
        min="1"
        value={v("rateLimit.requests", k.rateLimit ? String(k.rateLimit.requests) : "")}
        placeholder="none"
        aria-invalid={error ? "true" : undefined}
      />
      <label for={`key-window-${k.id}`}>per</label>
      <input
        id={`key-window-${k.id}`}
        name="rateLimit.windowSeconds"
        type="number"
        min="1"
        value={v("rateLimit.windowSeconds", String(k.rateLimit?.windowSeconds ?? 60))}
        aria-label={`Seconds of ${k.name}'s limit`}
      />
      <span aria-hidden="true">s</span>
      <button type="submit" class="secondary small">
        Set<span class="sr">{` the rate limit of ${k.name}`}</span>
      </button>
      {error ? <p class="error">{error}</p> : null}
    </form>
  );
}

/** The Gateway keys panel of a gateway's page (`base` is the page's path). */
export function KeysPanel(
  { ui, base, keys, state }: { ui: UiRequest; base: string; keys: Json[]; state?: FormState },
) {
  const v = (name: string, fallback = "") => valueOf(state, "key", name, fallback);
  const e = (name: string) => errorOf(state, "key", name);
  return (
    <section class="panel" aria-labelledby="keys">
      <h2 id="keys">Gateway keys</h2>
      {keys.length === 0
        ? <Empty>No keys. MCP clients of the api_key and bearer methods need one.</Empty>
        : (
          <Table
            head={["Name", "Prefix", "Scopes", "Own rate limit", "Created", "Expires", "State", ""]}
            caption="Gateway keys"
          >
            {keys.map((k) => (
              <tr>
                <td>{k.name}</td>
                <td>
                  <code>{k.prefix}</code>
                </td>
                <td>{k.scopes.join(", ")}</td>
                <td>
                  {ui.canWrite && !k.revokedAt
                    ? <LimitForm ui={ui} base={base} k={k} state={state} />
                    : limitText(k.rateLimit)}
                </td>
                <td>
                  <When at={k.createdAt} />
                </td>
                <td>
                  <When at={k.expiresAt} />
                </td>
                <td>
                  {k.revokedAt
                    ? <Badge tone="bad">revoked</Badge>
                    : <Badge tone="ok">active</Badge>}
                </td>
                <td>
                  {ui.canWrite && !k.revokedAt
                    ? (
                      <PostButton
                        action={`${base}/keys/${k.id}/revoke`}
                        csrf={ui.csrf}
                        label="Revoke"
                        danger
                        confirm={`Revoke the key ${k.name}? Clients using it stop working.`}
                      />
                    )
                    : null}
                </td>
              </tr>
            ))}
          </Table>
        )}
      {ui.canWrite && keys.some((k) => !k.revokedAt)
        ? (
          <p class="hint">
            A key's own rate limit replaces the gateway's for its requests; leave the requests empty
            to follow the gateway's.
          </p>
        )
        : null}
      {ui.canWrite
        ? (
          <details open={state?.form === "key"}>
            <summary>Create a key</summary>
            <form method="post" action={`${base}/keys`} class="stack">
              <Csrf token={ui.csrf} />
              <ErrorSummary
                state={state}
                form="key"
                fields={["name", "scopes", "expiresAt", "rateLimit"]}
              />
              <Field
                label="Name"
                name="name"
                id="key-name"
                value={v("name")}
                error={e("name")}
                hint="Who or what uses it, e.g. laptop."
                required
              />
              <fieldset>
                <legend>Scopes</legend>
                {SCOPES.map((s) => (
                  <Check label={s} name="scopes" value={s} id={`scope-${s}`} checked />
                ))}
                {e("scopes") ? <p class="error">{e("scopes")}</p> : null}
              </fieldset>
              <Field
                label="Expires (UTC, optional)"
                name="expiresAt"
                type="datetime-local"
                value={v("expiresAt")}
                error={e("expiresAt")}
              />
              <LimitFields
                legend="Own rate limit (optional)"
                name="rateLimit"
                form="key"
                state={state}
                hint="Replaces the gateway's limit for this key's requests."
              />
              <button type="submit">Create key</button>
            </form>
          </details>
        )
        : null}
    </section>
  );
}
