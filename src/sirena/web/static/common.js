/* Sirena pages: shared helpers. Texts, times, the live alert set, region states and painting the map.
   Plain JavaScript, no build step, nothing loaded from anywhere but this server. */
"use strict";

const Sirena = (() => {
  const LANGS = ["uk", "en"];
  const STORE_LANG = "sirena.lang";
  const THREAT_ICONS = {
    drones: "i-drone",
    ballistic_missiles: "i-missile",
    cruise_missiles: "i-missile",
    unspecified_missiles: "i-missile",
    guided_aerial_bombs: "i-bomb",
    tactic_aircraft_activity: "i-plane",
    strategic_aircraft_activity: "i-plane",
    mig31k_departure: "i-plane",
    air_defense: "i-shield",
    unknown: "i-warning",
  };
  const KIND_ICONS = {
    air_raid: "i-siren",
    artillery_shelling: "i-blast",
    urban_fights: "i-building",
    chemical: "i-flask",
    nuclear: "i-radiation",
  };
  const SVG_NS = "http://www.w3.org/2000/svg";

  let lang = document.body.dataset.lang || "en";
  let texts = {};
  let templates = {};
  let regionRows = null;

  function storedLang() {
    try {
      const saved = localStorage.getItem(STORE_LANG);
      return LANGS.includes(saved) ? saved : null;
    } catch (_) {
      return null;
    }
  }

  async function loadTexts(wanted) {
    const response = await fetch(`/ui/messages/${wanted}.json`);
    if (!response.ok) throw new Error(`messages: ${response.status}`);
    const bundle = await response.json();
    texts = bundle.texts;
    templates = bundle.templates;
    lang = wanted;
  }

  function t(key, values) {
    let text = texts[key];
    if (text === undefined) text = key;
    if (values) text = text.replace(/\{(\w+)\}/g, (m, name) => (name in values ? String(values[name]) : m));
    return text;
  }

  /** Re-label everything marked with data-i18n (text), data-i18n-aria and data-i18n-placeholder. */
  function applyTexts(root = document) {
    document.documentElement.lang = lang;
    document.body.dataset.lang = lang;
    for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
    for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
    for (const el of root.querySelectorAll("[data-name-uk]")) {
      const name = el.dataset["name" + (lang === "uk" ? "Uk" : "En")];
      const title = el.querySelector(":scope > title");
      if (title) title.textContent = name;
      else if (el.tagName === "OPTION") el.textContent = name;
    }
    const sw = document.getElementById("lang-switch");
    if (sw) {
      sw.lang = lang === "uk" ? "en" : "uk";
      sw.setAttribute("aria-label", t("web.lang_switch_label"));
    }
    document.dispatchEvent(new Event("sirena:texts")); // for layers drawn by their own scripts
  }

  /** Start with the stored language (or the one the server chose), and wire the switch button at once: presses
   * take turns, and one made while the first texts are still loading switches once they are in. */
  async function initTexts(onChange) {
    const wanted = storedLang() || lang;
    const ready = loadTexts(wanted).then(applyTexts);
    let turn = ready.catch(() => {}); // a failed first load still lets the switch try its own
    const sw = document.getElementById("lang-switch");
    if (sw) {
      const toggle = async () => {
        const next = lang === "uk" ? "en" : "uk";
        try {
          localStorage.setItem(STORE_LANG, next);
        } catch (_) {
          /* private mode: the choice lasts for this page only */
        }
        await loadTexts(next);
        applyTexts();
        if (onChange) onChange();
      };
      sw.addEventListener("click", () => {
        // a press whose texts fail to load leaves the language as it was; the next press tries again
        turn = turn.then(toggle).catch(() => {});
      });
    }
    await ready;
  }

  // -- times ------------------------------------------------------------------------------------------------

  function duration(ms) {
    const minutes = Math.max(0, Math.floor(ms / 60000));
    if (minutes < 1) return t("web.duration.seconds");
    if (minutes < 60) return t("web.duration.minutes", { m: minutes });
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return t("web.duration.hours", { h: hours, m: String(minutes % 60).padStart(2, "0") });
    return t("web.duration.days", { d: Math.floor(hours / 24), h: hours % 24 });
  }

  /** Time to shelter: seconds under two minutes, else minutes (matches the console's choices). */
  function shelter(seconds) {
    return seconds < 120 ? t("web.duration.secs", { s: seconds }) : t("web.duration.minutes", { m: Math.round(seconds / 60) });
  }

  function shortDuration(ms) {
    const minutes = Math.max(0, Math.floor(ms / 60000));
    return `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, "0")}`;
  }

  /** A time in the viewer's own time zone; the date too when it is not today. */
  function time(iso) {
    const when = new Date(iso);
    const locale = lang === "uk" ? "uk-UA" : "en-GB";
    const sameDay = when.toDateString() === new Date().toDateString();
    const options = sameDay ? { hour: "2-digit", minute: "2-digit" } : { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
    return new Intl.DateTimeFormat(locale, options).format(when);
  }

  // -- icons and names --------------------------------------------------------------------------------------

  function icon(id, className) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    if (className) svg.setAttribute("class", className);
    const use = document.createElementNS(SVG_NS, "use");
    use.setAttribute("href", "#" + id);
    svg.appendChild(use);
    return svg;
  }

  function threatIcon(type) {
    return THREAT_ICONS[type] || "i-warning";
  }

  function kindIcon(kind) {
    return KIND_ICONS[kind] || "i-siren";
  }

  /** The icons to show for a set of alerts: their threats, or their kind when they name no threat. */
  function iconsFor(alerts) {
    const ids = [];
    for (const alert of alerts) {
      if (alert.kind !== "air_raid") ids.push(kindIcon(alert.kind));
      for (const threat of alert.threats) ids.push(threatIcon(threat.type));
    }
    if (!ids.length) ids.push("i-siren");
    return [...new Set(ids)];
  }

  /** Every region as {id, parent, level, names}: fetched once, only when needed. */
  async function regions() {
    if (!regionRows) {
      const response = await fetch("/ui/regions.json");
      const rows = await response.json();
      regionRows = new Map(rows.regions.map(([id, parent, level, uk, en]) => [id, { id, parent, level, names: { uk, en } }]));
      regionRows.root = rows.root;
    }
    return regionRows;
  }

  function regionName(id, rows) {
    const path = document.querySelector(`.map .region[data-region="${CSS.escape(id)}"]`);
    if (path) return path.dataset["name" + (lang === "uk" ? "Uk" : "En")];
    const row = rows && rows.get(id);
    return row ? row.names[lang] || row.names.en : id;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  // -- the live alert set -----------------------------------------------------------------------------------

  /**
   * Keeps the set of active alerts current from /api/v1/stream. The browser resumes by Last-Event-ID after a
   * short drop; if the stream is closed for good (server restarted, proxy error), a new one is opened with
   * backoff and jitter and starts again from a snapshot.
   */
  class LiveAlerts {
    constructor({ statuses, regions, onChange, onStatus }) {
      this.statuses = statuses;
      this.regions = regions || null;
      this.onChange = onChange;
      this.onStatus = onStatus || (() => {});
      this.alerts = new Map();
      this.source = null;
      this.failures = 0;
      this.timer = null;
    }

    open() {
      this.close();
      const query = new URLSearchParams({ statuses: this.statuses });
      if (this.regions) query.set("regions", this.regions.join(","));
      const source = new EventSource(`/api/v1/stream?${query}`);
      this.source = source;
      this.onStatus("connecting");
      source.addEventListener("open", () => {
        this.failures = 0;
        this.onStatus("live");
      });
      source.addEventListener("snapshot", (event) => {
        const data = JSON.parse(event.data);
        this.alerts = new Map(data.alerts.map((a) => [a.id, a]));
        this.onStatus("live");
        this.onChange("snapshot");
      });
      for (const type of ["alert.issued", "alert.updated", "alert.ended", "alert.cancelled"]) {
        source.addEventListener(type, (event) => {
          const data = JSON.parse(event.data);
          if (data.alert.state === "active") this.alerts.set(data.alert.id, data.alert);
          else this.alerts.delete(data.alert.id);
          this.onChange(type, data.alert);
        });
      }
      source.addEventListener("error", () => {
        this.onStatus("lost");
        if (source.readyState === EventSource.CLOSED) this.retry();
      });
    }

    retry() {
      this.close();
      this.failures += 1;
      const base = Math.min(30000, 1000 * 2 ** Math.min(this.failures, 5));
      this.timer = setTimeout(() => this.open(), base / 2 + Math.random() * base / 2);
    }

    close() {
      clearTimeout(this.timer);
      if (this.source) this.source.close();
      this.source = null;
    }

    list() {
      return [...this.alerts.values()].sort((a, b) => a.started_at.localeCompare(b.started_at));
    }
  }

  /** Runs an async job now, or once more after the current run when asked again meanwhile. */
  function coalesce(job) {
    let running = false;
    let again = false;
    return async function run() {
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        do {
          again = false;
          await job();
        } while (again);
      } finally {
        running = false;
      }
    };
  }

  /** Region states from the API: real alerts, and (with exercises) exercise/test states where nothing real is. */
  async function fetchStates(exercises) {
    const get = async (statuses) => {
      const response = await fetch(`/api/v1/regions/states?statuses=${statuses}`);
      if (!response.ok) throw new Error(`states: ${response.status}`);
      return (await response.json()).states;
    };
    const [actual, drills] = await Promise.all([get("actual"), exercises ? get("exercise,test") : Promise.resolve({})]);
    const out = {};
    for (const [id, state] of Object.entries(drills)) out[id] = { ...state, exercise: true };
    for (const [id, state] of Object.entries(actual)) out[id] = { ...state, exercise: false };
    return out;
  }

  /** Paint region states onto an inline SVG map and draw badges (icons and how long) on the regions. */
  function paintMap(svg, states, alertsById) {
    const badges = svg.querySelector(".badges");
    badges.replaceChildren();
    const now = Date.now();
    for (const path of svg.querySelectorAll(".region")) {
      const state = states[path.dataset.region];
      path.dataset.state = state ? state.state : "calm";
      path.dataset.level = state && state.level ? state.level : "";
      path.dataset.exercise = state && state.exercise ? "true" : "false";
      if (!state) continue;
      const alerts = state.alerts.map((id) => alertsById.get(id)).filter(Boolean);
      const iconIds = (alerts.length ? iconsFor(alerts) : state.threats.map(threatIcon)).slice(0, 3);
      const label = shortDuration(now - Date.parse(state.since));
      const width = 6 + iconIds.length * 15 + label.length * 6.6 + 4;
      const g = document.createElementNS(SVG_NS, "g");
      g.setAttribute("class", "badge");
      g.dataset.for = path.dataset.region;
      g.dataset.level = state.level || "";
      g.dataset.exercise = state.exercise ? "true" : "false";
      g.setAttribute("transform", `translate(${(+path.dataset.x - width / 2).toFixed(1)} ${(+path.dataset.y - 9).toFixed(1)})`);
      const rect = document.createElementNS(SVG_NS, "rect");
      rect.setAttribute("width", width.toFixed(1));
      rect.setAttribute("height", "18");
      rect.setAttribute("rx", "4");
      g.appendChild(rect);
      iconIds.forEach((id, i) => {
        const use = document.createElementNS(SVG_NS, "use");
        use.setAttribute("href", "#" + id);
        use.setAttribute("class", "badge-icon");
        use.setAttribute("x", String(4 + i * 15));
        use.setAttribute("y", "2");
        use.setAttribute("width", "14");
        use.setAttribute("height", "14");
        g.appendChild(use);
      });
      const text = document.createElementNS(SVG_NS, "text");
      text.setAttribute("x", String(6 + iconIds.length * 15));
      text.setAttribute("y", "13");
      text.textContent = label;
      g.appendChild(text);
      badges.appendChild(g);
    }
  }

  function setLive(state) {
    const live = document.getElementById("live");
    if (!live) return;
    live.dataset.live = state;
    live.querySelector(".live-text").textContent = t("web.live." + state);
  }

  return {
    get lang() {
      return lang;
    },
    get templates() {
      return templates;
    },
    LiveAlerts,
    applyTexts,
    coalesce,
    duration,
    el,
    fetchStates,
    icon,
    iconsFor,
    initTexts,
    kindIcon,
    paintMap,
    regionName,
    regions,
    setLive,
    shelter,
    shortDuration,
    t,
    threatIcon,
    time,
  };
})();
