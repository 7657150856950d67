/**
 * The pieces every page is built of: form fields that show the API's error
 * next to the field it names, the error summary for the rest, the CSRF
 * field, copy buttons, tables, empty states, confirmation forms and dates.
 *
 * @module
 */
import type { Child } from "hono/jsx";
import type { ApiProblem } from "./client.ts";
import { CSRF_FIELD } from "./csrf.ts";

/** What a form is re-shown with after the API refused it: what was sent, and why. */
export interface FormState {
  /** Which form on the page the state is for. */
  form: string;
  values: Record<string, string>;
  error?: ApiProblem;
}

/** Whether `error` is about the field `name` (or a part of it: `name.x`, `name[0]`). */
export function isAbout(error: ApiProblem | undefined, name: string): boolean {
  const f = error?.field;
  return f !== undefined && (f === name || f.startsWith(`${name}.`) || f.startsWith(`${name}[`));
}

/** The state's message when it is about `name`. */
export function errorOf(state: FormState | undefined, form: string, name: string) {
  return state?.form === form && isAbout(state.error, name) ? state.error?.message : undefined;
}

/** The state's value of `name` for `form`, else `fallback`. */
export function valueOf(
  state: FormState | undefined,
  form: string,
  name: string,
  fallback = "",
): string {
  return state?.form === form ? state.values[name] ?? "" : fallback;
}

/** A DOM id made from `name` (dots and brackets are not welcome in ids people read). */
export const idOf = (name: string) => `f-${name.replace(/[^A-Za-z0-9_-]/g, "-")}`;

/** The hidden field every state-changing form carries. */
export function Csrf({ token }: { token: string }) {
  return <input type="hidden" name={CSRF_FIELD} value={token} />;
}

/** The props every field takes. */
interface FieldProps {
  label: string;
  name: string;
  value?: string;
  error?: string;
  hint?: Child;
  required?: boolean;
  /** The DOM id, when the name alone could repeat on the page. */
  id?: string;
}

function described(id: string, hint: unknown, error: unknown) {
  const ids = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return ids || undefined;
}

function Notes({ id, hint, error }: { id: string; hint?: Child; error?: string }) {
  return (
    <>
      {hint ? <p class="hint" id={`${id}-hint`}>{hint}</p> : null}
      {error ? <p class="error" id={`${id}-error`}>{error}</p> : null}
    </>
  );
}

/** A labelled input. */
export function Field(
  props: FieldProps & {
    type?: string;
    placeholder?: string;
    autocomplete?: string;
    min?: string;
    max?: string;
    step?: string;
  },
) {
  const id = props.id ?? idOf(props.name);
  return (
    <div class="field">
      <label for={id}>{props.label}{props.required ? " (required)" : ""}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value ?? ""}
        placeholder={props.placeholder}
        autocomplete={props.autocomplete}
        min={props.min}
        max={props.max}
        step={props.step}
        required={props.required}
        aria-invalid={props.error ? "true" : undefined}
        aria-describedby={described(id, props.hint, props.error)}
      />
      <Notes id={id} hint={props.hint} error={props.error} />
    </div>
  );
}

/**
 * The two fields of a rate limit named `name` (`<name>.requests`, and
 * `<name>.windowSeconds` a minute by default) in a fieldset, filled from
 * `limit` or the state, with the API's errors beside them.
 */
export function LimitFields(
  { legend, name, form, state, limit, hint }: {
    legend: string;
    name: string;
    form: string;
    state?: FormState;
    limit?: { requests: number; windowSeconds: number } | null;
    hint?: string;
  },
) {
  const v = (field: string, fallback: string) => valueOf(state, form, field, fallback);
  const whole = state?.form === form && state.error?.field === name
    ? state.error.message
    : undefined;
  const id = `${form}-${idOf(name)}`;
  return (
    <fieldset>
      <legend>{legend}</legend>
      {hint ? <p class="hint">{hint}</p> : null}
      <div class="pair">
        <Field
          label="Requests (empty: no limit)"
          name={`${name}.requests`}
          id={`${id}-requests`}
          type="number"
          min="1"
          value={v(`${name}.requests`, limit ? String(limit.requests) : "")}
          error={errorOf(state, form, `${name}.requests`) ?? whole}
        />
        <Field
          label="Per seconds"
          name={`${name}.windowSeconds`}
          id={`${id}-window`}
          type="number"
          min="1"
          value={v(`${name}.windowSeconds`, String(limit?.windowSeconds ?? 60))}
          error={errorOf(state, form, `${name}.windowSeconds`)}
        />
      </div>
    </fieldset>
  );
}

/** A labelled text area; `json` checks it as you type ("schema" or "value"). */
export function TextArea(props: FieldProps & { json?: "schema" | "value"; rows?: number }) {
  const id = props.id ?? idOf(props.name);
  const live = props.json ? `${id}-live` : "";
  return (
    <div class="field">
      <label for={id}>{props.label}{props.required ? " (required)" : ""}</label>
      <textarea
        id={id}
        name={props.name}
        class={props.json ? "code" : undefined}
        rows={props.rows ?? 6}
        spellcheck={props.json ? false : undefined}
        data-json={props.json}
        required={props.required}
        aria-invalid={props.error ? "true" : undefined}
        aria-describedby={[described(id, props.hint, props.error), live].filter(Boolean).join(
          " ",
        ) || undefined}
      >
        {props.value ?? ""}
      </textarea>
      {props.json ? <p class="hint" id={live} aria-live="polite"></p> : null}
      <Notes id={id} hint={props.hint} error={props.error} />
    </div>
  );
}

