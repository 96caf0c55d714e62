// The wallboard: every queue's live figures and today's results, and every agent, kept current by the event stream.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const queues = new Map();   // id -> { name, status, today, at, el }
  const agents = new Map();   // id -> { name, status, reason, activity, since, queues, el }
  let live = null;

  $("login").addEventListener("submit", async (e) => {
    e.preventDefault();
    Lineup.text($("login-error"), "");
    try {
      await Lineup.login($("username").value, $("password").value, $("tenant-name").value);
      start();
    } catch (err) { Lineup.text($("login-error"), err.message); }
  });
  $("signout").addEventListener("click", () => { if (live) live.close(); Lineup.signOut(); location.reload(); });

  function showLogin() {
    $("login").classList.remove("hidden");
    $("board").classList.add("hidden");
    $("signout").classList.add("hidden");
    Lineup.text($("conn"), "signed out");
  }

  async function start() {
    if (!Lineup.session) return showLogin();
    try {
      // The newest event before the figures are read: the stream starts after it, so whatever changes while they load
      // still arrives (events carry whole values, so replaying one the figures already show changes nothing).
      // agent_id=0 names no agent: the answer is only the sequence number.
      const mark = await Lineup.api("GET", "/events?limit=1&agent_id=0");
      const [queueList, agentList] = await Promise.all([Lineup.all("/queues"), Lineup.all("/agents")]);
      $("login").classList.add("hidden");
      $("board").classList.remove("hidden");
      $("signout").classList.remove("hidden");
      await Promise.all(queueList.map(async (q) => {
        const [status, today] = await Promise.all([Lineup.api("GET", "/queues/" + q.id + "/status"), Lineup.api("GET", "/queues/" + q.id + "/stats")]);
        // GET /stats answers { date, stats }; queue.stats_changed carries the same figures as data.today.
        queues.set(q.id, { name: q.name, status, today: today.stats, at: Date.now() });
      }));
      for (const a of agentList) {
        agents.set(a.id, { name: a.name, status: a.state.status, reason: a.state.reason, activity: a.state.activity, since: Date.parse(a.state.since), queues: a.state.logged_in_queues });
      }
      renderQueues();
      renderAgents();
      live = Lineup.stream({ types: "queue.stats_changed,agent.status_changed,agent.activity_changed,agent.login,agent.logout", last_event_id: String(mark.last_seq) }, onEvent, (state) => {
        Lineup.text($("conn"), state === "live" ? "live" : "reconnecting…");
        $("conn").className = "conn " + (state === "live" ? "live" : "down");
      });
    } catch (err) {
      if (err.status === 401) return showLogin();
      Lineup.text($("conn"), err.message);
    }
  }

  function onEvent(type, e) {
    if (type === "lineup.gap") { location.reload(); return; }
    if (type === "queue.stats_changed") {
      const q = queues.get(e.queue_id) || { name: e.data.status.name };
      q.status = e.data.status; q.today = e.data.today; q.at = Date.now(); q.name = e.data.status.name;
      queues.set(e.queue_id, q);
      renderQueues();
      return;
    }
    let a = agents.get(e.agent_id);
    if (!a) { a = { name: e.data.agent_name, status: "logged_out", activity: "idle", since: Date.now(), queues: [] }; agents.set(e.agent_id, a); }
    if (type === "agent.status_changed") { a.status = e.data.status; a.reason = e.data.reason; a.since = Date.parse(e.occurred_at); }
    else if (type === "agent.activity_changed") { a.activity = e.data.activity; }
    else if (type === "agent.login") { if (!a.queues.includes(e.queue_id)) a.queues.push(e.queue_id); }
    else if (type === "agent.logout") { a.queues = a.queues.filter((q) => q !== e.queue_id); }
    renderAgents();
  }

  function figure(label, value, id) {
    const div = document.createElement("div");
    const dt = document.createElement("dt"); Lineup.text(dt, label);
    const dd = document.createElement("dd"); Lineup.text(dd, value); if (id) dd.dataset.figure = id;
    div.append(dt, dd);
    return div;
  }

  function renderQueues() {
    const root = $("queues");
    root.replaceChildren();
    for (const [id, q] of [...queues].sort((x, y) => x[1].name.localeCompare(y[1].name))) {
      const s = q.status, t = q.today;
      const card = document.createElement("article");
      card.className = "queue";
      card.dataset.queueId = id;
      const sl = Math.round((t.service_level ?? 1) * 100);
      if (s.waiting > 0 && s.available_agents === 0) card.classList.add("bad");
      else if (sl < 80) card.classList.add("warn");
      const h = document.createElement("h2"); Lineup.text(h, q.name);
      const dl = document.createElement("dl"); dl.className = "figures";
      dl.append(
        figure("Waiting", s.waiting, "waiting"),
        figure("Longest wait", Lineup.duration(longest(q)), "longest"),
        figure("Service level", sl + "%", "service_level"),
        figure("Answered", t.answered, "answered"),
        figure("Abandoned", t.abandoned, "abandoned"),
        figure("Talking", s.talking, "talking"));
      const line = document.createElement("p"); line.className = "agents-line";
      line.innerHTML = "";
      for (const [label, n] of [["available", s.available_agents], ["busy", s.busy_agents], ["not ready", s.not_ready_agents], ["wrap-up", s.wrap_up_agents], ["logged in", s.logged_in_agents]]) {
        const b = document.createElement("b"); Lineup.text(b, n);
        line.append(b, " " + label + "  ");
      }
      card.append(h, dl, line);
      root.append(card);
    }
  }

  function longest(q) { return q.status.waiting > 0 ? q.status.longest_wait_seconds + (Date.now() - q.at) / 1000 : 0; }

  function renderAgents() {
    const body = $("agents").tBodies[0];
    body.replaceChildren();
    for (const [id, a] of [...agents].sort((x, y) => (x[1].name || "").localeCompare(y[1].name || ""))) {
      const tr = document.createElement("tr");
      tr.dataset.agentId = id;
      const name = document.createElement("td"); Lineup.text(name, a.name);
      const status = document.createElement("td");
      const badge = document.createElement("span"); badge.className = "status " + a.status; badge.dataset.status = a.status;
      Lineup.text(badge, Lineup.label(a.status) + (a.reason ? " (" + a.reason + ")" : ""));
      status.append(badge);
      const activity = document.createElement("td"); activity.className = "activity " + a.activity; Lineup.text(activity, a.activity);
      const since = document.createElement("td"); since.dataset.since = a.since; Lineup.text(since, Lineup.duration((Date.now() - a.since) / 1000));
      const qs = document.createElement("td");
      Lineup.text(qs, a.queues.map((q) => (queues.get(q) || { name: "#" + q }).name).join(", "));
      tr.append(name, status, activity, since, qs);
      body.append(tr);
    }
  }

  // Clocks tick locally between events.
  setInterval(() => {
    Lineup.text($("clock"), new Date().toLocaleTimeString());
    for (const el of document.querySelectorAll("[data-figure=longest]")) {
      const q = queues.get(Number(el.closest(".queue").dataset.queueId));
      if (q) Lineup.text(el, Lineup.duration(longest(q)));
    }
    for (const el of document.querySelectorAll("td[data-since]")) Lineup.text(el, Lineup.duration((Date.now() - Number(el.dataset.since)) / 1000));
  }, 1000);

  start();
})();
