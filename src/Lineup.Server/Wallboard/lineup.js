// Shared by the wallboard and the agent panel: sign-in, API calls with token refresh, and the live stream.
"use strict";
const Lineup = (() => {
  const store = window.sessionStorage;
  let session = JSON.parse(store.getItem("lineup.session") || "null");

  function save(s) {
    session = s;
    if (s) store.setItem("lineup.session", JSON.stringify(s)); else store.removeItem("lineup.session");
  }

  // A page may carry a token in the fragment (never sent to a server log): #token=lk_... (an API key) or an access
  // token; the agent panel also takes #agent_id=N. It is kept for the tab (a reload stays signed in) and left out of
  // the address bar.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    save({ access: fragment.get("token"), refresh: null, user: null, agentId: fragment.get("agent_id") });
    history.replaceState(null, "", location.pathname + location.search);
  }

  async function login(username, password, tenant) {
    const r = await fetch("/api/v1/auth/login", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password, tenant: tenant || null }),
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.detail || body.title || ("sign-in failed (" + r.status + ")"));
    save({ access: body.access_token, refresh: body.refresh_token, user: body.user });
    return body.user;
  }

  async function refresh() {
    if (!session || !session.refresh) return false;
    const r = await fetch("/api/v1/auth/refresh", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: session.refresh }),
    });
    if (!r.ok) { save(null); return false; }
    const body = await r.json();
    save({ access: body.access_token, refresh: body.refresh_token, user: body.user });
    return true;
  }

  async function api(method, path, body) {
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers = { Authorization: "Bearer " + (session && session.access) };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      const r = await fetch("/api/v1" + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      if (r.status === 401 && attempt === 0 && await refresh()) continue;
      if (r.status === 401) { save(null); throw Object.assign(new Error("signed out"), { status: 401 }); }
      const text = await r.text();
      const json = text ? JSON.parse(text) : null;
      if (!r.ok) throw Object.assign(new Error((json && (json.detail || json.title)) || ("HTTP " + r.status)), { status: r.status, body: json });
      return json;
    }
  }

  async function all(path) {
    const items = [];
    let cursor = null;
    do {
      const sep = path.includes("?") ? "&" : "?";
      const page = await api("GET", path + sep + "limit=500" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return items;
  }

  // The event stream, reconnected with the current token and the last event seen; onState gets "live" or "down".
  function stream(query, onEvent, onState) {
    let source = null, last = null, stopped = false, retry = 0;
    function open() {
      if (stopped || !session) return;
      const params = new URLSearchParams(query);
      params.set("access_token", session.access);
      if (last !== null) params.set("last_event_id", last);
      source = new EventSource("/api/v1/events/stream?" + params);
      source.onopen = () => { retry = 0; onState("live"); };
      source.onerror = async () => {
        source.close();
        onState("down");
        if (stopped) return;
        retry = Math.min(retry + 1, 5);
        await refresh().catch(() => {});
        setTimeout(open, 500 * retry);
      };
      const handler = (e) => { last = e.lastEventId; onEvent(e.type, JSON.parse(e.data)); };
      for (const type of (query.types || "").split(",").filter(Boolean)) source.addEventListener(type, handler);
      source.addEventListener("lineup.gap", () => onEvent("lineup.gap", {}));
    }
    open();
    return { close() { stopped = true; if (source) source.close(); } };
  }

  function text(el, value) { el.textContent = value == null ? "" : String(value); }

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    const h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(s).padStart(2, "0");
  }

  function label(status) { return String(status || "").replace(/_/g, " "); }

  return {
    login, api, all, stream, text, duration, label,
    get session() { return session; },
    signOut() { save(null); },
  };
})();
