/* The shelters layer of the public map: off until asked for, then at most LIMIT shelters around my places
   (or the whole map when none is set), each a mark with its name and, once located, its distance from me. */
"use strict";

(() => {
  const S = Sirena;
  const $ = (id) => document.getElementById(id);
  const SHOW = "sirena.shelters";
  const WHERE = "sirena.where"; // {lat, lon}, written by the map's "use my location"
  const PLACES = "sirena.places";
  const LIMIT = 300;
  const svg = $("map");
  const box = $("show-shelters");
  if (!svg || !box) return;
  const [west, north, kx, scale] = svg.dataset.projection.split(",").map(Number);
  let shown = [];

  function stored(key) {
    try {
      return JSON.parse(localStorage.getItem(key) || "null");
    } catch (_) {
      return null;
    }
  }

  function where() {
    const point = stored(WHERE);
    return point && Number.isFinite(point.lat) && Number.isFinite(point.lon) ? point : null;
  }

  /** west,south,east,north around my places' shapes, else the whole map. */
  function bbox() {
    const ids = Array.isArray(stored(PLACES)) ? stored(PLACES) : [];
    const boxes = ids
      .map((id) => svg.querySelector(`.region[data-region="${CSS.escape(id)}"]`))
      .filter(Boolean)
      .map((path) => path.getBBox());
    const view = svg.viewBox.baseVal;
    const x0 = boxes.length ? Math.min(...boxes.map((b) => b.x)) : view.x;
    const y0 = boxes.length ? Math.min(...boxes.map((b) => b.y)) : view.y;
    const x1 = boxes.length ? Math.max(...boxes.map((b) => b.x + b.width)) : view.x + view.width;
    const y1 = boxes.length ? Math.max(...boxes.map((b) => b.y + b.height)) : view.y + view.height;
    const lon = (x) => (x / (kx * scale) + west).toFixed(4);
    const lat = (y) => (north - y / scale).toFixed(4);
    return `${lon(x0)},${lat(y1)},${lon(x1)},${lat(y0)}`;
  }

  function metres(a, b) {
    const rad = Math.PI / 180;
    const dlat = (b.lat - a.lat) * rad;
    const dlon = (b.lon - a.lon) * rad;
    const h = Math.sin(dlat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dlon / 2) ** 2;
    return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
  }

  function distance(m) {
    return m < 1000 ? S.t("web.shelters.metres", { m: Math.round(m) }) : S.t("web.shelters.km", { km: (m / 1000).toFixed(1) });
  }

  function label(feature, me) {
    const p = feature.properties || {};
    const name = p.name || p.address || S.t("web.shelters.unnamed");
    const [lon, lat] = feature.geometry.coordinates;
    return me ? S.t("web.shelters.mark_far", { name, distance: distance(metres(me, { lat, lon })) }) : S.t("web.shelters.mark", { name });
  }

  function layer() {
    let g = $("shelter-layer");
    if (!g) {
      g = document.createElementNS("http://www.w3.org/2000/svg", "g");
      g.id = "shelter-layer";
      g.setAttribute("role", "list");
      g.setAttribute("aria-label", S.t("web.shelters.layer"));
      svg.append(g);
    }
    return g;
  }

  function draw() {
    const me = where();
    const g = layer();
    g.setAttribute("aria-label", S.t("web.shelters.layer"));
    g.replaceChildren(
      ...shown.map((feature) => {
        const [lon, lat] = feature.geometry.coordinates;
        const mark = document.createElementNS("http://www.w3.org/2000/svg", "circle");
        mark.setAttribute("class", "shelter-mark");
        mark.setAttribute("cx", ((lon - west) * kx * scale).toFixed(1));
        mark.setAttribute("cy", ((north - lat) * scale).toFixed(1));
        mark.setAttribute("r", "3");
        mark.setAttribute("role", "listitem");
        mark.setAttribute("aria-label", label(feature, me));
        mark.dataset.shelter = String(feature.id);
        const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
        title.textContent = mark.getAttribute("aria-label");
        mark.append(title);
        return mark;
      }),
    );
    $("shelters-status").textContent = box.checked ? S.t("web.shelters.count", { n: shown.length }) : "";
  }

  let asked = 0; // the latest request wins

  async function load() {
    const mine = ++asked;
    if (!box.checked) {
      shown = [];
      draw();
      return;
    }
    const response = await fetch(`/api/v1/shelters?bbox=${bbox()}&limit=${LIMIT}`, { headers: { Accept: "application/geo+json" } });
    const data = response.ok ? await response.json() : { features: [] };
    if (mine !== asked) return;
    shown = (data.features || []).filter((f) => f.geometry && f.geometry.type === "Point");
    draw();
  }

  box.checked = stored(SHOW) === true;
  box.addEventListener("change", () => {
    try {
      localStorage.setItem(SHOW, String(box.checked));
    } catch (_) {
      /* ignore */
    }
    load();
  });
  document.addEventListener("sirena:places", load); // my places or my location changed
  let started = false;
  document.addEventListener("sirena:texts", () => {
    if (started) draw();
    else {
      started = true;
      load();
    }
  });
})();
