/**
 * Routes: `/secrets` (create, list, get, update, replace, delete). Values go
 * in and never come out: responses carry metadata only. A secret of another
 * org answers 404 exactly like a missing one.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { SECRET_TYPES } from "../secrets/types.ts";
import { type AuditEntry, changesBetween, REDACTED } from "../store/audit.ts";
import type { SecretInfo } from "../store/secrets.ts";
import { audited, targetOf } from "./audit.ts";
import { readJson } from "./body.ts";
import type { ApiDeps, ApiEnv } from "./context.ts";
import { ApiError, invalid, notFound } from "./errors.ts";
import { presentSecret } from "./present.ts";
import {
  parseSecretDescription,
  parseSecretInput,
  parseSecretName,
  parseSecretValue,
  SECRET_FIELDS,
} from "./secret_input.ts";
import { type Body, oneOf, onlyFields } from "./validate.ts";

/**
 * The JSON body, with the parser's message dropped: V8 quotes the text
 * around a syntax error, which in a secret body is the secret.
 */
async function readSecretBody(c: Context): Promise<Body> {
  try {
    return await readJson(c);
  } catch (err) {
    if (err instanceof ApiError && err.field === "body" && err.message.includes("valid JSON")) {
      throw invalid("body", "request body is not valid JSON");
    }
    throw err;
  }
}

/** What an event shows of a secret: its metadata (the store holds the value only sealed). */
function metadata(s: SecretInfo): Record<string, unknown> {
  return { name: s.name, type: s.type, description: s.description };
}

/** The secret routes. */
export function secretRoutes({ store, vault }: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  const secretOf = async (c: Context<ApiEnv>): Promise<SecretInfo> => {
    const secret = await store.secrets.get(c.get("principal").org.id, c.req.param("id") ?? "");
    if (!secret) throw notFound("secret");
    return secret;
  };
  const found = (s: SecretInfo | undefined): SecretInfo => {
    // Deleted between the lookup and the write.
    if (!s) throw notFound("secret");
    return s;
  };

  /**
   * Records `entry` from inside the vault's write (the nested transaction
   * joins it). Events of values say that the value changed, never what to.
   */
  const record = (c: Context<ApiEnv>, entry: AuditEntry) =>
    audited(c, store, (note) => note(entry));
  const noteReplaced = (c: Context<ApiEnv>) => (before: SecretInfo, after: SecretInfo) =>
    record(c, {
      action: "secret.rotate",
      target: targetOf("secret", after),
      changes: {
        ...changesBetween(metadata(before), metadata(after)),
        value: { from: REDACTED, to: REDACTED },
      },
    });

  app.post("/", async (c) => {
    const input = parseSecretInput(await readSecretBody(c));
    const created = await vault.create(c.get("principal").org.id, input, (created) =>
      record(c, {
        action: "secret.create",
        target: targetOf("secret", created),
        changes: { ...changesBetween(undefined, metadata(created)), value: { to: REDACTED } },
      }));
    return c.json(presentSecret(created), 201);
  });

  app.get("/", async (c) => {
    const secrets = await store.secrets.list(c.get("principal").org.id);
    return c.json({ secrets: secrets.map(presentSecret) });
  });

  app.get("/:id", async (c) => c.json(presentSecret(await secretOf(c))));

  // PATCH changes the fields given; a new value replaces the old one whole (values are never
  // merged: nothing of the old one is readable to merge with).
  app.patch("/:id", async (c) => {
    const current = await secretOf(c);
    const body = await readSecretBody(c);
    onlyFields(body, SECRET_FIELDS);
    const name = body.name === undefined ? current.name : parseSecretName(body);
    const description = body.description === null
      ? ""
      : parseSecretDescription(body) ?? current.description;
    if (body.type !== undefined && body.value === undefined) {
      throw invalid("value", "value is required when type changes");
    }
    if (body.value === undefined) {
      const renamed = await audited(c, store, async (note) => {
        const before = found(await store.secrets.get(current.orgId, current.id));
        const after = found(
          await store.secrets.rename(current.orgId, current.id, name, description),
        );
        await note({
          action: "secret.update",
          target: targetOf("secret", after),
          changes: changesBetween(metadata(before), metadata(after)),
        });
        return after;
      });
      return c.json(presentSecret(renamed));
    }
    const type = body.type === undefined
      ? oneOf({ type: current.type }, "type", SECRET_TYPES)
      : oneOf(body, "type", SECRET_TYPES);
    const value = parseSecretValue(type, body.value);
    const input = { name, description, value };
    const updated = await vault.replace(current.orgId, current.id, input, noteReplaced(c));
    return c.json(presentSecret(found(updated)));
  });

  app.put("/:id", async (c) => {
    const current = await secretOf(c);
    const input = parseSecretInput(await readSecretBody(c));
    const updated = await vault.replace(current.orgId, current.id, input, noteReplaced(c));
    return c.json(presentSecret(found(updated)));
  });

  app.delete("/:id", async (c) => {
    await audited(c, store, async (note) => {
      const before = found(await store.secrets.get(c.get("principal").org.id, c.req.param("id")));
      if (!await store.secrets.delete(before.orgId, before.id)) throw notFound("secret");
      await note({
        action: "secret.delete",
        target: targetOf("secret", before),
        changes: changesBetween(metadata(before), undefined),
      });
    });
    return c.body(null, 204);
  });

  return app;
}
