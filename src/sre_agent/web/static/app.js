/* sre-agent web UI: live incident table, incident timeline, confirmations. Vanilla JS, no deps. */
"use strict";
const SRE = (() => {
  const FINAL = ["done", "lost", "not_started", "resolved"];
  const RUNNING = ["starting", "agent", "verifying"];
  let skew = 0; // server clock minus browser clock, seconds

  function esc(v) {
    return String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g,
      (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  }
  async function api(path, opts = {}) {
    const init = {credentials: "same-origin", headers: {"Accept": "application/json"}, ...opts};
    if (opts.body !== undefined) {
      init.method = opts.method || "POST";
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    const resp = await fetch(path, init);
    const data = await resp.json().catch(() => ({error: resp.statusText}));
    if (!resp.ok) throw new Error(data.error + (data.hint ? ` (${data.hint})` : ""));
    return data;
  }
  const now = () => Date.now() / 1000 + skew;
  function fmtDur(s) {
    if (s === null || s === undefined || isNaN(s)) return "–";
    s = Math.max(0, s);
    if (s < 60) return s.toFixed(1) + "s";
    const m = Math.floor(s / 60);
    return m < 60 ? `${m}m${String(Math.floor(s % 60)).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
  }
  function elapsed(rec) {
    if (!rec.started_at) return null;
    return (rec.ended_at || now()) - rec.started_at;
  }
  function badge(text, cls, extra = "") { return `<span class="badge ${cls} ${extra}">${esc(text)}</span>`; }
  function stateBadge(state) {
    const cls = {queued: "b-grey", starting: "b-blue", agent: "b-blue", verifying: "b-purple",
      done: "b-grey", lost: "b-red", not_started: "b-grey", needs_human: "b-orange", resolved: "b-grey"}[state] || "b-grey";
    const label = state === "agent" ? "agent working" : state.replace("_", " ");
    return badge(label, cls, RUNNING.includes(state) ? "pulse" : "");
  }
  function statusBadge(rec) {
    if (!rec.status) return rec.error ? badge("error", "b-red") : '<span class="muted">–</span>';
    const cls = {fixed: "b-green", nothing_to_fix: "b-green", not_fixed: "b-red", escalated: "b-orange",
      error: "b-red", limit: "b-purple", cancelled: "b-grey"}[rec.status] || "b-grey";
    return badge(rec.status.replace(/_/g, " "), cls);
  }
  function riskBadge(r) {
    if (!r) return '<span class="muted">–</span>';
    return badge(r, {LOW: "b-green", MEDIUM: "b-amber", HIGH: "b-red"}[r] || "b-grey");
  }
  function verifierBadge(rec) {
    if (rec.service_up === true) return badge("up", "b-green");
    if (rec.state === "done" && rec.status && rec.status !== "cancelled") return badge("down", "b-red");
    if (rec.state === "verifying") return badge("probing", "b-purple", "pulse");
    return '<span class="muted">–</span>';
  }
  function setLive(on, text) {
    const dot = document.getElementById("live-dot");
    if (dot) dot.className = "dot " + (on ? "on" : "off");
    const t = document.getElementById("live-text");
    if (t) t.textContent = text || (on ? "live" : "reconnecting…");
  }
  function connect(handlers, onOpen) {
    const es = new EventSource("/api/events");
    es.onopen = () => { setLive(true); if (onOpen) onOpen(); };
    es.onerror = () => setLive(false);
    for (const [kind, fn] of Object.entries(handlers)) {
      es.addEventListener(kind, (e) => fn(JSON.parse(e.data)));
    }
    return es;
  }

  // -- confirmations (both pages) ----------------------------------------------------------
  function renderConfirmations(list, showIncident) {
    const box = document.getElementById("confirmations");
    const count = document.getElementById("confirm-count");
    const card = document.getElementById("confirm-card");
    if (!box) return;
    if (count) count.textContent = list.length ? `(${list.length})` : "";
    if (card) { card.style.borderColor = list.length ? "#d4a72c" : ""; if (list.length) card.hidden = false; }
    const sig = list.map((c) => c.id).join(",");
    if (box.dataset.sig === sig && box.dataset.sig !== undefined) return; // keep typed reasons
    box.dataset.sig = sig;
    if (!list.length) { box.innerHTML = '<div class="empty">No risky action is waiting.</div>'; return; }
    box.innerHTML = list.map((c) => `
      <div class="confirm" data-cid="${esc(c.id)}">
        <div class="bar">${riskBadge(c.risk)} <b>${esc(c.tool)}</b>
          ${showIncident ? `in <a href="/incidents/${encodeURIComponent(c.incident_id)}" class="mono">${esc(c.incident_id)}</a>` : ""}
          <span class="muted small">auto-reject in <span class="countdown" data-until="${c.expires_at}"></span></span></div>
        <div class="cmd mono">${esc(c.command)}</div>
        <div class="small muted">${esc((c.reasons || []).join("; ") || "no reason given")}</div>
        <div class="bar" style="margin-top:6px">
          <button class="approve" data-answer="1" type="button">Approve</button>
          <button class="reject" data-answer="0" type="button">Reject</button>
          <input class="reason" placeholder="reason (optional)">
          <span class="msg"></span></div>
      </div>`).join("");
    tickCountdowns();
  }
  function tickCountdowns() {
    document.querySelectorAll(".countdown").forEach((el) => {
      el.textContent = fmtDur(parseFloat(el.dataset.until) - now());
    });
  }
  document.addEventListener("click", async (e) => {
    const btn = e.target.closest("button[data-answer]");
    if (!btn) return;
    const box = btn.closest(".confirm");
    const msg = box.querySelector(".msg");
    box.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    try {
      await api(`/api/confirmations/${encodeURIComponent(box.dataset.cid)}`,
        {body: {approve: btn.dataset.answer === "1", reason: box.querySelector(".reason").value}});
      msg.className = "msg ok"; msg.textContent = "sent";
    } catch (err) {
      msg.className = "msg err"; msg.textContent = err.message;
      box.querySelectorAll("button").forEach((b) => { b.disabled = false; });
    }
  });

  // -- dashboard ---------------------------------------------------------------------------
  function initIndex() {
    const incidents = new Map(), jobs = new Map(), confirms = new Map();
    let timer = null, maxInFlight = null; // the server-wide sandbox cap (the rest wait queued)
    const schedule = () => { if (!timer) timer = requestAnimationFrame(() => { timer = null; render(); }); };

    async function refresh() {
      try {
        const s = await api("/api/state");
        skew = s.server_time - Date.now() / 1000;
        maxInFlight = (s.capacity || {}).max_in_flight || null;
        incidents.clear(); jobs.clear(); confirms.clear();
        s.incidents.forEach((i) => incidents.set(i.id, i));
        s.jobs.forEach((j) => jobs.set(j.id, j));
        s.confirmations.forEach((c) => confirms.set(c.id, c));
        render();
      } catch (err) { setLive(false, "error: " + err.message); }
    }
    function note(rec) {
      if (rec.error) return rec.error;
      if (rec.state === "needs_human") return rec.reason;
      if (rec.state === "done") return rec.reason || "";
      if (rec.alert) return "alert " + (rec.alert.alertname || "");
      return "";
    }
    function render() {
      const when = (r) => (jobs.get(r.job_id) || r).created_at; // a job's incidents stay together
      const rows = [...incidents.values()].sort((a, b) => (when(b) - when(a)) || ((a.index || 0) - (b.index || 0)));
      const tbody = document.querySelector("#incidents tbody");
      if (!rows.length) {
        tbody.innerHTML = '<tr><td colspan="14" class="empty">No incident yet: start one, or POST an Alertmanager webhook to /api/alerts.</td></tr>';
      } else {
        tbody.innerHTML = rows.map((r) => `
        <tr data-id="${esc(r.id)}" data-state="${esc(r.state)}" data-status="${esc(r.status || "")}">
          <td><a class="mono" href="/incidents/${encodeURIComponent(r.id)}">${esc(r.id)}</a>${r.pending ? " " + badge(r.pending + " waiting", "b-amber", "pulse") : ""}</td>
          <td>${esc(r.source)}</td><td>${esc(r.scenario || "–")}</td><td class="num">${esc(r.seed ?? "")}</td>
          <td>${stateBadge(r.state)}</td><td>${statusBadge(r)}</td><td>${esc(r.skill || "–")}</td>
          <td class="num">${esc(r.steps)}</td><td>${riskBadge(r.highest_risk)}</td><td>${verifierBadge(r)}</td>
          <td class="num">${r.ttm_s != null ? r.ttm_s.toFixed(1) : "–"}</td>
          <td class="num elapsed" data-start="${r.started_at || ""}" data-end="${r.ended_at || ""}">${fmtDur(elapsed(r))}</td>
          <td class="wrap small muted" style="max-width:380px">${esc(note(r))}</td>
          <td>${RUNNING.includes(r.state) && r.job_id ? `<button type="button" class="danger" data-cancel="${esc(r.id)}">cancel</button>` : ""}</td>
        </tr>`).join("");
      }
      const c = {running: 0, queued: 0, fixed: 0, failed: 0, human: 0};
      rows.forEach((r) => {
        if (RUNNING.includes(r.state)) c.running++;
        else if (r.state === "queued") c.queued++;
        else if (r.state === "needs_human") c.human++;
        else if (r.state === "done" && ["fixed", "nothing_to_fix"].includes(r.status)) c.fixed++;
        else if (FINAL.includes(r.state) && r.state !== "resolved") c.failed++;
      });
      document.getElementById("counters").innerHTML =
        `<span><b>${rows.length}</b> total</span><span><b>${c.running}</b>${maxInFlight ? ` of ${maxInFlight}` : ""} running</span><span><b>${c.queued}</b> queued</span>` +
        `<span><b style="color:var(--green)">${c.fixed}</b> verified ok</span><span><b style="color:var(--red)">${c.failed}</b> not ok</span>` +
        `<span><b style="color:var(--orange)">${c.human}</b> need a human</span>`;
      const jl = [...jobs.values()].sort((a, b) => b.created_at - a.created_at);
      document.getElementById("job-count").textContent = jl.length ? `(${jl.length})` : "";
      document.querySelector("#jobs tbody").innerHTML = jl.length ? jl.map((j) => {
        const q = j.request || {};
        const what = `${(q.scenarios || []).join(", ") || "all scenarios"} ×${q.incidents}, c=${q.concurrency}, ` +
          `${q.simulate ? "offline" : (q.model || "default model")}, max ${q.max_risk}${q.confirm_risk ? ", confirm ≥" + q.confirm_risk : ""}`;
        const cls = {running: "b-blue", stopping: "b-amber", finished: "b-green", stopped: "b-grey", error: "b-red"}[j.state];
        const done = j.incident_ids.filter((id) => incidents.has(id) && FINAL.includes(incidents.get(id).state)).length;
        return `<tr data-job="${esc(j.id)}" data-state="${esc(j.state)}"><td class="mono">${esc(j.id)}</td><td>${esc(j.kind)}</td>
          <td>${badge(j.state, cls, j.state === "running" ? "pulse" : "")}${j.error ? ` <span class="small" style="color:var(--red)">${esc(j.error)}</span>` : ""}</td>
          <td class="num">${done}/${j.incident_ids.length || q.incidents}</td><td class="small wrap">${esc(what)}</td>
          <td class="small">${new Date(j.created_at * 1000).toLocaleTimeString()}</td>
          <td>${j.state === "running" ? `<button type="button" class="danger" data-stop="${esc(j.id)}">stop</button>` : ""}</td></tr>`;
      }).join("") : '<tr><td colspan="7" class="empty">No job yet.</td></tr>';
      renderConfirmations([...confirms.values()].filter((x) => x.state === "pending"), true);
    }
    setInterval(() => {
      document.querySelectorAll("#incidents td.elapsed").forEach((td) => {
        if (td.dataset.start && !td.dataset.end) td.textContent = fmtDur(now() - parseFloat(td.dataset.start));
      });
      tickCountdowns();
    }, 1000);
    document.addEventListener("click", async (e) => {
      const stop = e.target.closest("button[data-stop]");
      const cancel = e.target.closest("button[data-cancel]");
      try {
        if (stop) { stop.disabled = true; await api(`/api/jobs/${encodeURIComponent(stop.dataset.stop)}/stop`, {body: {}}); }
        if (cancel) { cancel.disabled = true; await api(`/api/incidents/${encodeURIComponent(cancel.dataset.cancel)}/cancel`, {body: {}}); }
      } catch (err) { alert(err.message); }
    });
    const form = document.getElementById("start-form");
    const simulate = document.getElementById("f-simulate");
    const model = document.getElementById("f-model");
    const syncModel = () => { model.disabled = simulate.checked; };
    simulate.addEventListener("change", syncModel); syncModel();
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const out = document.getElementById("start-result");
      const val = (id) => document.getElementById(id).value.trim();
      const body = {
        scenarios: val("f-scenario") ? [val("f-scenario")] : [],
        incidents: parseInt(val("f-incidents"), 10), concurrency: parseInt(val("f-concurrency"), 10),
        seed: parseInt(val("f-seed"), 10), simulate: simulate.checked, max_risk: val("f-max-risk"),
      };
      if (val("f-text")) body.incident_text = val("f-text");
      if (!simulate.checked && val("f-model")) body.model = val("f-model");
      if (val("f-confirm-risk")) body.confirm_risk = val("f-confirm-risk");
      const btn = document.getElementById("f-submit");
      btn.disabled = true; out.className = "msg"; out.textContent = "starting…";
      try {
        const job = await api("/api/jobs", {body});
        jobs.set(job.id, job); schedule();
        out.className = "msg ok"; out.textContent = `started ${job.id}`;
      } catch (err) {
        out.className = "msg err"; out.textContent = err.message;
      } finally { btn.disabled = false; }
    });
    connect({
      incident: (r) => { incidents.set(r.id, r); schedule(); },
      job: (j) => { jobs.set(j.id, j); schedule(); },
      confirmation: (c) => { confirms.set(c.id, c); schedule(); },
    }, refresh);
  }

  // -- incident page -----------------------------------------------------------------------
  function initIncident(rec) {
    const root = document.getElementById("incident-root");
    const wasFinal = FINAL.includes(rec.state) || rec.state === "needs_human";
    const header = (r) => {
      document.getElementById("h-state").innerHTML = stateBadge(r.state);
      document.getElementById("h-result").innerHTML = r.state === "done" ? statusBadge(r) : "";
      const el = document.getElementById("f-elapsed");
      if (r.started_at) el.dataset.start = r.started_at;
      if (r.ended_at) el.dataset.end = r.ended_at;
      document.getElementById("f-steps").textContent = r.steps;
      document.getElementById("f-risk").innerHTML = riskBadge(r.highest_risk);
    };
    const tick = () => {
      const el = document.getElementById("f-elapsed");
      if (!el.dataset.start) return;
      const end = el.dataset.end ? parseFloat(el.dataset.end) : now();
      el.textContent = fmtDur(end - parseFloat(el.dataset.start));
      tickCountdowns();
    };
    header(rec); tick(); setInterval(tick, 1000);
    const confirms = new Map();
    const loadConfirms = async () => {
      try {
        const d = await api(`/api/incidents/${encodeURIComponent(rec.id)}`);
        confirms.clear(); d.confirmations.forEach((c) => confirms.set(c.id, c));
        renderConfirmations([...confirms.values()].filter((c) => c.state === "pending"), false);
        if (!wasFinal && FINAL.includes(d.incident.state)) location.reload();
      } catch (err) { setLive(false, "error: " + err.message); }
    };
    const cancel = document.getElementById("cancel-btn");
    if (cancel) cancel.addEventListener("click", async () => {
      cancel.disabled = true;
      try { await api(`/api/incidents/${encodeURIComponent(rec.id)}/cancel`, {body: {}}); } catch (err) { alert(err.message); }
    });
    if (wasFinal) { setLive(true, "finished"); loadConfirms(); return; }
    api("/api/state").then((s) => { skew = s.server_time - Date.now() / 1000; }).catch(() => {});
    connect({
      incident: (r) => {
        if (r.id !== rec.id) return;
        header(r);
        if (FINAL.includes(r.state)) setTimeout(() => location.reload(), 300); // the full trace row
      },
      action: (d) => {
        if (d.incident_id !== rec.id) return;
        const a = d.action;
        const tbody = document.querySelector("#timeline tbody");
        tbody.querySelectorAll("tr.placeholder").forEach((tr) => tr.remove());
        const dec = {allow: ["allowed", "b-green"], block: ["blocked", "b-red"], confirm_approved: ["approved", "b-blue"],
          confirm_rejected: ["rejected", "b-orange"]}[a.decision] || [a.decision, "b-grey"];
        tbody.insertAdjacentHTML("beforeend", `<tr><td class="num">${esc(a.step)}</td><td>${esc(a.tool)}</td>
          <td class="wrap mono">${esc(a.command)}</td><td>${riskBadge(a.risk)}</td><td>${badge(dec[0], dec[1])}</td>
          <td class="wrap small">${esc((a.reasons || []).join("; "))}</td><td class="num">${esc(a.exit_code ?? "")}</td>
          <td class="num">${a.duration_s ? a.duration_s.toFixed(1) : ""}</td>
          <td class="wrap">${a.observation ? `<details class="obs"><summary>${esc(a.observation.slice(0, 80))}</summary><pre>${esc(a.observation)}</pre></details>` : ""}</td></tr>`);
      },
      confirmation: (c) => {
        if (c.incident_id !== rec.id) return;
        confirms.set(c.id, c);
        renderConfirmations([...confirms.values()].filter((x) => x.state === "pending"), false);
      },
    }, loadConfirms);
    root.dataset.live = "1";
  }

  function initScorecard() {
    const frame = document.getElementById("report");
    const fit = () => {
      try { frame.style.height = (frame.contentDocument.documentElement.scrollHeight + 20) + "px"; } catch (e) { /* ignore */ }
    };
    frame.addEventListener("load", fit);
    connect({incident: (r) => { if (r.state === "done") frame.contentWindow.location.reload(); }}, null);
  }

  return {initIndex, initIncident, initScorecard, esc, api};
})();
