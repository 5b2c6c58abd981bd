/* The public live map at /: region states painted on the SVG map, the same as text beside it, my places. */
"use strict";

(() => {
  const S = Sirena;
  const $ = (id) => document.getElementById(id);
  const svg = $("map");
  const PLACES = "sirena.places";
  const SHOW_EX = "sirena.exercises";
  let states = {};
  let updatedAt = null;
  let rows = null;

  function storedExercises() {
    try {
      const saved = localStorage.getItem(SHOW_EX);
      return saved === null ? null : saved === "true";
    } catch (_) {
      return null;
    }
  }
  const params = new URLSearchParams(location.search);
  let exercises = params.has("exercises")
    ? ["1", "true", "yes", "on"].includes(params.get("exercises"))
    : storedExercises() ?? document.body.dataset.exercises === "true";
  $("show-exercises").checked = exercises;

  function places() {
    try {
      return JSON.parse(localStorage.getItem(PLACES) || "[]").filter((id) => svg.querySelector(`[data-region="${CSS.escape(id)}"]`));
    } catch (_) {
      return [];
    }
  }
  function savePlaces(ids) {
    try {
      localStorage.setItem(PLACES, JSON.stringify(ids));
    } catch (_) {
      /* not kept in private mode */
    }
    document.dispatchEvent(new Event("sirena:places"));
  }

  const live = new S.LiveAlerts({
    statuses: exercises ? "all" : "actual",
    onChange: () => refresh(),
    onStatus: (state) => S.setLive(state),
  });

  const refresh = S.coalesce(async () => {
    try {
      states = await S.fetchStates(exercises);
      updatedAt = new Date().toISOString();
    } catch (_) {
      S.setLive("lost");
      return;
    }
    const needsNames = live.list().some((a) => [...a.regions, ...a.partial_regions].some((id) => !svg.querySelector(`[data-region="${CSS.escape(id)}"]`)));
    if (needsNames && !rows) rows = await S.regions();
    render();
  });

  function render() {
    S.paintMap(svg, states, live.alerts);
    const mine = new Set(places());
    for (const path of svg.querySelectorAll(".region")) path.dataset.place = mine.has(path.dataset.region) ? "true" : "false";
    renderSummary();
    renderRegions();
    renderAlerts();
    renderPlaces();
    const drills = live.list().some((a) => a.status !== "actual");
    $("exercise-banner").hidden = !(exercises && drills);
    document.dispatchEvent(new CustomEvent("sirena:states", { detail: states })); // for layers drawn by their own scripts
  }

  function drawnRegions() {
    return [...svg.querySelectorAll(".region")].map((p) => p.dataset.region);
  }

  function renderSummary() {
    const drawn = drawnRegions();
    const under = drawn.filter((id) => states[id]);
    const alert = under.filter((id) => states[id].state === "alert").length;
    const drill = under.length > 0 && under.every((id) => states[id].exercise);
    const text = S.t(summaryKey(alert, under.length - alert), { alert, total: drawn.length, partly: under.length - alert });
    $("summary").textContent = drill ? `${S.t("web.exercise_word")}: ${text}` : text;
    if (updatedAt) $("updated").textContent = S.t("web.map.updated", { time: S.time(updatedAt) });
  }

  function summaryKey(alert, partly) {
    if (!alert && !partly) return "web.map.summary_none";
    if (!partly) return "web.map.summary_alert";
    if (!alert) return "web.map.summary_partly";
    return "web.map.summary";
  }

  function chip(state) {
    return S.el("span", {
      class: "chip",
      "aria-hidden": "true",
      "data-state": state ? state.state : "calm",
      "data-level": state && state.level ? state.level : "",
      "data-exercise": state && state.exercise ? "true" : "false",
    });
  }

  function stateText(state) {
    if (!state) return S.t("web.state.calm");
    let text = S.t("web.state." + state.state);
    if (state.level === "yellow") text += ` (${S.t("alert.level.yellow")})`;
    if (state.exercise) text = `${S.t("web.exercise_word")}: ${text}`;
    return text;
  }

  function regionItem(id, extra) {
    const state = states[id];
    const alerts = state ? state.alerts.map((a) => live.alerts.get(a)).filter(Boolean) : [];
    const threats = S.el("span", { class: "threats" });
    if (state) {
      const seen = new Set();
      for (const alert of alerts) {
        if (alert.kind !== "air_raid" && !seen.has(alert.kind)) {
          seen.add(alert.kind);
          threats.append(S.el("span", { class: "threat" }, S.icon(S.kindIcon(alert.kind)), S.t("alert.kind." + alert.kind)));
        }
      }
      for (const type of state.threats) {
        threats.append(S.el("span", { class: "threat" }, S.icon(S.threatIcon(type)), S.t("alert.threat." + type)));
      }
    }
    const meta = state
      ? `${stateText(state)} · ${S.t("web.since", { duration: S.duration(Date.now() - Date.parse(state.since)), time: S.time(state.since) })}`
      : stateText(state);
    return S.el(
      "li",
      { "data-region": id, "data-state": state ? state.state : "calm" },
      chip(state),
      S.el("span", { class: "rname", text: S.regionName(id, rows) }),
      extra || null,
      S.el("span", { class: "rmeta", text: meta }),
      threats.childElementCount ? threats : null,
    );
  }

  function renderRegions() {
    const rank = (id) => (states[id].state === "alert" ? 0 : 2) + (states[id].level === "red" ? 0 : 1) + (states[id].exercise ? 4 : 0);
    const under = drawnRegions()
      .filter((id) => states[id])
      .sort((a, b) => rank(a) - rank(b) || S.regionName(a).localeCompare(S.regionName(b), S.lang));
    const list = $("region-list");
    list.replaceChildren(...(under.length ? under.map((id) => regionItem(id)) : [S.el("li", { class: "none", text: S.t("web.map.regions_none") })]));
  }

  function renderAlerts() {
    const alerts = live.list();
    $("alerts-heading").textContent = `${S.t("web.map.alerts_heading")} (${alerts.length})`;
    $("alert-list").replaceChildren(
      ...alerts.map((alert) => {
        const names = [...alert.regions, ...alert.partial_regions].map((id) => S.regionName(id, rows));
        const shown = names.slice(0, 8).join(", ") + (names.length > 8 ? ` +${names.length - 8}` : "");
        const item = S.el(
          "li",
          { class: `alert-item level-${alert.level}`, "data-alert": alert.id, "data-status": alert.status },
          alert.status !== "actual" ? S.el("strong", { class: "status-mark", text: S.t("alert.status." + alert.status) }) : null,
          alert.status !== "actual" ? " " : null,
          S.el("strong", { text: alert.headline[S.lang] || alert.headline.en || alert.headline.uk || "" }),
          S.el("p", { text: shown }),
        );
        const instruction = alert.instruction[S.lang] || alert.instruction.en || alert.instruction.uk;
        if (instruction) item.append(S.el("p", { text: instruction }));
        if (alert.time_to_shelter_s) item.append(S.el("p", { text: S.t("web.time_to_shelter", { duration: S.shelter(alert.time_to_shelter_s) }) }));
        item.append(
          S.el("p", { class: "muted small" }, S.el("time", { datetime: alert.started_at, text: S.t("web.since", { duration: S.duration(Date.now() - Date.parse(alert.started_at)), time: S.time(alert.started_at) }) })),
        );
        return item;
      }),
    );
  }

  function renderPlaces() {
    const ids = places();
    document.querySelector(".places").classList.toggle("has-places", ids.length > 0);
    const list = $("places");
    list.replaceChildren(
      ...(ids.length
        ? ids.map((id) =>
            regionItem(
              id,
              S.el("button", {
                type: "button",
                class: "remove",
                "aria-label": S.t("web.places.remove", { name: S.regionName(id) }),
                text: "×",
                onclick: () => {
                  savePlaces(places().filter((p) => p !== id));
                  render();
                },
              }),
            ),
          )
        : [S.el("li", { class: "none", text: S.t("web.places.none") })]),
    );
  }

  $("place-add").addEventListener("click", () => {
    const id = $("place-pick").value;
    if (!id) return;
    const ids = places();
    if (!ids.includes(id)) savePlaces([...ids, id]);
    $("place-pick").value = "";
    render();
  });

  // A point: the browser's location, matched to the region whose shape contains it on the map itself.
  function regionAt(lon, lat) {
    const [west, north, kx, scale] = svg.dataset.projection.split(",").map(Number);
    const point = svg.createSVGPoint();
    point.x = (lon - west) * kx * scale;
    point.y = (north - lat) * scale;
    const hits = [...svg.querySelectorAll(".region")].filter((path) => path.isPointInFill(point));
    return hits.length ? hits[hits.length - 1].dataset.region : null; // the last drawn is the innermost
  }

  if ("geolocation" in navigator) {
    $("locate").hidden = false;
    $("locate").addEventListener("click", () => {
      navigator.geolocation.getCurrentPosition(
        (position) => {
          try {
            localStorage.setItem("sirena.where", JSON.stringify({ lat: position.coords.latitude, lon: position.coords.longitude }));
          } catch (_) {
            /* private mode */
          }
          document.dispatchEvent(new Event("sirena:places"));
          const id = regionAt(position.coords.longitude, position.coords.latitude);
          if (!id) {
            $("notify-status").textContent = S.t("web.places.outside");
            return;
          }
          const ids = places();
          if (!ids.includes(id)) savePlaces([...ids, id]);
          render();
        },
        (error) => {
          $("notify-status").textContent = error.message;
        },
        { maximumAge: 600000, timeout: 15000 },
      );
    });
  }

  $("show-exercises").addEventListener("change", (event) => {
    exercises = event.target.checked;
    try {
      localStorage.setItem(SHOW_EX, String(exercises));
    } catch (_) {
      /* ignore */
    }
    live.statuses = exercises ? "all" : "actual";
    live.open();
  });

  // Web Push for my places, shown only when the server offers it and the browser can do it.
  async function offerPush() {
    if (!("serviceWorker" in navigator) || !("PushManager" in window)) return;
    let key;
    try {
      const response = await fetch("/api/v1/push/key");
      if (!response.ok) return;
      key = (await response.json()).public_key;
    } catch (_) {
      return;
    }
    if (!key) return;
    const button = $("notify");
    button.hidden = false;
    button.addEventListener("click", async () => {
      if (!places().length) {
        $("notify-status").textContent = S.t("web.places.first");
        return;
      }
      if ((await Notification.requestPermission()) !== "granted") {
        $("notify-status").textContent = S.t("web.places.notify_denied");
        return;
      }
      const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
      await navigator.serviceWorker.ready;
      const raw = atob(key.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (key.length % 4)) % 4));
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: Uint8Array.from(raw, (c) => c.charCodeAt(0)),
      });
      const response = await fetch("/api/v1/push/subscriptions", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ subscription: subscription.toJSON(), regions: places(), lang: S.lang, statuses: exercises ? ["actual", "exercise", "test"] : ["actual"] }),
      });
      $("notify-status").textContent = response.ok ? S.t("web.places.notify_on") : S.t("web.console.failed", { detail: response.status });
    });
  }

  S.initTexts(() => render()).then(() => {
    live.open();
    refresh();
    offerPush();
  });
  setInterval(() => {
    // Durations move on; leave the lists alone while someone is using them from the keyboard.
    if (Object.keys(states).length && !document.querySelector(".side").contains(document.activeElement)) render();
  }, 15000);
})();
