/**
 * The one interface every kind of source a gateway serves from implements:
 * tools assigned one by one (`assigned_tools.ts`) and upstream MCP servers
 * (`src/upstream/source.ts`). The catalog reads sources; the dispatcher
 * calls the items they contribute and knows nothing of where they come from.
 * Adding a source means implementing {@link CatalogSource}, not editing the
 * dispatcher.
 *
 * @module
 */
import type { CallToolResult, ExecutionContext } from "../tools/executor.ts";

/** A JSON object. */
export type JsonObject = Record<string, unknown>;

/** A tool as listed to MCP clients. */
export interface ToolDescriptor {
  name: string;
  title?: string;
  description: string;
  inputSchema: JsonObject;
  outputSchema?: JsonObject;
  annotations?: JsonObject;
  [extra: string]: unknown;
}

/** What every item carries besides what it does. */
interface ItemBase {
  /** Who contributes the item, for messages about collisions: "tool 'x' of server 'y'". */
  origin: string;
  /** The upstream server behind the item, when there is one. */
  serverId?: string;
}

/** A tool a gateway serves. */
export interface ToolItem extends ItemBase {
  /** The name the gateway serves it under. */
  name: string;
  descriptor: ToolDescriptor;
  /** The stored tool, when the tool was assigned to the gateway by itself. */
  toolId?: string;
  /** Calls a minute each caller may make (the assignment's `rateLimit`); unlimited without. */
  rateLimit?: number;
  /** Runs the tool with arguments already validated against `descriptor.inputSchema`. */
  call(args: JsonObject, ctx: ExecutionContext): Promise<CallToolResult>;
}

/** The argument being completed and what the client knows so far. */
export interface CompletionRequest {
  argument: { name: string; value: string };
  context?: JsonObject;
}

/** A prompt a gateway serves. */
export interface PromptItem extends ItemBase {
  name: string;
  /** The prompt as listed (with the gateway's name for it). */
  descriptor: JsonObject;
  get(args: Record<string, string>, ctx: ExecutionContext): Promise<JsonObject>;
  /** Completes one of the prompt's arguments, when the source can. */
  complete?(request: CompletionRequest, ctx: ExecutionContext): Promise<JsonObject>;
}

/** Subscribing to a resource's updates, when its source offers it. */
interface Subscribable {
  /** Asks for `notifications/resources/updated` of `uri` on the caller's session. */
  subscribe?(uri: string, ctx: ExecutionContext): Promise<JsonObject>;
  unsubscribe?(uri: string, ctx: ExecutionContext): Promise<JsonObject>;
}

/** A resource with a fixed URI. */
export interface ResourceItem extends ItemBase, Subscribable {
  uri: string;
  descriptor: JsonObject;
  read(ctx: ExecutionContext): Promise<JsonObject>;
}

/** A resource template: a family of URIs one source reads. */
export interface TemplateItem extends ItemBase, Subscribable {
  uriTemplate: string;
  descriptor: JsonObject;
  read(uri: string, ctx: ExecutionContext): Promise<JsonObject>;
  complete?(request: CompletionRequest, ctx: ExecutionContext): Promise<JsonObject>;
}

/** An item a source offered that the gateway does not serve, and why. */
export interface WithheldItem {
  kind: "tool" | "prompt" | "resource" | "template";
  name: string;
  origin: string;
  serverId?: string;
  reason: string;
}

/** What one source contributes to one gateway. */
export interface SourceItems {
  tools: ToolItem[];
  prompts: PromptItem[];
  resources: ResourceItem[];
  templates: TemplateItem[];
  /** Items the source itself holds back (e.g. a change awaiting approval). */
  withheld: WithheldItem[];
  /** Whether something here emits log messages (the gateway then offers `logging`). */
  logging: boolean;
  /** Whether something here completes arguments (the gateway then offers `completions`). */
  completions: boolean;
  /** Whether resources here can be subscribed to (the gateway then offers `resources.subscribe`). */
  subscribe: boolean;
}

/** A kind of thing gateways serve items from. */
export interface CatalogSource {
  /**
   * What the source contributes to `gatewayId` for clients of one era
   * (`stateless`: 2026-07-28); earlier items win a contested name. Read
   * when a gateway's view is built, never per request.
   */
  itemsFor(gatewayId: string, stateless: boolean): Promise<SourceItems>;
  /** A caller named an item `gatewayId` does not serve: the source may look again. */
  missed?(gatewayId: string): void;
}

/** An empty contribution, for sources to fill. */
export function noItems(): SourceItems {
  return {
    tools: [],
    prompts: [],
    resources: [],
    templates: [],
    withheld: [],
    logging: false,
    completions: false,
    subscribe: false,
  };
}