/** A labelled select of `options` (value and label). */
export function Select(
  props: FieldProps & { options: readonly (string | [string, string])[] },
) {
  const id = props.id ?? idOf(props.name);
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select
        id={id}
        name={props.name}
        aria-invalid={props.error ? "true" : undefined}
        aria-describedby={described(id, props.hint, props.error)}
      >
        {props.options.map((o) => {
          const [value, label] = typeof o === "string" ? [o, o] : o;
          return <option value={value} selected={value === props.value}>{label}</option>;
        })}
      </select>
      <Notes id={id} hint={props.hint} error={props.error} />
    </div>
  );
}

/** A labelled checkbox. */
export function Check(
  props: { label: string; name: string; checked?: boolean; value?: string; id?: string },
) {
  const id = props.id ?? idOf(props.name);
  return (
    <label class="check" for={id}>
      <input
        type="checkbox"
        id={id}
        name={props.name}
        value={props.value ?? "on"}
        checked={props.checked}
      />
      {props.label}
    </label>
  );
}

/**
 * The API's refusal, at the top of its form, when no field of the form
 * shows it (`fields` are the names the form has).
 */
export function ErrorSummary(
  { state, form, fields }: { state?: FormState; form: string; fields: readonly string[] },
) {
  if (state?.form !== form || !state.error) return null;
  const shown = fields.some((f) => isAbout(state.error, f));
  return (
    <div class="notice bad" role="alert">
      {shown ? "Please correct the field marked below." : state.error.message}
    </div>
  );
}

/**
 * Text in a block, with a button that copies it. Text of several lines is
 * code (a configuration, a result) and keeps its lines, scrolling sideways
 * when they are long; one line (a URL, a key) wraps, to be read whole.
 */
export function CopyBlock({ id, text, label }: { id: string; text: string; label: string }) {
  return (
    <div class="copy-row">
      <pre
        id={id}
        tabindex={0}
        aria-label={label}
        class={text.includes("\n") ? "lines" : undefined}
      >
        {text}
      </pre>
      <button type="button" class="secondary small js-only" data-copy={id}>
        Copy<span class="sr">{` ${label}`}</span>
      </button>
    </div>
  );
}

/** A one-button form that posts to `action` (delete, revoke, approve...). */
export function PostButton(
  props: {
    action: string;
    csrf: string;
    label: string;
    confirm?: string;
    danger?: boolean;
    fields?: Record<string, string>;
  },
) {
  return (
    <form method="post" action={props.action} class="inline" data-confirm={props.confirm}>
      <Csrf token={props.csrf} />
      {Object.entries(props.fields ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button type="submit" class={props.danger ? "danger small" : "secondary small"}>
        {props.label}
      </button>
    </form>
  );
}

/** What an empty list says: what it is for and what to do next. */
export function Empty({ children }: { children: Child }) {
  return <div class="empty">{children}</div>;
}

/** A table that scrolls sideways on narrow screens. */
export function Table(
  { head, children, id, caption }: {
    head: readonly (string | [string, string])[];
    children: Child;
    id?: string;
    caption?: string;
  },
) {
  return (
    // Focusable, so that a table wider than the screen can be scrolled from the keyboard.
    <div class="table-wrap" tabindex={0} role="region" aria-label={caption ?? "Table"}>
      <table id={id}>
        {caption ? <caption class="sr">{caption}</caption> : null}
        <thead>
          <tr>
            {head.map((h) => {
              const [label, cls] = typeof h === "string" ? [h, undefined] : h;
              return <th scope="col" class={cls}>{label}</th>;
            })}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** An ISO time as a short readable UTC date and time, in a `<time>` element. */
export function When({ at }: { at: string | null | undefined }) {
  if (!at) return <span class="muted">never</span>;
  return <time datetime={at}>{at.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC")}</time>;
}

/**
 * A duration in milliseconds as people read it: a tenth of a millisecond
 * below 10 ms, whole milliseconds above; "–" when there is none.
 */
export function millis(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

/** `n` things named `word`, plural unless one ("? tools" when `n` is not known yet). */
export function counted(n: number | null | undefined, word: string): string {
  return n === 1 ? `1 ${word}` : `${n ?? "?"} ${word}s`;
}

/** How many tools, resources and prompts a server lists (or a gateway serves of it). */
export function itemCounts(
  c: { tools?: number | null; resources?: number | null; prompts?: number | null },
): string {
  return [
    counted(c.tools, "tool"),
    counted(c.resources, "resource"),
    counted(c.prompts, "prompt"),
  ].join(", ");
}

/**
 * A description as a list shows it: whole up to `max` characters, else cut
 * at a word with an ellipsis (the whole text is on the item's own page).
 */
export function brief(text: unknown, max = 300): string {
  if (typeof text !== "string") return "";
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const space = cut.lastIndexOf(" ");
  return `${space > max / 2 ? cut.slice(0, space) : cut}…`;
}

/** A status badge. */
export function Badge({ tone, children }: { tone: "ok" | "bad" | "warn"; children: Child }) {
  return <span class={`badge ${tone}`}>{children}</span>;
}

/** The link to the next page of a list, when there is one. */
export function Pager({ next }: { next: string | null }) {
  return next
    ? (
      <p>
        <a href={next} class="button secondary">Next page</a>
      </p>
    )
    : null;
}
