/* The advisories layer of the public map: current public advisories as dashed outlines of their regions,
   movement reports of active alerts as arrows, and recent all-clears as green outlines, listed beside the map
   and followed live (the same stream as alerts: advisory.*, report.added, alert.all_clear). */
"use strict";

(() => {
  const S = Sirena;
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const svg = $("map");
  const list = $("advisory-list");
  const drills = $("show-exercises");
  if (!svg || !list) return;
  const [west, north, kx, scale] = svg.dataset.projection.split(",").map(Number);
  let rows = null;
  let data = { advisories: [], reports: [], clears: [] };
  let states = {}; // the map's region states: an all-clear is not drawn over a region under alert again
  let source = null;

  const statuses = () => (drills && drills.checked ? "all" : "actual");
  const pick = (texts) => (texts && (texts[S.lang] || texts.en || Object.values(texts)[0])) || "";
  const xy = ([lon, lat]) => [((lon - west) * kx * scale).toFixed(1), ((north - lat) * scale).toFixed(1)];

  function node(tag, attrs, title) {
    const el = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
    if (title) {
      const t = document.createElementNS(SVG, "title");
      t.textContent = title;
      el.append(t);
    }
    return el;
  }

  /** The drawn shapes standing for a region: its own, a drawn ancestor's, or (the country, say) every drawn
      region below it. */
  function shapes(id) {
    const own = svg.querySelector(`.region[data-region="${CSS.escape(id)}"]`);
    if (own) return [own];
    const parent = (x) => (rows && rows.get(x) ? rows.get(x).parent : null);
    for (let up = parent(id); up; up = parent(up)) {
      const drawn = svg.querySelector(`.region[data-region="${CSS.escape(up)}"]`);
      if (drawn) return [drawn];
    }
    return [...svg.querySelectorAll(".region")].filter((path) => {
      for (let up = parent(path.dataset.region); up; up = parent(up)) if (up === id) return true;
      return false;
    });
  }

  function outlines(ids, cls, key, label) {
    const seen = new Set();
    const out = [];
    for (const id of ids) {
      for (const path of shapes(id)) {
        if (seen.has(path)) continue;
        seen.add(path);
        out.push(node("path", { class: cls, d: path.getAttribute("d"), "data-for": key }, label));
      }
    }
    return out;
  }

  function layer() {
    let g = $("advisory-layer");
    if (!g) {
      g = node("g", { id: "advisory-layer" });
      const defs = node("defs", {});
      const marker = node("marker", { id: "report-head", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" });
      marker.append(node("path", { d: "M0,0 L10,5 L0,10 z", class: "report-head" }));
      defs.append(marker);
      g.append(defs);
      svg.append(g);
    }
    return g;
  }

  function item(kind, label, detail, extra) {
    return S.el(
      "li",
      { class: `advisory-item advisory-${kind}`, "data-kind": kind, ...extra },
      S.el("strong", { text: label }),
      detail ? S.el("span", { class: "muted small", text: " " + detail }) : "",
    );
  }

  function draw() {
    const g = layer();
    const marks = [];
    const items = [];
    for (const a of data.advisories) {
      const label = `${S.t(`advisories.type.${a.type}`)}: ${pick(a.headline)}`;
      marks.push(...outlines(a.regions, `advisory-area severity-${a.severity}`, a.id, label));
      items.push(item("advisory", label, pick(a.text), { "data-advisory": a.id, "data-severity": a.severity }));
    }
    for (const r of data.reports) {
      const text = pick(r.summary);
      if (r.arrow) {
        const [x1, y1] = xy(r.arrow.from);
        const [x2, y2] = xy(r.arrow.to);
        marks.push(node("line", { class: "report-arrow", x1, y1, x2, y2, "marker-end": "url(#report-head)", "data-report": r.id, role: "img", "aria-label": text }, text));
      }
      items.push(item("report", text, S.time(r.observed_at), { "data-report": r.id }));
    }
    for (const c of data.clears) {
      const clear = c.regions.filter((id) => !(states[id] && states[id].state === "alert"));
      if (!clear.length) continue; // every region of it is under alert again
      const label = pick(c.headline);
      marks.push(...outlines(clear, "all-clear-area", c.alert_id, `${label}: ${pick(c.text)}`));
      items.push(item("all-clear", label, pick(c.text), { "data-all-clear": c.alert_id }));
    }
    g.replaceChildren(g.querySelector("defs"), ...marks);
    list.replaceChildren(...(items.length ? items : [S.el("li", { class: "muted", text: S.t("web.advisories.none") })]));
  }

  const load = S.coalesce(async () => {
    const q = `statuses=${statuses()}`;
    try {
      const [advisories, reports, clears] = await Promise.all([
        fetch(`/api/v1/advisories?${q}`).then((r) => r.json()),
        fetch(`/api/v1/reports?active=true&limit=200&${q}`).then((r) => r.json()),
        fetch(`/api/v1/all-clears?${q}`).then((r) => r.json()),
      ]);
      if (!rows) rows = await S.regions();
      data = { advisories: advisories.advisories || [], reports: reports.reports || [], clears: clears.all_clears || [] };
    } catch (_) {
      return;
    }
    draw();
  });

  function follow() {
    if (source) source.close();
    source = new EventSource(`/api/v1/stream?statuses=${statuses()}`);
    for (const type of ["advisory.issued", "advisory.updated", "advisory.ended", "report.added", "alert.all_clear", "alert.ended", "alert.cancelled"]) {
      source.addEventListener(type, () => load());
    }
    source.addEventListener("snapshot", () => load()); // (re)connected: catch up
  }

  document.addEventListener("sirena:states", (event) => {
    states = event.detail || {};
    if (data.clears.length) draw();
  });

  let started = false;
  document.addEventListener("sirena:texts", () => {
    if (started) {
      draw();
      return;
    }
    started = true;
    follow();
    if (drills) drills.addEventListener("change", follow);
  });
})();
