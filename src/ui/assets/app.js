// Gatehouse admin UI: progressive enhancement only. Every page works without this script;
// with it, copy buttons copy, lists filter as you type, JSON is checked as you type,
// destructive buttons ask first and imports show their progress.
"use strict";

document.documentElement.classList.add("js");

/** Says `text` to screen readers through the page's live region. */
function announce(text) {
  const live = document.getElementById("live");
  if (live) live.textContent = text;
}

// Copy buttons: data-copy names the element whose text (or value) is copied.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const target = document.getElementById(button.dataset.copy);
  if (!target) return;
  const text = "value" in target ? target.value : target.textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const range = document.createRange();
    range.selectNodeContents(target);
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    document.execCommand("copy");
  }
  const label = button.textContent;
  button.textContent = "Copied";
  announce("Copied to the clipboard");
  setTimeout(() => (button.textContent = label), 2000);
});

// Forms that destroy something ask first.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !confirm(message)) event.preventDefault();
});

// Live filters: data-filter names a table (or list) whose rows are hidden unless they match.
for (const input of document.querySelectorAll("[data-filter]")) {
  const apply = () => {
    const q = input.value.trim().toLowerCase();
    const scope = document.getElementById(input.dataset.filter);
    if (!scope) return;
    let shown = 0;
    for (const row of scope.querySelectorAll("[data-row]")) {
      const hit = row.textContent.toLowerCase().includes(q);
      row.hidden = !hit;
      if (hit) shown++;
    }
    announce(`${shown} shown`);
  };
  input.addEventListener("input", apply);
}

// Tag boxes of an OpenAPI preview check or uncheck every operation with that tag.
document.addEventListener("change", (event) => {
  const box = event.target.closest("input[data-tag]");
  if (!box) return;
  for (const op of document.querySelectorAll("input[data-op-tags]")) {
    if (op.dataset.opTags.split(" ").includes(box.dataset.tag)) op.checked = box.checked;
  }
});

/** What is wrong with `schema` as a tool's input schema, or "" when nothing is. */
function schemaProblem(schema) {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    return "the schema must be a JSON object";
  }
  if (schema.type !== undefined && schema.type !== "object") {
    return 'an input schema must have "type": "object"';
  }
  const props = schema.properties;
  if (
    props !== undefined && (typeof props !== "object" || props === null || Array.isArray(props))
  ) {
    return '"properties" must be an object';
  }
  for (const [name, sub] of Object.entries(props ?? {})) {
    if (typeof sub !== "object" && typeof sub !== "boolean") {
      return `properties.${name} must be a schema (an object)`;
    }
  }
  if (schema.required !== undefined) {
    if (!Array.isArray(schema.required) || schema.required.some((r) => typeof r !== "string")) {
      return '"required" must be a list of property names';
    }
    const missing = schema.required.find((r) => !(r in (props ?? {})));
    if (missing) return `required names "${missing}", which is not in properties`;
  }
  return "";
}

// JSON editors: data-json is "schema" (a tool's input schema) or "value" (any JSON).
for (const area of document.querySelectorAll("textarea[data-json]")) {
  const out = document.getElementById(`${area.id}-live`);
  // On load a field the server refused stays marked (the server's reason is beside it) until
  // it is edited; after that the live check says whether it is right.
  const check = (loading) => {
    if (!out) return;
    const text = area.value.trim();
    if (text === "") {
      out.textContent = "";
      if (!loading) area.removeAttribute("aria-invalid");
      return;
    }
    let problem = "";
    try {
      const value = JSON.parse(text);
      if (area.dataset.json === "schema") problem = schemaProblem(value);
    } catch (err) {
      problem = `not valid JSON: ${err.message}`;
    }
    const fine = area.dataset.json === "schema" ? "valid input schema" : "valid JSON";
    out.textContent = problem ? problem : fine;
    out.className = problem ? "error" : "hint";
    if (problem) area.setAttribute("aria-invalid", "true");
    else if (!loading) area.removeAttribute("aria-invalid");
  };
  area.addEventListener("input", () => check(false));
  check(true);
}

// Import progress: data-poll is a URL answering the job as JSON; the page reloads when it ends.
for (const box of document.querySelectorAll("[data-poll]")) {
  const bar = box.querySelector("progress");
  const text = box.querySelector("[data-progress-text]");
  const poll = async () => {
    try {
      const res = await fetch(box.dataset.poll, { headers: { accept: "application/json" } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const job = await res.json();
      if (job.state === "succeeded" || job.state === "failed") {
        location.reload();
        return;
      }
      const { phase, operations, done } = job.progress;
      if (bar && operations) {
        bar.max = operations;
        bar.value = done;
      }
      if (text) {
        text.textContent = `${job.state}${phase ? `: ${phase}` : ""}` +
          (operations ? ` (${done} of ${operations} operations)` : "");
      }
    } catch (err) {
      if (text) text.textContent = `could not read the progress (${err.message}); retrying`;
    }
    setTimeout(poll, 500);
  };
  setTimeout(poll, 300);
}

// Tables become a card per row on narrow screens (see app.css): each cell is labelled with its
// column's header, and the roles say what the cells are, since stacked cells lose the table's.
for (const table of document.querySelectorAll(".table-wrap table")) {
  const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  table.setAttribute("role", "table");
  for (const group of table.querySelectorAll("thead, tbody")) {
    group.setAttribute("role", "rowgroup");
  }
  for (const row of table.querySelectorAll("tr")) {
    row.setAttribute("role", "row");
    [...row.children].forEach((cell, i) => {
      if (cell.tagName === "TH") {
        cell.setAttribute("role", cell.scope === "row" ? "rowheader" : "columnheader");
        return;
      }
      cell.setAttribute("role", "cell");
      if (heads[i]) cell.dataset.label = heads[i];
    });
  }
  table.classList.add("stacked");
}
