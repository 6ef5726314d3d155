/*
 * <rightsgate-panel>: the privacy rights, choices and notices that apply to a person,
 * in their language, from a rightsgate API or from its static export.
 *
 * Plain JavaScript: no framework, no build step, no dependency. Served by the API under a
 * content-hashed name with a published Subresource Integrity hash (GET /v1/component).
 *
 *   <script src="https://rights.example/v1/component/rightsgate-panel.<digest>.js"
 *           integrity="sha384-..." crossorigin="anonymous"></script>
 *   <rightsgate-panel api="https://rights.example" jurisdiction="US-CA"></rightsgate-panel>
 *
 * Attributes: api, export-base, jurisdiction, age, birthdate, locale, context,
 * heading-level, closable. Events (bubbling, composed): rightsgate:decision,
 * rightsgate:choice, rightsgate:save, rightsgate:close, rightsgate:error.
 * Styling: CSS custom properties --rightsgate-* and ::part(...). See the README,
 * "Drop-in component".
 *
 * The age and birthdate are sent in a POST body (never in a URL) and never logged.
 */
(() => {
  "use strict";

  const ELEMENT = "rightsgate-panel";
  // Shown before the served language is known (the English of engine/ui_strings.py;
  // tests/api/test_component.py checks they agree).
  const ENGLISH = {
    panel_title: "Your privacy choices",
    loading: "Loading your privacy choices…",
    error: "Your privacy choices could not be loaded.",
    retry: "Try again",
  };
  const ATTRIBUTES = ["api", "export-base", "jurisdiction", "age", "birthdate", "locale", "context",
                      "heading-level", "closable"];
  // Spanish of the Americas reads the Latin American variant (as the API negotiates).
  const AMERICAS = new Set(["US", "MX", "AR", "BO", "CL", "CO", "CR", "CU", "DO", "EC", "GT", "HN",
                            "NI", "PA", "PE", "PR", "PY", "SV", "UY", "VE", "419"]);

  const STYLE = `
    :host { display: block; color: var(--rightsgate-color, #1f2328);
            font: var(--rightsgate-font, inherit); line-height: 1.45; }
    :host([hidden]) { display: none; }
    .panel { box-sizing: border-box; max-width: var(--rightsgate-max-width, 44rem);
             padding: var(--rightsgate-spacing, 1rem 1.25rem);
             background: var(--rightsgate-background, #ffffff);
             border: 1px solid var(--rightsgate-border-color, #d0d7de);
             border-radius: var(--rightsgate-radius, 8px); }
    .header { display: flex; align-items: center; gap: .75em; }
    .heading { font-size: 1.25em; margin: 0; flex: 1; }
    .subheading { font-size: 1.05em; margin: 1.25em 0 .5em; }
    .items { list-style: none; margin: 0; padding: 0; }
    .item { border-top: 1px solid var(--rightsgate-border-color, #d0d7de); padding: .75em 0; }
    .row { display: flex; align-items: center; gap: .6em; flex-wrap: wrap; }
    .toggle { inline-size: 1.25em; block-size: 1.25em; margin: 0; flex: none;
              accent-color: var(--rightsgate-accent, #0b57d0); cursor: pointer; }
    .toggle[aria-disabled="true"] { cursor: not-allowed; opacity: .55; }
    .label, .title { font-weight: 600; }
    .state { margin-inline-start: auto; font-size: .875em; color: var(--rightsgate-muted, #57606a); }
    .panel p { margin: 0; }
    .panel .description, .panel .note, .panel .details, .panel .badges { margin-block-start: .3em; }
    .choice .body { padding-inline-start: 1.85em; } /* under the label: toggle 1.25em + gap .6em */
    .note, .details { font-size: .875em; color: var(--rightsgate-muted, #57606a); }
    .badges { display: flex; gap: .4em; flex-wrap: wrap; }
    .badge { display: inline-block; font-size: .8em; padding: .1em .55em; border-radius: 999px;
             background: var(--rightsgate-badge-background, #eef1f4);
             color: var(--rightsgate-badge-color, #1f2328); }
    .badge.locked { background: var(--rightsgate-locked-background, #fdecea);
                    color: var(--rightsgate-locked-color, #8a1c12); }
    .badge.gpc { background: var(--rightsgate-gpc-background, #e6f4ea);
                 color: var(--rightsgate-gpc-color, #0f5223); }
    .panel .gpc-notice { margin-block-start: .75em; padding: .5em .75em; border-radius: var(--rightsgate-radius, 8px);
                  background: var(--rightsgate-gpc-background, #e6f4ea);
                  color: var(--rightsgate-gpc-color, #0f5223); }
    .actions { display: flex; gap: .5em; flex-wrap: wrap; justify-content: flex-end; margin-top: 1em; }
    button { font: inherit; padding: .45em 1em; cursor: pointer;
             border-radius: var(--rightsgate-button-radius, 6px);
             border: 1px solid var(--rightsgate-accent, #0b57d0);
             background: var(--rightsgate-button-background, #ffffff);
             color: var(--rightsgate-accent, #0b57d0); }
    button.primary { background: var(--rightsgate-accent, #0b57d0);
                     color: var(--rightsgate-accent-contrast, #ffffff); }
    a { color: var(--rightsgate-link, #0b57d0); }
    :focus-visible { outline: 3px solid var(--rightsgate-focus, #0b57d0); outline-offset: 2px; }
    .panel .message { min-block-size: 1.45em; margin-block-start: .5em; }
    .error { color: var(--rightsgate-error, #8a1c12); }
    summary { cursor: pointer; }
  `;

  let sheet = null; // one constructed stylesheet for every instance (not subject to style-src)
  function adoptStyle(root) {
    if ("adoptedStyleSheets" in root && typeof CSSStyleSheet === "function") {
      try {
        if (sheet === null) {
          sheet = new CSSStyleSheet();
          sheet.replaceSync(STYLE);
        }
        root.adoptedStyleSheets = [sheet];
        return;
      } catch (_) { /* fall back to a <style> element */ }
    }
    const style = document.createElement("style");
    style.textContent = STYLE;
    root.append(style);
  }

  /** An element with attributes and children (strings become text: nothing is parsed as HTML). */
  function h(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  class LoadError extends Error {
    constructor(message, detail) {
      super(message);
      this.detail = detail;
    }
  }

  async function getJson(url, init) {
    let response;
    try {
      response = await fetch(url, { credentials: "omit", ...init,
                                    headers: { Accept: "application/json", ...(init && init.headers) } });
    } catch (error) {
      throw new LoadError("network", { reason: "network", url, message: String(error) });
    }
    let body = null;
    try {
      body = await response.json();
    } catch (_) { /* not JSON: reported below */ }
    if (!response.ok || body === null || typeof body !== "object") {
      throw new LoadError("http", { reason: "http", url, status: response.status, problem: body });
    }
    return body;
  }

  function joinUrl(base, path) {
    return base.replace(/\/+$/, "") + "/" + path.replace(/^\/+/, "");
  }

  /** The shipped locale for the person's languages, as the API negotiates (simplified). */
  function pickLocale(available, preferences, fallback) {
    const byLower = new Map(available.map((tag) => [tag.toLowerCase(), tag]));
    for (const raw of preferences) {
      if (!raw) continue;
      if (raw === "*") return fallback;
      const pref = raw.replace(/_/g, "-");
      const [language, ...rest] = pref.split("-");
      const lang = ({ no: "nb", nn: "nb" })[language.toLowerCase()] || language.toLowerCase();
      const region = rest.length ? rest[rest.length - 1].toUpperCase() : "";
      const exact = byLower.get([lang, ...rest].join("-").toLowerCase());
      if (exact) return exact;
      if (lang === "zh") {
        const traditional = rest.some((p) => ["HANT", "TW", "HK", "MO"].includes(p.toUpperCase()));
        if (!traditional && byLower.has("zh-hans")) return byLower.get("zh-hans");
        continue;
      }
      if (lang === "es" && AMERICAS.has(region) && byLower.has("es-419")) return byLower.get("es-419");
      if (byLower.has(lang)) return byLower.get(lang);
    }
    return fallback;
  }

  /** The export's file name for a place as sent (aliases, territories, DEFAULT), as the API resolves it. */
  function exportedPlace(index, raw) {
    const places = new Set(index.places || []);
    let code = String(raw || "").trim().replace(/_/g, "-");
    if (!code) return "DEFAULT";
    const aliases = Object.fromEntries(Object.entries(index.aliases || {})
                                             .map(([alias, target]) => [alias.toUpperCase(), target]));
    code = aliases[code.toUpperCase()] || code.toUpperCase();
    code = (index.territories || {})[code] || code;
    if (places.has(code)) return code;
    const country = code.split("-")[0];
    if (places.has(country)) return country;
    return "DEFAULT";
  }

  class RightsgatePanel extends HTMLElement {
    static get observedAttributes() { return ATTRIBUTES; }

    #root;
    #decision = null;
    #strings = null;
    #source = null;
    #items = []; // [{item, value, locked, input, state}]
    #generation = 0;
    #scheduled = false;

    constructor() {
      super();
      this.#root = this.attachShadow({ mode: "open" });
      adoptStyle(this.#root);
    }

    connectedCallback() { this.#schedule(); }

    attributeChangedCallback(_name, before, after) {
      if (before !== after && this.isConnected) this.#schedule();
    }

    /** The decision shown (the API's body), or null before it is loaded. */
    get decision() { return this.#decision; }

    /** The current value of every choice, as the rightsgate:save event carries them. */
    get choices() { return this.#items.map((entry) => this.#choice(entry)); }

    /** Load the decision again (attributes are read now). */
    reload() {
      const generation = ++this.#generation;
      this.#renderStatus(ENGLISH.loading, false);
      this.#load().then(({ decision, strings, source }) => {
        if (generation !== this.#generation) return; // a newer load started
        this.#decision = decision;
        this.#strings = strings;
        this.#source = source;
        this.#render();
        this.#emit("rightsgate:decision", { decision, source, locale: decision.locale,
                                            direction: decision.direction });
      }, (error) => {
        if (generation !== this.#generation) return;
        this.#decision = null;
        this.#items = [];
        this.#renderStatus(ENGLISH.error, true);
        const detail = error instanceof LoadError ? error.detail : { reason: "error", message: String(error) };
        this.#emit("rightsgate:error", detail);
      });
    }

    #schedule() {
      if (this.#scheduled) return;
      this.#scheduled = true;
      queueMicrotask(() => {
        this.#scheduled = false;
        if (this.isConnected) this.reload();
      });
    }

    #emit(type, detail, cancelable = false) {
      return this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true, cancelable }));
    }

    // -- loading -------------------------------------------------------------------------

    async #load() {
      const api = (this.getAttribute("api") || "").trim();
      const exportBase = (this.getAttribute("export-base") || "").trim();
      const personal = this.hasAttribute("age") || this.hasAttribute("birthdate");
      const gpc = navigator.globalPrivacyControl === true;
      if (exportBase && !(personal && api)) {
        if (personal) {
          throw new LoadError("config", { reason: "config",
            message: "the static export has no ages: give the api attribute to decide for an age" });
        }
        return this.#fromExport(exportBase, gpc);
      }
      if (!api) throw new LoadError("config", { reason: "config", message: "no api or export-base attribute" });
      return this.#fromApi(api, gpc);
    }

    async #fromApi(api, gpc) {
      const fields = {};
      for (const name of ["jurisdiction", "locale", "context"]) {
        const value = (this.getAttribute(name) || "").trim();
        if (value) fields[name] = value;
      }
      if (gpc) fields.gpc = true;
      let asked;
      const age = this.getAttribute("age");
      const birthdate = this.getAttribute("birthdate");
      if (age !== null || birthdate !== null) {
        // About one person: in a POST body, so it stays out of URLs, histories and access logs.
        const body = { ...fields };
        if (age !== null) body.age = /^\s*\d+\s*$/.test(age) ? Number(age) : age;
        if (birthdate !== null) body.birthdate = birthdate.trim();
        asked = getJson(joinUrl(api, "v1/decision"), {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      } else {
        asked = getJson(joinUrl(api, "v1/decision") + "?" + new URLSearchParams(fields));
      }
      // Both are negotiated from the same `locale` or Accept-Language, so they agree; asked
      // together, then checked.
      const wordsUrl = (tag) => joinUrl(api, "v1/ui-strings") + (tag ? "?" + new URLSearchParams({ locale: tag }) : "");
      let [decision, strings] = await Promise.all([asked, getJson(wordsUrl(fields.locale))]);
      if (strings.locale !== decision.locale) strings = await getJson(wordsUrl(decision.locale));
      return { decision, strings, source: "api" };
    }

    async #fromExport(base, gpc) {
      const index = await getJson(joinUrl(base, "index.json"));
      const layout = index.layout || {};
      const code = exportedPlace(index, this.getAttribute("jurisdiction"));
      const explicit = (this.getAttribute("locale") || "").trim();
      const preferences = explicit ? [explicit] : (navigator.languages || [navigator.language]);
      const tag = pickLocale(index.locales || [], preferences, index.default_locale || "en");
      const gpcDir = Object.keys(layout.gpc || {}).find((dir) => layout.gpc[dir] === gpc);
      const fill = (pattern) => pattern.replace("{jurisdiction}", code).replace("{gpc}", gpcDir)
                                       .replace("{locale}", tag);
      if (!layout.decision || !layout.ui_strings || !gpcDir) {
        throw new LoadError("export", { reason: "export", message: "index.json has no usable layout" });
      }
      const [decision, strings] = await Promise.all([getJson(joinUrl(base, fill(layout.decision))),
                                                     getJson(joinUrl(base, fill(layout.ui_strings)))]);
      return { decision, strings, source: "export" };
    }

    // -- rendering -----------------------------------------------------------------------

    #level(offset) {
      const level = Math.min(Math.max(parseInt(this.getAttribute("heading-level"), 10) || 2, 1), 5);
      return "h" + (level + offset);
    }

    #clear() {
      for (const node of [...this.#root.childNodes]) {
        if (node.nodeName !== "STYLE") node.remove();
      }
    }

    #renderStatus(text, failed) {
      this.#clear();
      const panel = h("section", { part: "panel", class: "panel", lang: "en", dir: "ltr",
                                   "aria-labelledby": "rg-title", "aria-busy": failed ? null : "true" },
        h(this.#level(0), { id: "rg-title", part: "heading", class: "heading" }, ENGLISH.panel_title),
        h("p", { part: "message", class: failed ? "message error" : "message", role: failed ? "alert" : "status" },
          text));
      if (failed) {
        const retry = h("button", { type: "button", part: "button retry" }, ENGLISH.retry);
        retry.addEventListener("click", () => this.reload());
        panel.append(h("div", { part: "actions", class: "actions" }, retry));
      }
      this.#root.append(panel);
    }

    #t(key, values) {
      const strings = (this.#strings && this.#strings.strings) || {};
      let text = strings[key] || ENGLISH[key] || key;
      for (const [name, value] of Object.entries(values || {})) text = text.replace(`{${name}}`, () => value);
      return text;
    }

    /** lang="en" on words the served language lacks (the API marks them fallback_locale). */
    #langOf(item) {
      return item.fallback_locale ? item.fallback_locale : null;
    }

    #render() {
      const decision = this.#decision;
      this.#clear();
      this.#items = [];
      const panel = h("section", { part: "panel", class: "panel", lang: decision.locale,
                                   dir: decision.direction === "rtl" ? "rtl" : "ltr",
                                   "aria-labelledby": "rg-title",
                                   "data-jurisdiction": decision.jurisdiction && decision.jurisdiction.code });
      const header = h("div", { part: "header", class: "header" },
        h(this.#level(0), { id: "rg-title", part: "heading", class: "heading" }, this.#t("panel_title")));
      if (this.hasAttribute("closable")) {
        const close = h("button", { type: "button", part: "button close", class: "close" }, this.#t("close"));
        close.addEventListener("click", () => {
          if (this.#emit("rightsgate:close", { choices: this.choices }, true)) this.hidden = true;
        });
        header.append(close);
      }
      panel.append(header);
      if (decision.gpc) {
        panel.append(h("p", { part: "gpc-notice", class: "gpc-notice" }, this.#t("gpc_detected")));
      }
      const gate = decision.age_gate;
      if (gate && gate.status !== "age_required") {
        panel.append(h("section", { part: "section age-gate", "aria-labelledby": "rg-age" },
          h(this.#level(1), { id: "rg-age", part: "subheading", class: "subheading" }, this.#t("section_age")),
          h("p", { class: "title", lang: this.#langOf(gate) }, gate.title),
          h("p", { class: "description", lang: this.#langOf(gate) }, gate.text)));
      }
      panel.append(this.#choicesSection(decision.opt_outs || []));
      panel.append(this.#listSection("rights", "section_rights", decision.rights || [], (item) => this.#right(item)));
      panel.append(this.#listSection("notices", "section_notices", decision.notices || [],
                                     (item) => this.#notice(item)));
      this.#root.append(panel);
    }

    #choicesSection(optOuts) {
      const section = h("section", { part: "section choices", "aria-labelledby": "rg-choices" },
        h(this.#level(1), { id: "rg-choices", part: "subheading", class: "subheading" },
          this.#t("section_choices")));
      if (!optOuts.length) {
        section.append(h("p", { class: "note" }, this.#t("nothing_to_choose")));
        return section;
      }
      const list = h("ul", { class: "items", role: "list" });
      for (const item of optOuts) list.append(this.#choiceItem(item));
      section.append(list);
      const message = h("p", { part: "message", class: "message", role: "status" });
      const button = (key, part, action, primary) => {
        const node = h("button", { type: "button", part: `button ${part}`, class: primary ? "primary" : null },
                       this.#t(key));
        node.addEventListener("click", () => action(message));
        return node;
      };
      section.append(h("div", { part: "actions", class: "actions" },
        button("reject_all", "reject-all", () => this.#setAll("off", message)),
        button("accept_all", "accept-all", () => this.#setAll("on", message)),
        button("save", "save button-primary", () => this.#save(message), true)), message);
      return section;
    }

    /** Why an item cannot be changed here, or null. */
    #lock(item) {
      if (item.mechanism === "prohibited") {
        const reason = this.#decision.context === "school" ? "prohibited_school"
          : item.knowledge ? "prohibited_age" : "prohibited_law";
        return { kind: "prohibited", reason };
      }
      if (item.mechanism === "opt_in" && item.consent_by === "parent") return { kind: "consent", reason: "consent_parent" };
      if (item.mechanism === "opt_in" && item.consent_by === "school") return { kind: "consent", reason: "consent_school" };
      return null;
    }

    #choiceItem(item) {
      const id = String(item.id);
      const lock = this.#lock(item);
      const value = item.mechanism === "prohibited" ? "off" : item.default === "on" ? "on" : "off";
      const ids = { toggle: `rg-t-${id}`, badges: `rg-b-${id}`, text: `rg-d-${id}`, note: `rg-n-${id}` };
      const notes = [];
      const badges = [];
      if (lock && lock.kind === "prohibited") {
        badges.push(h("span", { part: "badge badge-locked", class: "badge locked" }, this.#t(lock.reason)));
      } else if (lock) {
        notes.push(this.#t(lock.reason)); // who consents instead of the person
      } else if (item.mechanism === "opt_in") {
        notes.push(item.consent_by === "parent_and_child" ? this.#t("consent_joint") : this.#t("opt_in_hint"));
      } else if (item.mechanism === "opt_out") {
        notes.push(this.#t("opt_out_hint"));
      }
      if (item.gpc_applied) {
        badges.push(h("span", { part: "badge badge-gpc", class: "badge gpc" }, this.#t("gpc_honoured")));
        notes.push(this.#t("gpc_turned_off"));
      }
      if (item.basis === "policy") badges.push(h("span", { part: "badge", class: "badge" }, this.#t("our_policy")));
      if (item.fallback_locale) notes.push(this.#t("english_fallback"));
      const input = h("input", { type: "checkbox", role: "switch", id: ids.toggle, part: "toggle", class: "toggle",
                                 "aria-describedby": [badges.length ? ids.badges : null, ids.text,
                                                      notes.length ? ids.note : null].filter(Boolean).join(" "),
                                 "aria-disabled": lock ? "true" : null, "data-id": id });
      input.checked = value === "on";
      const state = h("span", { part: "state", class: "state", "aria-hidden": "true" });
      const entry = { item, value, lock, input, state };
      input.addEventListener("click", (event) => {
        if (entry.lock) event.preventDefault(); // locked: focusable, announced, never changed
      });
      input.addEventListener("change", () => this.#set(entry, input.checked ? "on" : "off"));
      this.#items.push(entry);
      this.#showState(entry);
      const lang = this.#langOf(item);
      return h("li", { part: lock ? "item choice locked" : "item choice", class: "item choice", "data-id": id,
                       "data-mechanism": item.mechanism },
        h("div", { class: "row" }, input,
          h("label", { for: ids.toggle, part: "label", class: "label", lang }, item.title), state),
        h("div", { class: "body" },
          badges.length ? h("p", { id: ids.badges, class: "badges" }, badges) : null,
          h("p", { id: ids.text, part: "description", class: "description", lang }, item.text),
          notes.length ? h("p", { id: ids.note, part: "note", class: "note" }, notes.join(" ")) : null,
          this.#details(item)));
    }

    #details(item) {
      if (!item.citation) return null;
      return h("details", { part: "details", class: "details" },
        h("summary", {}, this.#t("details")),
        h("p", {}, `${this.#t("legal_basis")}: ${item.citation}`));
    }

    #showState(entry) {
      entry.input.checked = entry.value === "on";
      entry.state.textContent = this.#t(entry.value === "on" ? "on" : "off");
    }

    #set(entry, value, quiet = false) {
      if (entry.lock || entry.value === value) {
        this.#showState(entry);
        return false;
      }
      const previous = entry.value;
      entry.value = value;
      this.#showState(entry);
      if (!quiet) this.#emit("rightsgate:choice", { ...this.#choice(entry), previous, ...this.#context() });
      return true;
    }

    #setAll(value, message) {
      message.textContent = "";
      for (const entry of this.#items) {
        // "Accept all" never overrides what the browser's GPC signal turned off: only a
        // deliberate choice on that item does.
        if (value === "on" && entry.item.gpc_applied) continue;
        this.#set(entry, value);
      }
    }

    #save(message) {
      this.#emit("rightsgate:save", { ...this.#context(), choices: this.choices });
      message.textContent = "";
      // A fresh text node, so screen readers announce it again on a second save.
      requestAnimationFrame(() => { message.textContent = this.#t("saved"); });
    }

    #context() {
      const decision = this.#decision;
      return {
        jurisdiction: decision.jurisdiction.code, locale: decision.locale, context: decision.context,
        gpc: decision.gpc, ruleset: { ...decision.ruleset },
        age_gate: { status: decision.age_gate.status, rule: decision.age_gate.rule },
        source: this.#source,
      };
    }

    #choice(entry) {
      const { item } = entry;
      return {
        id: item.id, value: entry.value, default: item.mechanism === "prohibited" ? "off" : item.default,
        changed: entry.value !== (item.mechanism === "prohibited" ? "off" : item.default),
        mechanism: item.mechanism, locked: entry.lock ? entry.lock.kind : null,
        gpc_applied: Boolean(item.gpc_applied), consent_by: item.consent_by || null,
        rule: item.rule, basis: item.basis,
      };
    }

    #listSection(part, heading, items, render) {
      if (!items.length) return null;
      const id = `rg-${part}`;
      return h("section", { part: `section ${part}`, "aria-labelledby": id },
        h(this.#level(1), { id, part: "subheading", class: "subheading" }, this.#t(heading)),
        h("ul", { class: "items", role: "list" }, items.map(render)));
    }

    #right(item) {
      const lang = this.#langOf(item);
      const parts = [h("p", { class: "title", lang }, item.title),
                     h("p", { class: "description", lang }, item.description)];
      if (item.response && item.response.text) {
        parts.push(h("p", { class: "note" }, this.#t("answer_within", { period: item.response.text })));
      }
      const authority = item.authority;
      if (authority && authority.name) {
        const label = this.#t("complain_to", { authority: authority.name });
        parts.push(h("p", { class: "note" }, /^https?:\/\//i.test(authority.url || "")
          ? h("a", { href: authority.url, target: "_blank", rel: "noopener noreferrer", part: "link" }, label)
          : label));
      }
      if (item.fallback_locale) parts.push(h("p", { class: "note" }, this.#t("english_fallback")));
      parts.push(this.#details(item));
      return h("li", { part: "item right", class: "item", "data-id": item.id }, parts);
    }

    #notice(item) {
      const lang = this.#langOf(item);
      const basis = item.basis === "policy" ? "our_policy" : "required_by_law";
      return h("li", { part: "item notice", class: "item", "data-id": item.id },
        h("p", { class: "title", lang }, item.title),
        h("p", { class: "badges" }, h("span", { part: "badge", class: "badge" }, this.#t(basis))),
        h("p", { class: "description", lang }, item.text),
        item.fallback_locale ? h("p", { class: "note" }, this.#t("english_fallback")) : null,
        this.#details(item));
    }
  }

  if (!customElements.get(ELEMENT)) customElements.define(ELEMENT, RightsgatePanel);
})();
