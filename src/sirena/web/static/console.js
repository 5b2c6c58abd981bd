/* The operator console: sign in, choose where, describe the alert, preview it, issue, update, end or cancel. */
"use strict";

(() => {
  const S = Sirena;
  const $ = (id) => document.getElementById(id);
  const TOKEN = "sirena.token";
  const svg = $("cmap");
  const [west, north, kx, scale] = svg.dataset.projection.split(",").map(Number);

  let token = sessionStorage.getItem(TOKEN);
  let csrf = null; // with a session (name and password), writes carry this instead of a token
  let me = null; // the signed-in user's name, with a session: their own requests are not theirs to decide
  let rows = null; // every region, for names, search and the tree
  let editing = null; // the alert being updated, or null for a new one
  let drawing = false;
  let idempotencyKey = crypto.randomUUID ? crypto.randomUUID() : String(Math.random());
  const selection = { regions: new Set(), area: null, circle: null, points: [] };
  let preview = null;
  let states = {};
  let capAvailable = null;

  // -- requests --------------------------------------------------------------------------------------------

  async function api(method, path, body, extra) {
    const headers = { Accept: "application/json", ...(extra || {}) };
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (csrf) headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) });
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    return { ok: response.ok, status: response.status, data };
  }

  function problem(result) {
    return S.t("web.console.failed", { detail: (result.data && (result.data.detail || result.data.title)) || result.status });
  }

  function say(text, error) {
    const box = $("form-message");
    box.textContent = text;
    box.classList.toggle("error", Boolean(error));
  }

  // -- sign in ---------------------------------------------------------------------------------------------

  async function tokenWorks(candidate) {
    const headers = { Authorization: `Bearer ${candidate}`, Accept: "application/json" };
    // A read that needs a caller, where the server has approvals; otherwise a write on an alert that cannot
    // exist, which answers 404 to a valid token and 401 to any other (and writes nothing).
    const read = await fetch("/api/v1/approvals?state=pending&limit=1", { headers });
    if (read.status !== 404) return read.status !== 401;
    const write = await fetch("/api/v1/alerts/-/end", { method: "POST", headers });
    return write.status !== 401;
  }

  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const candidate = $("token").value.trim();
    if (!candidate) return;
    if (await tokenWorks(candidate)) {
      token = candidate;
      sessionStorage.setItem(TOKEN, token);
      $("token").value = "";
      $("signin-error").textContent = "";
      start();
    } else {
      $("signin-error").textContent = S.t("web.console.bad_token");
    }
  });

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await fetch("/api/v1/session", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ name: $("login-name").value.trim(), password: $("login-password").value }),
    });
    $("login-password").value = "";
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      $("login-error").textContent = response.status === 401 ? S.t("web.console.bad_login") : data.detail || String(response.status);
      return;
    }
    const opened = await response.json();
    csrf = opened.csrf_token;
    me = opened.user ? opened.user.name : null;
    token = null;
    $("login-error").textContent = "";
    start();
  });

  /** A session already open in this browser (cookie), if the server has session login: shows its form. */
  async function existingSession() {
    const response = await fetch("/api/v1/session", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (response.status === 404) return false;
    $("login-form").hidden = false;
    $("token-way").open = false;
    if (!response.ok) return false;
    const current = await response.json();
    csrf = current.csrf_token;
    me = current.user ? current.user.name : null;
    return true;
  }

  $("signout").addEventListener("click", async () => {
    sessionStorage.removeItem(TOKEN);
    if (csrf) await api("DELETE", "/api/v1/session");
    location.reload();
  });

  // -- mode ------------------------------------------------------------------------------------------------

  function status() {
    return document.querySelector('input[name="status"]:checked').value;
  }

  function applyMode() {
    const drill = status() !== "actual";
    document.body.classList.toggle("exercise", drill);
    $("exercise-banner").hidden = !drill;
    schedulePreview();
  }
  for (const radio of document.querySelectorAll('input[name="status"]')) radio.addEventListener("change", applyMode);

  // -- where -----------------------------------------------------------------------------------------------

  function name(id) {
    return S.regionName(id, rows);
  }

  function toggleRegion(id, on) {
    if (selection.area) clearArea();
    const want = on === undefined ? !selection.regions.has(id) : on;
    if (want) selection.regions.add(id);
    else selection.regions.delete(id);
    changed();
  }

  function clearArea() {
    selection.area = null;
    selection.circle = null;
    selection.points = [];
    svg.querySelector(".draw-layer").replaceChildren();
  }

  function changed() {
    renderSelection();
    schedulePreview();
  }

  function renderSelection() {
    const list = $("selected");
    const items = [...selection.regions].map((id) =>
      S.el(
        "li",
        { "data-region": id },
        name(id),
        S.el("button", { type: "button", "aria-label": S.t("web.places.remove", { name: name(id) }), text: "×", onclick: () => toggleRegion(id, false) }),
      ),
    );
    if (selection.area) items.push(S.el("li", { text: S.t("web.console.area_points", { n: selection.area.length - 1 }) }));
    if (selection.circle) items.push(S.el("li", { text: `${selection.circle.lat}, ${selection.circle.lon} · ${selection.circle.radius_km} km` }));
    list.replaceChildren(...(items.length ? items : [S.el("li", { class: "none muted", text: S.t("web.console.nothing_selected") })]));
    const covered = preview ? new Set(preview.alert.regions) : new Set();
    const partial = preview ? new Set(preview.alert.partial_regions) : new Set();
    for (const path of svg.querySelectorAll(".region")) {
      const id = path.dataset.region;
      const chosen = selection.regions.has(id) || selection.regions.has(rows ? rows.root : "UA") || covered.has(id);
      path.dataset.selected = chosen ? "true" : partial.has(id) || [...partial].some((p) => oblastOf(p) === id) || [...covered].some((c) => oblastOf(c) === id) ? "partial" : "false";
      path.setAttribute("aria-checked", String(selection.regions.has(id)));
    }
    for (const box of document.querySelectorAll("#tree input[type=checkbox]")) box.checked = selection.regions.has(box.value);
  }

  function oblastOf(id) {
    if (!rows) return null;
    let row = rows.get(id);
    while (row && row.parent && row.parent !== rows.root) row = rows.get(row.parent);
    return row ? row.id : null;
  }

  for (const path of svg.querySelectorAll(".region")) {
    path.setAttribute("tabindex", "0");
    path.setAttribute("role", "checkbox");
    path.setAttribute("aria-checked", "false");
    path.setAttribute("aria-label", path.dataset["name" + (S.lang === "uk" ? "Uk" : "En")]);
    path.addEventListener("click", () => {
      if (!drawing) toggleRegion(path.dataset.region);
    });
    path.addEventListener("keydown", (event) => {
      if (event.key === " " || event.key === "Enter") {
        event.preventDefault();
        toggleRegion(path.dataset.region);
      }
    });
  }

  // Drawing an area: clicks become lon/lat corners through the map's own projection.
  function toLonLat(event) {
    const point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    const p = point.matrixTransform(svg.getScreenCTM().inverse());
    return [+(p.x / (kx * scale) + west).toFixed(5), +(north - p.y / scale).toFixed(5)];
  }
  function toXY([lon, lat]) {
    return [((lon - west) * kx * scale).toFixed(1), ((north - lat) * scale).toFixed(1)];
  }

  svg.addEventListener("click", (event) => {
    if (drawing) addPoint(event);
  });

  function addPoint(event) {
    selection.points.push(toLonLat(event));
    drawShape(false);
  }

  function drawShape(closed) {
    const layer = svg.querySelector(".draw-layer");
    const coords = selection.points.map(toXY);
    const shape = document.createElementNS("http://www.w3.org/2000/svg", closed ? "polygon" : "polyline");
    shape.setAttribute("points", coords.map((c) => c.join(",")).join(" "));
    layer.replaceChildren(shape);
    for (const [x, y] of coords) {
      const dot = document.createElementNS("http://www.w3.org/2000/svg", "circle");
      dot.setAttribute("cx", x);
      dot.setAttribute("cy", y);
      dot.setAttribute("r", "4");
      layer.appendChild(dot);
    }
  }

  function setDrawing(on) {
    drawing = on;
    document.body.classList.toggle("drawing", on);
    $("draw").setAttribute("aria-pressed", String(on));
    $("draw-finish").hidden = !on;
    $("draw-help").hidden = !on;
  }

  $("draw").addEventListener("click", () => {
    if (drawing) return setDrawing(false);
    selection.regions.clear();
    clearArea();
    setDrawing(true);
    changed();
  });
  $("draw-finish").addEventListener("click", () => {
    if (selection.points.length >= 3) {
      selection.area = [...selection.points, selection.points[0]];
      drawShape(true);
    }
    setDrawing(false);
    changed();
  });
  $("whole-country").addEventListener("click", () => {
    clearArea();
    selection.regions = new Set([rows ? rows.root : "UA"]);
    changed();
  });
  $("clear").addEventListener("click", () => {
    clearArea();
    setDrawing(false);
    selection.regions.clear();
    changed();
  });

  // Search and tree over every region.
  function fold(text) {
    return text.toLowerCase().replace(/[’ʼ`']/g, "'");
  }

  $("search").addEventListener("input", () => {
    const query = fold($("search").value.trim());
    const results = $("search-results");
    if (query.length < 2 || !rows) return results.replaceChildren();
    const found = [];
    for (const row of rows.values()) {
      if (fold(row.names.uk).includes(query) || fold(row.names.en).includes(query)) found.push(row);
      if (found.length >= 30) break;
    }
    results.replaceChildren(
      ...found.map((row) => {
        const within = row.level !== "oblast" && row.parent && row.parent !== rows.root ? ` · ${name(oblastOf(row.id))}` : "";
        return S.el(
          "li",
          {},
          S.el(
            "button",
            {
              type: "button",
              "data-region": row.id,
              onclick: () => {
                toggleRegion(row.id, true);
                $("search").value = "";
                results.replaceChildren();
                $("search").focus();
              },
            },
            row.names[S.lang] || row.names.en,
            S.el("span", { class: "lvl", text: `${row.level}${within}` }),
          ),
        );
      }),
    );
  });

  function treeNode(row) {
    const box = S.el("input", { type: "checkbox", value: row.id, onchange: (e) => toggleRegion(row.id, e.target.checked) });
    box.checked = selection.regions.has(row.id);
    const label = S.el("label", {}, box, " ", row.names[S.lang] || row.names.en);
    const children = [...rows.values()].filter((r) => r.parent === row.id);
    if (!children.length) return S.el("div", {}, label);
    const details = S.el("details", {}, S.el("summary", {}, label));
    details.addEventListener("toggle", () => {
      if (details.open && details.childElementCount === 1) details.append(...children.map(treeNode));
    }, { once: false });
    return details;
  }

  function renderTree() {
    const top = [...rows.values()].filter((r) => r.parent === rows.root);
    $("tree").replaceChildren(...top.map(treeNode));
  }

  // -- the alert form --------------------------------------------------------------------------------------

  function body() {
    const out = {};
    if (selection.area) out.area = { type: "Polygon", coordinates: [selection.area] };
    else if (selection.circle) out.circle = selection.circle;
    else if (selection.regions.size) out.regions = [...selection.regions];
    out.kind = $("kind").value;
    out.level = document.querySelector('input[name="level"]:checked').value;
    out.threats = [...document.querySelectorAll('input[name="threat"]:checked')].map((box) => ({ type: box.value, level: out.level }));
    if (!editing) out.status = status();
    const instruction = {};
    if ($("instruction-uk").value.trim()) instruction.uk = $("instruction-uk").value.trim();
    if ($("instruction-en").value.trim()) instruction.en = $("instruction-en").value.trim();
    out.instruction = instruction;
    const headline = {};
    if ($("headline-uk").value.trim()) headline.uk = $("headline-uk").value.trim();
    if ($("headline-en").value.trim()) headline.en = $("headline-en").value.trim();
    if (Object.keys(headline).length) out.headline = headline;
    out.time_to_shelter_s = $("shelter").value ? Number($("shelter").value) : null;
    return out;
  }

  function hasTarget(b) {
    return Boolean(b.regions || b.area || b.circle);
  }

  const runPreview = S.coalesce(async () => {
    const b = body();
    $("request").textContent = JSON.stringify(b, null, 2);
    if (!hasTarget(b)) {
      preview = null;
      $("preview").replaceChildren(S.el("p", { class: "muted", text: S.t("web.console.preview_empty") }));
      $("submit").disabled = true;
      renderSelection();
      return;
    }
    const previewBody = { ...b, status: editing ? editing.status : b.status };
    const result = await api("POST", "/ui/console/preview", previewBody);
    if (!result.ok) {
      preview = null;
      $("preview").replaceChildren(S.el("p", { class: "message error", text: problem(result) }));
      $("submit").disabled = true;
      return;
    }
    preview = result.data;
    $("cap-preview").hidden = !preview.cap;
    $("cap").textContent = preview.cap || "";
    $("submit").disabled = false;
    renderPreview();
    renderSelection();
  });
  let previewTimer = null;
  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(runPreview, 150);
  }

  function regionNames(ids) {
    return ids.map((id) => (preview.names[id] ? preview.names[id][S.lang] || preview.names[id].en : name(id))).join(", ");
  }

  function renderPreview() {
    const a = preview.alert;
    const drill = a.status !== "actual";
    const card = S.el("div", { class: `preview-card level-${a.level}${drill ? " exercise" : ""}`, "data-status": a.status });
    if (drill) card.append(S.el("p", {}, S.el("span", { class: "ex-stamp", text: S.t("alert.status." + a.status) })));
    card.append(S.el("h3", { text: a.headline[S.lang] || a.headline.en }));
    if (a.regions.length) card.append(S.el("p", { class: "rname", text: regionNames(a.regions) }));
    if (a.partial_regions.length) card.append(S.el("p", { text: S.t("web.console.preview_partly", { names: regionNames(a.partial_regions) }) }));
    if (a.threats.length) {
      card.append(S.el("p", { class: "threats" }, ...a.threats.map((t) => S.el("span", { class: "threat" }, S.icon(S.threatIcon(t.type)), S.t("alert.threat." + t.type)))));
    }
    for (const code of ["uk", "en"]) if (a.instruction[code]) card.append(S.el("p", { lang: code, text: a.instruction[code] }));
    if (a.time_to_shelter_s) card.append(S.el("p", { text: S.t("web.time_to_shelter", { duration: S.shelter(a.time_to_shelter_s) }) }));
    $("preview").replaceChildren(card);
  }

  for (const id of ["kind", "instruction-uk", "instruction-en", "headline-uk", "headline-en", "shelter"]) {
    $(id).addEventListener("input", schedulePreview);
  }
  for (const input of document.querySelectorAll('input[name="level"], input[name="threat"]')) input.addEventListener("change", schedulePreview);
  $("template").addEventListener("change", () => {
    const chosen = S.templates[$("template").value];
    if (chosen) {
      $("instruction-uk").value = chosen.uk;
      $("instruction-en").value = chosen.en;
    }
    schedulePreview();
  });

  // -- confirmation ----------------------------------------------------------------------------------------

  function confirmAction(text, detail, drill) {
    const dialog = $("confirm");
    $("confirm-text").textContent = drill ? `${S.t("web.exercise_word")}: ${text}` : text;
    $("confirm-detail").replaceChildren(...(detail ? [detail] : []));
    $("confirm-ex").hidden = !drill;
    return new Promise((resolve) => {
      const done = (answer) => {
        $("confirm-yes").onclick = null;
        $("confirm-no").onclick = null;
        dialog.onclose = null;
        if (dialog.open) dialog.close();
        resolve(answer);
      };
      $("confirm-yes").onclick = () => done(true);
      $("confirm-no").onclick = () => done(false);
      dialog.onclose = () => done(false);
      dialog.showModal();
      $("confirm-no").focus();
    });
  }

  $("alert-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const b = body();
    if (!hasTarget(b) || !preview) return;
    const drill = (editing ? editing.status : b.status) !== "actual";
    const card = $("preview").firstElementChild ? $("preview").firstElementChild.cloneNode(true) : null;
    if (!(await confirmAction(S.t(editing ? "web.console.confirm_update" : "web.console.confirm_issue"), card, drill))) return;
    $("submit").disabled = true;
    const result = editing
      ? await api("PATCH", `/api/v1/alerts/${encodeURIComponent(editing.id)}`, b)
      : await api("POST", "/api/v1/alerts", b, { "Idempotency-Key": idempotencyKey });
    if (result.status === 202) {
      say(S.t("web.console.pending"));
      loadApprovals();
    } else if (result.ok) {
      say(S.t(editing ? "web.console.done_updated" : "web.console.done_issued"));
      idempotencyKey = crypto.randomUUID ? crypto.randomUUID() : String(Math.random());
      resetForm();
    } else {
      say(problem(result), true);
      $("submit").disabled = false;
    }
  });

  function resetForm() {
    editing = null;
    selection.regions.clear();
    clearArea();
    setDrawing(false);
    for (const box of document.querySelectorAll('input[name="threat"]')) box.checked = false;
    for (const id of ["instruction-uk", "instruction-en", "headline-uk", "headline-en"]) $(id).value = "";
    $("template").value = "";
    $("shelter").value = "";
    $("form-heading").dataset.i18n = "web.console.new_heading";
    $("form-heading").textContent = S.t("web.console.new_heading");
    $("submit").dataset.i18n = "web.console.issue";
    $("submit").textContent = S.t("web.console.issue");
    $("stop-edit").hidden = true;
    $("mode").disabled = false;
    applyMode();
    changed();
  }
  $("stop-edit").addEventListener("click", () => {
    resetForm();
    say("");
  });

  function edit(alert) {
    editing = alert;
    selection.regions.clear();
    clearArea();
    if (alert.area && alert.area.type === "Polygon") {
      selection.area = alert.area.coordinates[0];
      selection.points = selection.area.slice(0, -1);
      drawShape(true);
    } else if (alert.circle) {
      selection.circle = alert.circle;
    } else {
      selection.regions = new Set(alert.regions);
    }
    $("kind").value = alert.kind;
    document.querySelector(`input[name="level"][value="${alert.level}"]`).checked = true;
    const threats = new Set(alert.threats.map((t) => t.type));
    for (const box of document.querySelectorAll('input[name="threat"]')) box.checked = threats.has(box.value);
    $("instruction-uk").value = alert.instruction.uk || "";
    $("instruction-en").value = alert.instruction.en || "";
    $("headline-uk").value = alert.headline.uk || "";
    $("headline-en").value = alert.headline.en || "";
    $("shelter").value = alert.time_to_shelter_s ? String(alert.time_to_shelter_s) : "";
    document.querySelector(`input[name="status"][value="${alert.status}"]`).checked = true;
    $("mode").disabled = true;
    $("form-heading").dataset.i18n = "web.console.edit_heading";
    $("form-heading").textContent = S.t("web.console.edit_heading");
    $("submit").dataset.i18n = "web.console.save";
    $("submit").textContent = S.t("web.console.save");
    $("stop-edit").hidden = false;
    applyMode();
    changed();
    $("alert-form").scrollIntoView({ behavior: "smooth", block: "start" });
    $("kind").focus({ preventScroll: true });
  }

  // -- active alerts ---------------------------------------------------------------------------------------

  async function lifecycle(alert, action) {
    const drill = alert.status !== "actual";
    const summary = S.el("p", { class: "rname", text: `${alert.headline[S.lang] || alert.headline.en}: ${alert.regions.concat(alert.partial_regions).map(name).join(", ")}` });
    if (!(await confirmAction(S.t(`web.console.confirm_${action}`), summary, drill))) return;
    // ending from the console always tells every channel the danger is over (the prepared all-clear text)
    const body = action === "end" ? { all_clear: true } : undefined;
    const result = await api("POST", `/api/v1/alerts/${encodeURIComponent(alert.id)}/${action}`, body);
    if (result.status === 202) say(S.t("web.console.pending"));
    else if (result.ok) say(S.t(action === "end" ? "web.console.done_ended" : "web.console.done_cancelled"));
    else say(problem(result), true);
    if (editing && editing.id === alert.id && result.ok) resetForm();
  }

  /** The active alerts, re-drawn on every change; an item that would come out the same is kept as it is, so a
   * press on one of its buttons is never lost to a re-draw caused by another alert. */
  function renderActive() {
    const alerts = live.list().reverse();
    const list = $("active");
    const shown = new Map([...list.children].map((li) => [li.dataset.alert, li]));
    const items = (
      alerts.length
        ? alerts.map((alert) => {
            const drill = alert.status !== "actual";
            const places = alert.regions.concat(alert.partial_regions).map(name);
            const cap = capAvailable
              ? S.el("a", { href: `/api/v1/alerts/${encodeURIComponent(alert.id)}.cap`, text: S.t("web.console.cap") })
              : null;
            return S.el(
              "li",
              { class: `level-${alert.level}`, "data-alert": alert.id, "data-version": alert.version, "data-status": alert.status },
              drill ? S.el("span", { class: "ex-stamp", text: S.t("alert.status." + alert.status) }) : null,
              drill ? " " : null,
              S.el("strong", { text: alert.headline[S.lang] || alert.headline.en }),
              S.el("p", { class: "small", text: places.slice(0, 10).join(", ") + (places.length > 10 ? ` +${places.length - 10}` : "") }),
              S.el("p", { class: "muted small", text: `${S.t("web.console.started", { time: S.time(alert.started_at) })} · ${S.duration(Date.now() - Date.parse(alert.started_at))} · ${S.t("web.console.by", { issuer: alert.issuer })}` }),
              S.el(
                "div",
                { class: "row" },
                S.el("button", { type: "button", class: "secondary", "data-action": "edit", text: S.t("web.console.edit"), onclick: () => edit(alert) }),
                S.el("button", { type: "button", "data-action": "end", text: S.t("web.console.end"), onclick: () => lifecycle(alert, "end") }),
                S.el("button", { type: "button", class: "danger", "data-action": "cancel", text: S.t("web.console.cancel"), onclick: () => lifecycle(alert, "cancel") }),
                cap,
              ),
            );
          })
        : [S.el("li", { class: "muted", text: S.t("web.console.active_none") })]
    ).map((li) => {
      const same = shown.get(li.dataset.alert);
      return same && same.isEqualNode(li) ? same : li;
    });
    if (items.length !== list.children.length || items.some((li, i) => li !== list.children[i])) list.replaceChildren(...items);
  }

  async function checkCap(alert) {
    if (capAvailable !== null || !alert) return;
    const response = await fetch(`/api/v1/alerts/${encodeURIComponent(alert.id)}.cap`, { method: "GET" });
    capAvailable = response.ok;
    if (capAvailable) renderActive();
  }

  const refreshMap = S.coalesce(async () => {
    try {
      states = await S.fetchStates(true);
    } catch (_) {
      return;
    }
    S.paintMap(svg, states, live.alerts);
  });

  const live = new S.LiveAlerts({
    statuses: "all",
    onChange: () => {
      renderActive();
      refreshMap();
      loadApprovals();
      checkCap(live.list()[0]);
    },
    onStatus: (state) => S.setLive(state),
  });

  // Pending two-person requests, when the server has approvals.
  async function loadApprovals() {
    const result = await api("GET", "/api/v1/approvals?state=pending");
    if (!result.ok || !result.data || !Array.isArray(result.data.approvals)) return;
    const items = result.data.approvals;
    $("approvals").hidden = !items.length;
    $("approval-list").replaceChildren(
      ...items.map((item) =>
        S.el(
          "li",
          { "data-approval": item.id },
          S.el("strong", { text: `${item.action}: ${(item.regions || []).map(name).join(", ")}` }),
          S.el("p", { class: "muted small", text: `${S.t("web.console.by", { issuer: item.requested_by })} · ${S.time(item.requested_at)} · ${(item.reasons || []).join(", ")}` }),
          item.requested_by === me ? null : S.el(
            "div",
            { class: "row" },
            S.el("button", { type: "button", "data-action": "approve", text: S.t("web.console.approve"), onclick: () => decide(item, "approve") }),
            S.el("button", { type: "button", class: "quiet", "data-action": "reject", text: S.t("web.console.reject"), onclick: () => decide(item, "reject") }),
          ),
        ),
      ),
    );
  }

  async function decide(item, verb) {
    const result = await api("POST", `/api/v1/approvals/${encodeURIComponent(item.id)}/${verb}`);
    if (!result.ok) say(problem(result), true);
    loadApprovals();
  }

  // -- start -----------------------------------------------------------------------------------------------

  async function start() {
    $("signin").hidden = true;
    $("console").hidden = false;
    $("mode").hidden = false;
    $("signout").hidden = false;
    $("live").hidden = false;
    live.open();
    refreshMap();
    rows = await S.regions();
    if ($("search").value) $("search").dispatchEvent(new Event("input")); // typed before the names arrived
    renderTree();
    renderSelection();
    applyMode();
    loadApprovals();
  }

  S.initTexts(() => {
    renderSelection();
    renderActive();
    if (preview) renderPreview();
    if (rows) renderTree();
    for (const path of svg.querySelectorAll(".region")) path.setAttribute("aria-label", path.dataset["name" + (S.lang === "uk" ? "Uk" : "En")]);
  }).then(async () => {
    const session = await existingSession();
    if (token && (await tokenWorks(token))) start();
    else if (session) {
      token = null;
      start();
    } else {
      sessionStorage.removeItem(TOKEN);
      token = null;
      ($("login-form").hidden ? $("token") : $("login-name")).focus();
    }
    document.body.dataset.ready = "true";
  });
  setInterval(() => {
    if (live.alerts.size) {
      renderActive();
      S.paintMap(svg, states, live.alerts);
    }
  }, 30000);
})();
