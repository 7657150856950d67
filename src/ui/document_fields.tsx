/**
 * The fields an OpenAPI document comes in by, shared by the import and the
 * re-import forms: a file or pasted text, the base URL that replaces the
 * document's servers, and the secret that authenticates the calls.
 *
 * @module
 */
import type { Json } from "./client.ts";
import { errorOf, Field, type FormState, Select, TextArea, valueOf } from "./components.tsx";
import type { UiRequest } from "./context.ts";

/** The names of the org's secrets, for the secret choice (none when they cannot be read). */
export async function secretNames(ui: UiRequest): Promise<string[]> {
  const secrets = await ui.api.get("/secrets");
  return secrets.ok ? secrets.body.secrets.map((s: Json) => s.name) : [];
}

/** What {@link DocumentFields} shows. */
export interface DocumentFieldsProps {
  /** The form's name in the page's state (its values and errors after a refusal). */
  form: string;
  state?: FormState;
  /** The file field's label. */
  fileLabel: string;
  /** The org's secret names. */
  secrets: string[];
  /** Values shown before the form was sent: the API's current ones, for a re-import. */
  current?: { baseUrl?: string; secret?: string };
}

/** The document (file or text), base URL and secret fields of an import form. */
export function DocumentFields(
  { form, state, fileLabel, secrets, current = {} }: DocumentFieldsProps,
) {
  const v = (name: string, fallback = "") => valueOf(state, form, name, fallback);
  const e = (name: string) => errorOf(state, form, name);
  return (
    <>
      <Field
        label={fileLabel}
        name="file"
        type="file"
        hint="A .json, .yaml or .yml file. Or paste it below."
      />
      <TextArea label="Or paste it" name="spec" value={v("spec")} error={e("spec")} rows={8} />
      <Field
        label="Base URL (optional)"
        name="baseUrl"
        type="url"
        value={v("baseUrl", current.baseUrl ?? "")}
        error={e("baseUrl")}
        hint="Replaces the document's servers: where the tools send their requests."
      />
      <Select
        label="Secret that authenticates the calls (optional)"
        name="secret"
        value={v("secret", current.secret ?? "")}
        error={e("secret")}
        options={[["", "(none)"], ...secrets]}
      />
    </>
  );
}
