/* History dashboards: alerts per day, hours under alert per region and month, durations, hour × weekday.
   Counts and hours come from /api/v1/stats (the rollups); durations from the region's alerts behind them. */
"use strict";

(() => {
  const S = Sirena;
  const $ = (id) => document.getElementById(id);
  const SVG_NS = "http://www.w3.org/2000/svg";
  const root = document.body.dataset.root;
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const DURATION_BINS = [15, 30, 60, 120, 240, 480, 1440, Infinity]; // upper bounds in minutes
  let last = null;

  function isoDate(d) {
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  }
  /** The 12 months up to `day`: from the first of its month a year before, to the day after it. */
  function yearTo(day) {
    $("to").value = isoDate(new Date(day.getFullYear(), day.getMonth(), day.getDate() + 1));
    $("from").value = isoDate(new Date(day.getFullYear() - 1, day.getMonth(), 1));
  }
  yearTo(new Date());
  let firstShow = true;
  let moved = null; // { from, to, newest }: the default window, moved back to the newest alert on record

  /** The default window (the last 12 months) has no alert: move it to the 12 months up to the newest alert on
      record, if there is an older one. Whether it moved. */
  async function moveToNewest(region) {
    const query = new URLSearchParams({ descendants: "true", limit: "1" });
    const response = await fetch(`/api/v1/regions/${encodeURIComponent(region)}/history?${query}`);
    if (!response.ok) return false;
    const [newest] = (await response.json()).alerts;
    if (!newest) return false;
    const started = new Date(newest.started_at);
    if (isoDate(started) >= $("from").value) return false;
    yearTo(started);
    moved = { from: $("from").value, to: $("to").value, newest: started };
    return true;
  }

  function longDate(date) {
    return new Intl.DateTimeFormat(S.lang === "uk" ? "uk-UA" : "en-GB", { day: "numeric", month: "long", year: "numeric" }).format(date);
  }

  /** One line saying that the window was moved, while it is still the one shown. */
  function noteMoved() {
    const shown = moved !== null && moved.from === $("from").value && moved.to === $("to").value;
    $("moved").hidden = !shown;
    $("moved").textContent = shown ? S.t("web.history.moved", { date: longDate(moved.newest) }) : "";
  }

  async function stats(region, group) {
    const query = new URLSearchParams({ region, from: $("from").value, to: $("to").value, group, tz, descendants: "true" });
    const response = await fetch(`/api/v1/stats?${query}`);
    if (response.status === 404) return null; // this server has no statistics (yet)
    if (!response.ok) throw new Error(`stats: ${response.status}`);
    return response.json();
  }

  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function table(head, rows) {
    return S.el(
      "details",
      {},
      S.el("summary", { text: S.t("web.history.table") }),
      S.el("table", {}, S.el("thead", {}, S.el("tr", {}, ...head.map((h) => S.el("th", { scope: "col", text: h })))), S.el("tbody", {}, ...rows.map((r) => S.el("tr", {}, ...r.map((c) => S.el("td", { text: String(c) })))))),
    );
  }

  function place(id, ...nodes) {
    $(id).querySelector(".plot").replaceChildren(...nodes);
  }

  function empty(id) {
    place(id, S.el("p", { class: "muted", text: S.t("web.history.empty") }));
  }

  /** A bar chart of [label, value] with a y axis; every n-th label shown so they never overlap. */
  function bars(items, { label, height = 220, alt = false } = {}) {
    const width = 720;
    const pad = { l: 44, r: 8, t: 10, b: 30 };
    const max = Math.max(1, ...items.map(([, v]) => v));
    const step = niceStep(max);
    const top = Math.ceil(max / step) * step;
    const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
    const plotW = width - pad.l - pad.r;
    const plotH = height - pad.t - pad.b;
    for (let v = 0; v <= top; v += step) {
      const y = pad.t + plotH - (v / top) * plotH;
      svg.append(svgEl("line", { class: "grid", x1: pad.l, x2: width - pad.r, y1: y, y2: y }));
      svg.append(svgEl("text", { x: pad.l - 6, y: y + 4, "text-anchor": "end" }, formatNumber(v)));
    }
    const bw = plotW / Math.max(1, items.length);
    const every = Math.max(1, Math.ceil(items.length / 12));
    items.forEach(([name, value], i) => {
      const h = (value / top) * plotH;
      const bar = svgEl("rect", { class: alt ? "bar alt" : "bar", x: pad.l + i * bw + bw * 0.1, y: pad.t + plotH - h, width: Math.max(1, bw * 0.8), height: h });
      bar.append(svgEl("title", {}, `${name}: ${formatNumber(value)}`));
      svg.append(bar);
      if (i % every === 0) svg.append(svgEl("text", { x: pad.l + i * bw + bw / 2, y: height - 10, "text-anchor": "middle" }, name));
    });
    svg.append(svgEl("line", { class: "axis", x1: pad.l, x2: width - pad.r, y1: pad.t + plotH, y2: pad.t + plotH }));
    return svg;
  }

  function niceStep(max) {
    const rough = max / 4;
    const power = 10 ** Math.floor(Math.log10(rough));
    return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) || power;
  }

  function formatNumber(v) {
    return new Intl.NumberFormat(S.lang === "uk" ? "uk-UA" : "en-GB", { maximumFractionDigits: 1 }).format(v);
  }

  function shortDate(iso, month) {
    const options = month ? { month: "short", year: "2-digit" } : { day: "numeric", month: "short" };
    return new Intl.DateTimeFormat(S.lang === "uk" ? "uk-UA" : "en-GB", { ...options, timeZone: tz }).format(new Date(iso));
  }

  function renderDays(result) {
    if (!result.total.alerts) return empty("chart-days");
    const items = result.buckets.map((b) => [shortDate(b.start), b.alerts]);
    place("chart-days", bars(items, { label: S.t("web.history.per_day") }), table([S.t("web.history.col_period"), S.t("web.history.col_alerts")], items));
  }

  /** Hours under alert, one row per region and one column per month, shaded by hours. */
  function renderMonths(results) {
    const rows = results.filter(([, r]) => r.total.minutes > 0);
    if (!rows.length) return empty("chart-months");
    const months = rows[0][1].buckets.map((b) => shortDate(b.start, true));
    const max = Math.max(1, ...rows.flatMap(([, r]) => r.buckets.map((b) => b.minutes / 60)));
    const cellW = 44;
    const nameW = 190;
    const cellH = 20;
    const width = nameW + months.length * cellW;
    const height = 24 + rows.length * cellH;
    const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": S.t("web.history.hours_per_month") });
    months.forEach((m, j) => svg.append(svgEl("text", { x: nameW + j * cellW + cellW / 2, y: 14, "text-anchor": "middle" }, m)));
    rows.forEach(([name, r], i) => {
      const y = 22 + i * cellH;
      svg.append(svgEl("text", { x: nameW - 6, y: y + 14, "text-anchor": "end" }, name));
      r.buckets.forEach((b, j) => {
        const hours = b.minutes / 60;
        const cell = svgEl("rect", { class: "cell", x: nameW + j * cellW, y, width: cellW, height: cellH, fill: shade(hours / max) });
        cell.append(svgEl("title", {}, `${name}, ${months[j]}: ${formatNumber(hours)} h`));
        svg.append(cell);
        if (hours >= 1) svg.append(svgEl("text", { x: nameW + j * cellW + cellW / 2, y: y + 14, "text-anchor": "middle", fill: Math.sqrt(hours / max) > 0.6 ? "#fff" : "#17202a" }, Math.round(hours)));
      });
    });
    const data = rows.map(([name, r]) => [name, ...r.buckets.map((b) => Math.round(b.minutes / 6) / 10)]);
    place("chart-months", svg, table([S.t("web.history.region"), ...months], data));
  }

  function shade(f) {
    const t = Math.max(0, Math.min(1, f));
    const from = [253, 236, 234];
    const to = [142, 20, 20];
    const c = from.map((a, i) => Math.round(a + (to[i] - a) * Math.sqrt(t)));
    return t === 0 ? "#f3f5f7" : `rgb(${c.join(",")})`;
  }

  /** Durations of the ended alerts behind the statistics (same region, window and sources), a page at a time. */
  async function renderDurations(region) {
    const query = new URLSearchParams({ from: $("from").value, to: $("to").value, tz, descendants: "true", limit: "10000" });
    const counts = DURATION_BINS.map(() => 0);
    for (;;) {
      const response = await fetch(`/api/v1/regions/${encodeURIComponent(region)}/history?${query}`);
      if (!response.ok) return empty("chart-durations");
      const page = await response.json();
      for (const alert of page.alerts) {
        if (!alert.ended_at) continue;
        const minutes = (Date.parse(alert.ended_at) - Date.parse(alert.started_at)) / 60000;
        counts[DURATION_BINS.findIndex((b) => minutes < b)] += 1;
      }
      if (!page.next) break;
      query.set("cursor", page.next);
    }
    if (!counts.some(Boolean)) return empty("chart-durations");
    const labels = ["<15′", "15–30′", "30–60′", "1–2 h", "2–4 h", "4–8 h", "8–24 h", ">24 h"];
    const items = labels.map((l, i) => [l, counts[i]]);
    place("chart-durations", bars(items, { label: S.t("web.history.durations"), alt: true }), table([S.t("web.history.col_duration"), S.t("web.history.col_count")], items));
  }

  /** Alerts started per hour of day (columns) and weekday (rows), in the viewer's time zone. */
  function renderHeat(result) {
    if (!result.total.alerts) return empty("chart-heat");
    const grid = Array.from({ length: 7 }, () => Array(24).fill(0));
    for (const b of result.buckets) {
      if (!b.alerts) continue;
      const parts = new Intl.DateTimeFormat("en-GB", { timeZone: tz, weekday: "short", hour: "2-digit", hourCycle: "h23" }).formatToParts(new Date(b.start));
      const day = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(parts.find((p) => p.type === "weekday").value);
      const hour = Number(parts.find((p) => p.type === "hour").value);
      grid[day][hour] += b.alerts;
    }
    const days = S.t("web.weekday.short").split(" ");
    const max = Math.max(1, ...grid.flat());
    const cell = 26;
    const svg = svgEl("svg", { viewBox: `0 0 ${40 + 24 * cell} ${22 + 7 * cell}`, role: "img", "aria-label": S.t("web.history.heatmap") });
    for (let h = 0; h < 24; h += 3) svg.append(svgEl("text", { x: 40 + h * cell + cell / 2, y: 14, "text-anchor": "middle" }, String(h).padStart(2, "0")));
    grid.forEach((row, d) => {
      svg.append(svgEl("text", { x: 34, y: 22 + d * cell + 17, "text-anchor": "end" }, days[d]));
      row.forEach((n, h) => {
        const rect = svgEl("rect", { class: "cell", x: 40 + h * cell, y: 22 + d * cell, width: cell, height: cell, fill: shade(n / max) });
        rect.append(svgEl("title", {}, `${days[d]} ${String(h).padStart(2, "0")}:00 — ${n}`));
        svg.append(rect);
      });
    });
    const rows = grid.map((row, d) => [days[d], ...row]);
    place("chart-heat", svg, table(["", ...Array.from({ length: 24 }, (_, h) => String(h))], rows));
  }

  async function show() {
    const region = $("region").value;
    for (const id of ["chart-days", "chart-months", "chart-durations", "chart-heat"]) place(id, S.el("p", { class: "muted", text: S.t("web.history.loading") }));
    let days;
    try {
      days = await stats(region, "day");
      if (firstShow) {
        firstShow = false;
        if (days !== null && !days.total.alerts && (await moveToNewest(region))) days = await stats(region, "day");
      }
    } catch (error) {
      $("total").textContent = S.t("web.console.failed", { detail: error.message });
      return;
    }
    if (days === null) {
      $("unavailable").hidden = false;
      for (const id of ["chart-days", "chart-months", "chart-heat"]) $(id).hidden = true;
      renderDurations(region);
      return;
    }
    last = { region };
    noteMoved();
    $("total").textContent = S.t("web.history.total", { alerts: formatNumber(days.total.alerts), hours: formatNumber(Math.round(days.total.minutes / 60)) });
    renderDays(days);
    const regions = region === root ? [...$("region").options].slice(1).map((o) => [o.textContent, o.value]) : [[$("region").selectedOptions[0].textContent, region]];
    const [months, hours] = await Promise.all([
      Promise.all(regions.map(async ([name, id]) => [name, await stats(id, "month")])),
      stats(region, "hour"),
      renderDurations(region),
    ]);
    renderMonths(months);
    renderHeat(hours);
  }

  $("controls").addEventListener("submit", (event) => {
    event.preventDefault();
    show();
  });
  S.initTexts(() => show()).then(show);
})();
