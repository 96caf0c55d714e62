// The agent panel: sign in as an agent user, change status, log in and out of queues, see the call being offered.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  let agentId = null, live = null;
  const offers = new Map(); // call id -> event data
  const queueNames = new Map(); // queue id -> name, from the agent's status

  $("login").addEventListener("submit", async (e) => {
    e.preventDefault();
    Lineup.text($("login-error"), "");
    try {
      const user = await Lineup.login($("username").value, $("password").value, $("tenant-name").value);
      if (user.agent_id == null) { Lineup.signOut(); throw new Error("This user is not an agent (ask an administrator to link it to one)."); }
      start();
    } catch (err) { Lineup.text($("login-error"), err.message); }
  });
  $("signout").addEventListener("click", () => { if (live) live.close(); Lineup.signOut(); location.reload(); });
  $("ready").addEventListener("click", () => act("PUT", "/status", { status: "ready" }));
  $("not-ready").addEventListener("click", () => act("PUT", "/status", { status: "not_ready", reason: $("reason").value }));
  // The call being talked or wrapped up gets a disposition code (required by some queues before the wrap-up ends).
  $("disposition-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    Lineup.text($("status-error"), "");
    const call = $("disposition").dataset.callId, code = $("disposition-code").value;
    try {
      render(await Lineup.api("POST", "/calls/" + call + "/disposition", { code }));
      Lineup.text($("disposition-saved"), "Saved: " + code);
    } catch (err) { Lineup.text($("status-error"), err.message); }
  });
  $("login-all").addEventListener("click", () => act("POST", "/login"));
  $("logout-all").addEventListener("click", () => act("POST", "/logout"));

  async function act(method, path, body) {
    Lineup.text($("status-error"), "");
    try { render(await Lineup.api(method, "/agents/" + agentId + path, body)); }
    catch (err) { Lineup.text($("status-error"), err.message); }
  }

  async function start() {
    const s = Lineup.session;
    if (!s) return;
    try {
      // Signed in through the form, the session knows its user; with #token= the server is asked whose token it is
      // (an agent user's, or a supervisor's or API key's with #agent_id=N).
      const me = s.user || await Lineup.api("GET", "/auth/me");
      agentId = me.agent_id != null ? me.agent_id : s.agentId ? Number(s.agentId) : null;
      if (agentId == null) {
        Lineup.signOut();
        throw new Error("This token is not an agent's: open /agent#token=<token>&agent_id=<agent id>, or sign in as an agent user.");
      }
      // The stream starts after the newest event before the status is read, so nothing that happens meanwhile is missed
      // (agent_id=0 names no agent: the answer is only the sequence number).
      const mark = await Lineup.api("GET", "/events?limit=1&agent_id=0");
      const status = await Lineup.api("GET", "/agents/" + agentId + "/status");
      $("login").classList.add("hidden");
      $("panel").classList.remove("hidden");
      $("signout").classList.remove("hidden");
      Lineup.text($("who"), me.username || me.name);
      render(status);
      // A call already ringing when the page opened: shown now, not at the next offer.
      if (status.offer) {
        const o = status.offer;
        offers.set(o.call_id, { call_id: o.call_id, queue_id: o.queue_id, data: { caller_number: o.caller_number, caller_name: o.caller_name, ring_timeout: o.ring_timeout } });
        renderOffer();
      }
      live = Lineup.stream({ types: "agent.status_changed,agent.activity_changed,agent.login,agent.logout,call.offered,call.offer_ended,call.answered,call.completed", agent_id: String(agentId), last_event_id: String(mark.last_seq) }, onEvent, (state) => {
        Lineup.text($("conn"), state === "live" ? "live" : "reconnecting…");
        $("conn").className = "conn " + (state === "live" ? "live" : "down");
      });
    } catch (err) { Lineup.text($("login-error"), err.message); }
  }

  async function onEvent(type) {
    // The stream carries only this agent's events; anything about its state re-reads the status (one request).
    const e = arguments[1];
    if (type === "call.offered") offers.set(e.call_id, e);
    else if (type.startsWith("call.")) offers.delete(e.call_id);
    renderOffer();
    if (type.startsWith("agent.")) render(await Lineup.api("GET", "/agents/" + agentId + "/status"));
  }

  function render(s) {
    const status = $("status");
    Lineup.text(status, Lineup.label(s.status) + (s.reason ? " (" + s.reason + ")" : ""));
    status.dataset.status = s.status;
    status.className = "big-status status " + s.status;
    Lineup.text($("activity"), s.activity);
    const card = $("disposition");
    const onCall = s.current_call_id != null && (s.status === "wrap_up" || s.activity === "talking");
    card.classList.toggle("hidden", !onCall);
    if (onCall && card.dataset.callId !== String(s.current_call_id)) {
      card.dataset.callId = String(s.current_call_id);
      $("disposition-code").value = "";
      Lineup.text($("disposition-saved"), "");
    }
    const codes = $("disposition-codes");
    codes.replaceChildren(...[...new Set(s.queues.flatMap((q) => q.disposition_codes || []))].map((c) => {
      const o = document.createElement("option"); o.value = c; return o;
    }));
    const list = $("queues");
    list.replaceChildren();
    for (const q of s.queues) {
      queueNames.set(q.queue_id, q.name);
      const li = document.createElement("li");
      li.dataset.queueId = q.queue_id;
      const name = document.createElement("span"); Lineup.text(name, q.name + (q.logged_in ? " — logged in" : " — logged out"));
      const button = document.createElement("button");
      button.type = "button";
      Lineup.text(button, q.logged_in ? "Log out" : "Log in");
      button.setAttribute("aria-label", (q.logged_in ? "Log out of " : "Log in to ") + q.name);
      button.addEventListener("click", () => act("POST", q.logged_in ? "/logout" : "/login", { queue_ids: [q.queue_id] }));
      li.append(name, button);
      list.append(li);
    }
  }

  function renderOffer() {
    const card = $("offer");
    const latest = [...offers.values()].pop();
    card.classList.toggle("hidden", !latest);
    if (!latest) return;
    Lineup.text($("offer-caller"), latest.data.caller_name ? latest.data.caller_name + " " + latest.data.caller_number : latest.data.caller_number);
    Lineup.text($("offer-detail"), (queueNames.get(latest.queue_id) || "queue #" + latest.queue_id) + ", ringing for up to " + latest.data.ring_timeout + " s");
  }

  start();
})();
