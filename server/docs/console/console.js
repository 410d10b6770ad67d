// The twin's console: the admin API (/_twin) as a page. Every value from the twin goes in as
// text (textContent, never markup), so a journal path or an imported seed stays text.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("console-config").textContent);
  const ADMIN = config.admin;
  const TOKEN_KEY = "apitwin-admin-token";
  const JOURNAL_LIMIT = 200; // the page shows the newest entries only: fast with any journal
  const $ = (id) => document.getElementById(id);
  let entries = [];
  let openEntry = null;
  let tokenAsked = null; // one question for every call that met the same 401

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function say(text) { $("message").textContent = text || ""; }

  function askToken() {
    if (!tokenAsked) {
      tokenAsked = new Promise((resolve) => {
        $("token-dialog").hidden = false;
        $("token-input").focus();
        $("token-form").onsubmit = (event) => {
          event.preventDefault();
          sessionStorage.setItem(TOKEN_KEY, $("token-input").value);
          $("token-dialog").hidden = true;
          tokenAsked = null;
          resolve();
        };
      });
    }
    return tokenAsked;
  }

  // An admin call; on a 401 it asks for the token once, keeps it for the tab, and retries.
  async function admin(method, path, body, retried) {
    const headers = {};
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers["X-Twin-Admin-Token"] = token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const answer = await fetch(ADMIN + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (answer.status === 401 && !retried) {
      await askToken();
      return admin(method, path, body, true);
    }
    const text = await answer.text();
    const data = text ? JSON.parse(text) : null;
    if (!answer.ok) {
      say(`${method} ${path}: ${answer.status} ${(data && data.detail) || ""}`);
      throw new Error(String(answer.status));
    }
    say("");
    return data;
  }

  // --- requests -------------------------------------------------------------------------
  function apiOf(path) {
    for (const api of config.apis) {
      if (path === api.root || path.startsWith(api.root + "/")) return api.name;
    }
    return path.startsWith(ADMIN) ? "_twin" : "";
  }
  function twinTags(entry) {
    const tags = [];
    const twin = entry.twin || {};
    if (twin.prefer) tags.push(["Prefer " + JSON.stringify(twin.prefer), ""]);
    if (twin.delay_ms) tags.push(["delay " + twin.delay_ms + " ms", ""]);
    if (twin.fault) tags.push(["fault " + (twin.fault.id ? "#" + twin.fault.id : twin.fault), "fault"]);
    if (twin.fault_latency_ms) tags.push(["fault latency " + twin.fault_latency_ms + " ms", ""]);
    if (twin.dropped) tags.push(["dropped", "fault"]);
    return tags;
  }
  function shown(entry) {
    const own = entry.path.startsWith(ADMIN) || "x-twin-console" in (entry.request_headers || {});
    if ($("hide-admin").checked && own) return false;
    const api = $("filter-api").value;
    if (api && apiOf(entry.path) !== api) return false;
    const status = $("filter-status").value;
    if (status === "0") return entry.status === 0;
    return !status || String(entry.status).startsWith(status);
  }
  function renderJournal() {
    const body = $("journal").tBodies[0];
    const rows = [];
    entries.filter(shown).forEach((entry) => {
      const row = el("tr", null, "entry");
      if (openEntry && entry.at === openEntry.at && entry.path === openEntry.path) {
        row.classList.add("open");
      }
      row.append(el("td", entry.at.slice(11, 19), "mono dim"), el("td", entry.method, "mono"));
      const where = el("td", entry.path + (entry.query ? "?" + entry.query : ""), "mono path");
      row.append(where);
      row.append(el("td", entry.status === 0 ? "dropped" : entry.status,
        "status s" + String(entry.status)[0]));
      row.append(el("td", Math.round(entry.duration_ms), "mono dim"));
      const twin = el("td");
      twinTags(entry).forEach(([text, cls]) => twin.append(el("span", text, "tag " + cls)));
      row.append(twin);
      row.addEventListener("click", () => show(entry));
      rows.push(row);
    });
    body.replaceChildren(...rows);
    $("requests-count").textContent = `${rows.length} shown of the newest ${entries.length}`;
  }
  function quote(text) { return "'" + String(text).replace(/'/g, "'\\''") + "'"; }
  const NOT_SENT = new Set(["host", "content-length", "connection", "accept-encoding",
    "origin", "referer", "user-agent", "..."]);
  function curlOf(entry) {
    const url = location.origin + entry.path + (entry.query ? "?" + entry.query : "");
    const parts = ["curl"];
    if (entry.method !== "GET") parts.push("-X", entry.method);
    for (const [name, value] of Object.entries(entry.request_headers || {})) {
      if (NOT_SENT.has(name) || name.startsWith("sec-")) continue;
      parts.push("-H", quote(name + ": " + value));
    }
    parts.push(quote(url));
    return parts.join(" ");
  }
  function show(entry) {
    openEntry = entry;
    $("entry").hidden = false;
    $("entry-curl").textContent = curlOf(entry);
    const answer = { status: entry.status, operation_id: entry.operation_id,
      duration_ms: entry.duration_ms, error: entry.error, twin: entry.twin };
    $("entry-answer").textContent = JSON.stringify(answer, null, 2);
    $("entry-headers").textContent = JSON.stringify(entry.request_headers || {}, null, 2);
    renderJournal();
  }
  async function loadJournal() {
    entries = (await admin("GET", "/requests?limit=" + JOURNAL_LIMIT)).requests;
    renderJournal();
  }

  // --- clock ------------------------------------------------------------------------------
  function renderClock(clock) {
    $("clock-now").textContent = clock.now.replace("T", " ");
    $("clock-state").textContent = clock.frozen ? "frozen" : "running";
    $("clock-state").className = "badge" + (clock.frozen ? " frozen" : "");
  }
  async function changeClock(change) {
    renderClock(await admin("POST", "/clock", change));
    await loadWorkflows(); // lifecycles are read from the clock: show where they are now
  }
  let clockRunning = false;
  async function loadClock() {
    const clock = await admin("GET", "/clock");
    clockRunning = !clock.frozen;
    renderClock(clock);
  }

  // Director's instances move on the virtual clock (no credentials needed unless basic auth).
  async function loadWorkflows() {
    const director = config.apis.find((api) => api.name === "director");
    if (!director) return;
    // Marked, so the journal view can hide the console's own calls.
    const answer = await fetch(director.root + "/api/workflows?per_page=8",
      { headers: { "X-Twin-Console": "1" } });
    const rows = [];
    if (answer.ok) {
      (await answer.json()).slice(0, 8).forEach((run) => {
        const row = el("tr");
        row.append(el("td", String(run.id).slice(0, 8), "mono"), el("td", run.fullname),
          el("td", run.status, "status"));
        rows.push(row);
      });
    }
    $("workflows").tBodies[0].replaceChildren(...rows);
  }

  // --- faults -----------------------------------------------------------------------------
  function fillOperations() {
    const api = $("fault-api").value;
    const options = [new Option("every operation", "")];
    config.apis.filter((a) => !api || a.name === api).forEach((a) => {
      a.operations.forEach((op) => options.push(new Option(api ? op : a.name + ": " + op, op)));
    });
    $("fault-operation").replaceChildren(...options);
  }
  async function loadFaults() {
    const rules = (await admin("GET", "/faults")).faults;
    const rows = rules.map((rule) => {
      const row = el("tr");
      row.dataset.id = rule.id;
      const what = rule.effect === "status" ? "status " + rule.status
        : rule.effect === "latency" ? rule.latency_ms + " ms" : "drop";
      const how = rule.times ? ` ×${rule.remaining}/${rule.times}`
        : rule.rate !== null ? ` rate ${rule.rate}` : "";
      row.append(el("td", rule.id), el("td", (rule.api || "*") + " " + (rule.operation_id || "*"),
        "mono"), el("td", what + how), el("td", rule.matched, "matched"),
        el("td", rule.fired, "fired"));
      const cell = el("td");
      const remove = el("button", "Remove", "danger");
      remove.addEventListener("click", async () => {
        await admin("DELETE", "/faults/" + rule.id);
        await loadFaults();
      });
      cell.append(remove);
      row.append(cell);
      if (!rule.active) row.classList.add("dim");
      return row;
    });
    $("fault-rules").tBodies[0].replaceChildren(...rows);
  }
  async function addFault(event) {
    event.preventDefault();
    const rule = { effect: $("fault-effect").value };
    if ($("fault-api").value) rule.api = $("fault-api").value;
    if ($("fault-operation").value) rule.operation_id = $("fault-operation").value;
    const value = Number($("fault-value").value);
    if (rule.effect === "status") rule.status = value;
    if (rule.effect === "latency") rule.latency_ms = value;
    const limit = $("fault-limit").value;
    if (limit) rule[limit] = Number($("fault-limit-value").value);
    await admin("POST", "/faults", rule);
    await loadFaults();
  }

  // --- world and sessions -----------------------------------------------------------------
  function renderWorld(info) {
    $("world-seed").textContent = info.seed;
    $("world-size").textContent = info.world;
    $("world-epoch").textContent = info.epoch;
  }
  async function loadSessions() {
    const listed = await admin("GET", "/sessions");
    $("sessions-limit").textContent = `${listed.sessions.length} of ${listed.max_sessions}`;
    const rows = listed.sessions.map((session) => {
      const row = el("tr");
      row.append(el("td", session.name, "mono"), el("td", session.last_used.slice(11, 19)));
      const cell = el("td");
      const drop = el("button", "Drop", "danger");
      drop.addEventListener("click", async () => {
        await admin("DELETE", "/sessions/" + encodeURIComponent(session.name));
        await loadSessions();
      });
      cell.append(drop);
      row.append(cell);
      return row;
    });
    $("sessions").tBodies[0].replaceChildren(...rows);
  }
  async function reset() {
    const size = $("reset-size").value;
    renderWorld(await admin("POST", "/reset", size ? { world: size } : {}));
    openEntry = null;
    $("entry").hidden = true;
    await Promise.all([loadClock(), loadFaults(), loadWorkflows(), loadJournal()]);
  }

  // --- wiring -----------------------------------------------------------------------------
  function guarded(action) {
    return (event) => action(event).catch((error) => say(String(error.message || error)));
  }
  config.apis.forEach((api) => {
    $("filter-api").append(new Option(api.name, api.name));
    $("fault-api").append(new Option(api.name, api.name));
  });
  $("filter-api").append(new Option("_twin", "_twin"));
  ["filter-api", "filter-status", "hide-admin"].forEach((id) =>
    $(id).addEventListener("change", renderJournal));
  $("fault-api").addEventListener("change", fillOperations);
  $("fault-effect").addEventListener("change", () => {
    $("fault-value").value = { status: 503, latency: 1000, drop: "" }[$("fault-effect").value];
  });
  $("close-entry").addEventListener("click", () => {
    openEntry = null; $("entry").hidden = true; renderJournal();
  });
  $("copy-curl").addEventListener("click", guarded(async () => {
    await navigator.clipboard.writeText($("entry-curl").textContent);
    say("copied");
  }));
  $("freeze").addEventListener("click", guarded(() => changeClock({ freeze: true })));
  $("unfreeze").addEventListener("click", guarded(() => changeClock({ freeze: false })));
  $("advance").addEventListener("click", guarded(() => changeClock({
    advance_seconds: Number($("advance-amount").value) * Number($("advance-unit").value) })));
  $("set-clock").addEventListener("click", guarded(() => changeClock({ set: $("set-at").value })));
  $("refresh-workflows").addEventListener("click", guarded(loadWorkflows));
  $("fault-form").addEventListener("submit", guarded(addFault));
  $("clear-faults").addEventListener("click", guarded(async () => {
    await admin("DELETE", "/faults");
    await loadFaults();
  }));
  $("reset").addEventListener("click", guarded(reset));
  fillOperations();
  renderWorld(config.world);

  // Polling, one round at a time; paused while the tab is hidden.
  let ticks = 0;
  async function tick() {
    if (!document.hidden) {
      const jobs = [loadClock(), loadFaults(), loadSessions()];
      if ($("live").checked) jobs.push(loadJournal());
      ticks += 1;
      if (clockRunning && ticks % 4 === 0) jobs.push(loadWorkflows()); // they move with time
      await Promise.all(jobs).catch((error) => say(String(error.message || error)));
    }
    setTimeout(tick, 1500);
  }
  loadWorkflows().catch(() => {});
  tick();
})();
