/**
 * A large OpenAPI 3.1 document made up for import tests, shaped like the
 * big real ones (GitHub's, Stripe's): resources with list, create, get,
 * update and delete operations over shared component schemas, and most of
 * the bytes in response schemas, examples and prose, which an import reads,
 * validates and dereferences but turns into no tool argument.
 *
 * @module
 */

/** What {@link largeDocument} makes. */
export interface LargeDocument {
  /** The document as JSON text. */
  text: string;
  /** Operations it has (five per resource). */
  operations: number;
}

const WORDS = ["account", "billing", "cluster", "deploy", "event", "filter", "gateway", "hook"];

function prose(seed: number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[(seed * 7 + i * 3) % WORDS.length]);
  return out.join(" ");
}

/**
 * A document of about `bytes` bytes (as JSON) with `resources` resources of
 * five operations each; deterministic, so every run imports the same one.
 */
export function largeDocument(bytes: number, resources = 200): LargeDocument {
  const schemas: Record<string, unknown> = {};
  const paths: Record<string, unknown> = {};
  // Filled to size below: one long example per resource's response.
  const padding: { list: unknown[] }[] = [];
  for (let r = 0; r < resources; r++) {
    const name = `Resource${r}`;
    const properties: Record<string, unknown> = {};
    for (let p = 0; p < 12; p++) {
      properties[`field_${p}`] = p % 3 === 0
        ? { type: "integer", description: prose(r + p, 8) }
        : p % 3 === 1
        ? { type: "string", maxLength: 200, description: prose(r + p, 10) }
        : { type: "array", items: { $ref: "#/components/schemas/Tag" } };
    }
    schemas[name] = { type: "object", properties, required: ["field_0"] };
    const example = { list: [] as unknown[] };
    padding.push(example);
    const ref = { $ref: `#/components/schemas/${name}` };
    const json = (schema: unknown, ex?: unknown) => ({
      description: prose(r, 12),
      content: { "application/json": ex ? { schema, example: ex } : { schema } },
    });
    paths[`/resources${r}`] = {
      get: {
        operationId: `list${name}`,
        summary: `List ${name}`,
        description: prose(r, 40),
        parameters: [
          { name: "page", in: "query", schema: { type: "integer", minimum: 1 } },
          { name: "per_page", in: "query", schema: { type: "integer", maximum: 100 } },
        ],
        responses: { "200": json({ type: "array", items: ref }, example) },
      },
      post: {
        operationId: `create${name}`,
        summary: `Create ${name}`,
        requestBody: { required: true, content: { "application/json": { schema: ref } } },
        responses: { "201": json(ref) },
      },
    };
    paths[`/resources${r}/{id}`] = {
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
      get: { operationId: `get${name}`, responses: { "200": json(ref) } },
      patch: {
        operationId: `update${name}`,
        requestBody: { content: { "application/json": { schema: ref } } },
        responses: { "200": json(ref) },
      },
      delete: { operationId: `delete${name}`, responses: { "204": { description: "gone" } } },
    };
  }
  schemas.Tag = { type: "object", properties: { name: { type: "string" } } };
  const doc = {
    openapi: "3.1.0",
    info: { title: "Large test API", version: "1.0.0" },
    servers: [{ url: "https://api.example.com/v1" }],
    paths,
    components: { schemas },
  };
  const base = JSON.stringify(doc).length;
  const item = { id: 12345, name: prose(1, 6), tags: [{ name: "deploy" }] };
  const perItem = JSON.stringify(item).length + 1;
  const items = Math.max(0, Math.ceil((bytes - base) / perItem / resources));
  for (const example of padding) example.list = Array.from({ length: items }, () => item);
  return { text: JSON.stringify(doc), operations: resources * 5 };
}
