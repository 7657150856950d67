/**
 * Reading an API description into one shape the converter understands: the
 * text (JSON or YAML) or object is parsed, validated by
 * `@scalar/openapi-parser`, upgraded to OpenAPI 3.1 (Swagger 2.0 and 3.0
 * included) and dereferenced, with every `$ref` site remembered by name so
 * recursive schemas can be written back as `$defs`.
 *
 * Only references inside the document resolve: the parser is given no file
 * or URL loader, so a `$ref` to `/etc/passwd` or a cloud metadata URL is an
 * error, never a read or a request made by the server.
 *
 * @module
 */
import { prepareSwagger2 } from "./swagger2.ts";
import { isObject, nestedDeeperThan } from "../util/json.ts";

/**
 * The parser libraries, loaded on the first import rather than at start-up:
 * they take 150-300 ms to load and only this route needs them.
 */
let libraries:
  | Promise<
    [typeof import("@scalar/openapi-parser"), typeof import("js-yaml"), typeof import("yaml")]
  >
  | undefined;
export function parserLibraries() {
  return libraries ??= Promise.all([
    import("@scalar/openapi-parser"),
    import("js-yaml"),
    import("yaml"),
  ]);
}

/** The import cannot use the document; `field` is the request field to blame. */
export class SpecError extends Error {
  /** Creates the error for `field` (usually `spec`). */
  constructor(message: string, readonly field = "spec") {
    super(message);
    this.name = "SpecError";
  }
}

/** A JSON object. */
export type Json = Record<string, unknown>;

/** A document ready for conversion. */
export interface LoadedSpec {
  /** The dereferenced OpenAPI 3.1 document (may contain cycles: recursive schemas). */
  document: Json;
  /** For every object that was a `$ref` site, the reference it had (`#/components/schemas/X`). */
  refOf: WeakMap<object, string>;
  /** The version the document was written in (`2.0`, `3.0.3`, `3.1.0`...). */
  sourceVersion: string;
  /** SHA-256 (hex) of the document as sent: text as is, objects as JSON. */
  hash: string;
}

/**
 * Deepest nesting accepted in a parsed document. The parser and the converter
 * recurse through it; real descriptions stay far below this (Discord's, one
 * of the deepest, nests about 20 levels).
 */
export const MAX_SPEC_DEPTH = 200;

/** How many validation problems an error message quotes. */
const QUOTED_ERRORS = 3;

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Parses `text` as JSON when it looks like JSON, else as YAML (a superset, but far slower). */
async function parseText(text: string): Promise<unknown> {
  const trimmed = text.trimStart();
  if (trimmed === "") throw new SpecError("spec is an empty string");
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new SpecError(`spec is not valid JSON: ${(err as Error).message}`);
    }
  }
  // js-yaml first: four to six times faster than `yaml` (Discord's document as YAML:
  // 0.15 s against 0.8 s), which matters at tens of megabytes. It resolves an alias
  // to a shared object without bounding the expansion (a "billion laughs" document
  // would explode in every walk after parsing), so aliases are refused there and a
  // document that uses them goes to `yaml`, which caps alias expansion.
  const [, jsYaml, yaml] = await parserLibraries();
  let fast: Error;
  try {
    return jsYaml.load(text, { json: true, maxAliases: 0, maxDepth: MAX_SPEC_DEPTH });
  } catch (err) {
    fast = err as Error;
  }
  if (!/alias/i.test(fast.message)) throw yamlError(fast);
  try {
    return yaml.parse(text, { prettyErrors: false, uniqueKeys: false });
  } catch (err) {
    throw yamlError(err as Error);
  }
}

function yamlError(err: Error): SpecError {
  return new SpecError(`spec is neither JSON nor valid YAML: ${err.message.split("\n")[0]}`);
}

/** A version YAML read as a number (`3.0` is 3) as it was written: integers keep their ".0". */
const versionText = (v: unknown) =>
  typeof v === "number" ? (Number.isInteger(v) ? `${v}.0` : String(v)) : v;

/**
 * The `openapi` or `swagger` version of `doc`, refusing anything else. An
 * unquoted YAML version (`swagger: 2.0`, `openapi: 3.0`, `version: 1.5`)
 * arrives as a number, and a version may lack its patch number (`3.1`):
 * `doc` is given the version strings the validator expects (`2.0`, `3.1.0`;
 * it would replace a numeric `info.version` with `0.1.0`), and the version
 * as the document meant it is returned.
 */
function versionOf(doc: Json): string {
  if (isObject(doc.info) && typeof doc.info.version === "number") {
    doc.info.version = String(doc.info.version);
  }
  const openapi = versionText(doc.openapi);
  const swagger = versionText(doc.swagger);
  if (openapi === undefined && swagger === "2.0") {
    doc.swagger = "2.0";
    return "2.0";
  }
  if (typeof openapi === "string" && /^3\.[0-2](?:\.\d+.*)?$/.test(openapi)) {
    doc.openapi = /^3\.[0-2]$/.test(openapi) ? `${openapi}.0` : openapi;
    return openapi;
  }
  if (openapi !== undefined || swagger !== undefined) {
    // Naming the field keeps `swagger: 3.0` from reading as a refusal of OpenAPI 3.0.
    const [field, value] = openapi !== undefined ? ["openapi", openapi] : ["swagger", swagger];
    throw new SpecError(
      `spec declares ${field} version '${String(value)}'; supported are OpenAPI 3.0 and 3.1 ` +
        "and Swagger 2.0",
    );
  }
  throw new SpecError(
    "spec is not an OpenAPI document: it has neither an 'openapi' nor a 'swagger' version field",
  );
}

