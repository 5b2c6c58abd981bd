/* Sirena's service worker: shows Web Push notifications for "my places" and opens the map when one is clicked. */
"use strict";

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (_) {
    data = { title: "Sirena", body: event.data ? event.data.text() : "" };
  }
  const urgent = data.status === "actual" && data.level === "red" && data.state === "active";
  event.waitUntil(
    self.registration.showNotification(data.title || "Sirena", {
      body: data.body || "",
      tag: data.tag || data.alert_id || "sirena",
      renotify: true,
      requireInteraction: urgent,
      lang: data.lang || "uk",
      icon: "/static/favicon.svg",
      data: { url: "/" },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      for (const client of windows) if (new URL(client.url).pathname === "/" && "focus" in client) return client.focus();
      return self.clients.openWindow("/");
    }),
  );
});