/** A validation or dereferencing problem as the parser reports it. */
interface Problem {
  message?: string;
  path?: string | string[];
  code?: string;
}

const pathOf = (e: Problem) => (Array.isArray(e.path) ? `/${e.path.join("/")}` : e.path) ?? "";

/** One problem as text: its message and where in the document. */
function describeProblem(e: Problem): string {
  const path = pathOf(e);
  return `${e.message ?? e.code ?? "invalid"}${path ? ` at ${path}` : ""}`;
}

/**
 * The problems worth quoting: those with no other problem beneath them. A
 * document fails every alternative of a schema choice at once (a parameter
 * is neither a reference nor one of the parameter kinds), and the outer ones
 * contradict the inner: "Property in is not expected to be here" beside
 * "in must be one of query, header, path, cookie".
 */
function innermost(errors: Problem[]): Problem[] {
  const above = new Set<string>();
  for (const e of errors) {
    const path = pathOf(e);
    for (let i = path.lastIndexOf("/"); i >= 0; i = path.lastIndexOf("/", i - 1)) {
      above.add(path.slice(0, i));
      if (i === 0) break;
    }
  }
  return errors.filter((e) => !above.has(pathOf(e)));
}

/**
 * Whether `e` only says that a `{name}` in the query part of a path key
 * (`/search/articles?query={query}`, as Medium's document writes it) is no
 * path parameter. The converter reads such keys: a query parameter of that
 * name fills it, and an operation whose `{name}` nothing declares is left
 * out with a warning, rather than the whole document refused.
 */
function isQueryTemplateProblem(e: Problem): boolean {
  const name = /^Declared path parameter "([^"]+)"/.exec(e.message ?? "")?.[1];
  const key = Array.isArray(e.path) && e.path[0] === "paths" ? e.path[1] : undefined;
  const q = key?.indexOf("?") ?? -1;
  return name !== undefined && q >= 0 && !key!.slice(0, q).includes(`{${name}}`);
}

/** `errors` quoted in a sentence: the first few, and how many more there are. */
function quote(errors: Problem[]): string {
  const quoted = errors.slice(0, QUOTED_ERRORS).map(describeProblem).join("; ");
  return errors.length > QUOTED_ERRORS
    ? `${quoted} (and ${errors.length - QUOTED_ERRORS} more)`
    : quoted;
}

/**
 * Loads `spec` (an object, or JSON or YAML text): validates it, upgrades it
 * to OpenAPI 3.1 and dereferences it. Throws {@link SpecError} with the
 * parser's reasons when the document cannot be used.
 */
export async function loadSpec(spec: unknown): Promise<LoadedSpec> {
  let raw: unknown;
  let text: string;
  if (typeof spec === "string") {
    text = spec;
    raw = await parseText(spec);
  } else if (isObject(spec)) {
    text = JSON.stringify(spec);
    // A private copy: validation and upgrade edit documents in place.
    raw = JSON.parse(text);
  } else {
    throw new SpecError(
      spec === undefined
        ? "spec is required"
        : "spec must be the OpenAPI document as an object or as JSON or YAML text",
    );
  }
  if (!isObject(raw)) throw new SpecError("spec must be a JSON or YAML object (a mapping)");
  if (nestedDeeperThan(raw, MAX_SPEC_DEPTH)) {
    throw new SpecError(`spec nests more than ${MAX_SPEC_DEPTH} levels deep`);
  }
  const sourceVersion = versionOf(raw);
  const hash = await sha256(text);

  const [{ dereference, upgrade, validate }] = await parserLibraries();
  const checked = await validate(raw);
  const problems = (checked.errors ?? []).filter((e) => !isQueryTemplateProblem(e));
  if (!checked.valid && problems.length > 0) {
    const label = sourceVersion === "2.0" ? "Swagger 2.0" : `OpenAPI ${sourceVersion}`;
    throw new SpecError(`spec is not a valid ${label} document: ${quote(innermost(problems))}`);
  }

  // Everything downstream reads OpenAPI 3.1 only: 2.0 bodies become requestBody,
  // collectionFormat becomes style/explode, 3.0 `nullable` becomes type lists.
  if (sourceVersion === "2.0") prepareSwagger2(raw);
  const upgraded = upgrade(raw).specification;
  if (!isObject(upgraded)) throw new SpecError("spec could not be upgraded to OpenAPI 3.1");

  const refOf = new WeakMap<object, string>();
  const result = dereference(upgraded, {
    onDereference: ({ schema, ref }) => {
      // A chain of references reports every hop; the first names the site best.
      if (!refOf.has(schema)) refOf.set(schema, ref);
    },
  });
  if (result.errors && result.errors.length > 0) {
    throw new SpecError(`spec has references that cannot be resolved: ${quote(result.errors)}`);
  }
  if (!isObject(result.schema)) throw new SpecError("spec could not be dereferenced");
  return { document: result.schema, refOf, sourceVersion, hash };
}
