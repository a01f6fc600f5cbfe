// cleval dashboard: runs, run and compare views over the JSON API of
// package metrics/dashboard. No framework, no build step; charts by uPlot.
"use strict";

(function () {
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const color = (i) => PALETTE[i % PALETTE.length];
  const main = document.getElementById("main");
  let info = { poll_ms: { run: 500, runs: 2000 } };
  let view = null; // the current view: { stop() }
  // uPlot's script runs after this one, so that the view's first requests
  // go out before it is parsed; charts wait for it (all deferred scripts
  // have run at DOMContentLoaded).
  const uplotReady = new Promise((resolve) => {
    if (typeof uPlot !== "undefined") resolve();
    else window.addEventListener("DOMContentLoaded", () => resolve());
  });

  // ---- helpers ----
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "style") Object.assign(el.style, v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }
  async function api(path) {
    const r = await fetch(path, { headers: { Accept: "application/json" } });
    let body;
    try { body = await r.json(); } catch (e) { body = { error: r.status + " " + r.statusText }; }
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  }
  const pct = (v, d = 1) => (v === null || v === undefined || Number.isNaN(v)) ? "–" : (100 * v).toFixed(d);
  const num = (v, d = 0) => (v === null || v === undefined) ? "–" : Number(v).toFixed(d);
  function dur(s) {
    if (s === null || s === undefined || !isFinite(s)) return "–";
    s = Math.max(0, Math.round(s));
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
    return Math.floor(s / 3600) + "h" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
  }
  // Iteration axis: 120k rather than 120,000, so that labels do not collide.
  const itFmt = (v) => Math.abs(v) >= 1e6 ? +(v / 1e6).toFixed(2) + "M" : Math.abs(v) >= 1e4 ? +(v / 1e3).toFixed(1) + "k" : String(v);
  const itAxis = { label: "iteration", space: 60, values: (u, splits) => splits.map(itFmt) };
  const isTime = (name) => name === "gap_time_to_trough" || name === "gap_r90" || name === "gap_time_to_trough_mean" || name === "gap_r90_mean";
  const fmtMetric = (name, v) => isTime(name) ? num(v, 1) : pct(v, 2);
  function errorBox(e) { return h("div", { class: "error", role: "alert" }, String(e.message || e)); }
  function chartWidth(el) { return Math.max(320, Math.floor((el.clientWidth || main.clientWidth || 900))); }
  function statusBadge(r) {
    const gone = r.status === "running" && r.process_gone;
    return h("span", { class: "badge " + (gone ? "gone" : r.status), title: gone ? "stored as running, but its process is gone: it will not progress (a sweep redoes it)" : (r.error || "") },
      gone ? "running?" : r.status);
  }
  function progressCell(r) {
    if (r.status !== "running") return null;
    const frac = r.total_iterations ? Math.min(1, r.iterations / r.total_iterations) : 0;
    const bar = h("span", { class: "progress" }, h("span", { style: { width: (100 * frac).toFixed(1) + "%" } }));
    const eta = r.eta_seconds !== null && r.eta_seconds !== undefined ? " · ETA " + dur(r.eta_seconds) : "";
    return h("span", { class: "small" }, bar, "exp " + r.experience + "/" + r.num_experiences + " · it " + r.iterations +
      (r.total_iterations ? "/" + r.total_iterations : "") + eta);
  }
  function setNav(name) {
    for (const n of ["runs", "compare"]) document.getElementById("nav-" + n).classList.toggle("active", n === name);
  }
  // every calls fn every ms() milliseconds (read at each tick: the poll
  // intervals of /api/info may arrive after the view started).
  function every(ms, fn) {
    let stopped = false, timer = null;
    const tick = async () => {
      if (stopped) return;
      try { await fn(); } catch (e) { console.warn(e); }
      if (!stopped) timer = setTimeout(tick, ms());
    };
    timer = setTimeout(tick, ms());
    return () => { stopped = true; clearTimeout(timer); };
  }
  function exportLinks(ids, a, b) {
    const runs = ids.join(",");
    const dis = ids.length === 0 ? " disabled" : "";
    let rep = "/report?runs=" + runs;
    if (a && b) rep += "&a=" + encodeURIComponent(a) + "&b=" + encodeURIComponent(b);
    return h("span", { class: "controls" },
      h("a", { class: "button" + dis, href: "/export?runs=" + runs + "&format=parquet", download: "" }, "Parquet export"),
      h("a", { class: "button" + dis, href: "/export?runs=" + runs + "&format=arrow", download: "" }, "Arrow export"),
      h("a", { class: "button" + dis, href: rep, target: "_blank", rel: "noopener" }, "HTML report"));
  }

  // ---- Runs view ----
  function runsView() {
    setNav("runs");
    const st = { sort: "id", desc: false, filter: "", status: "", group: "", selected: new Set(), data: null };
    const filterIn = h("input", { type: "search", placeholder: "filter: strategy, preset, group, seed, id…", size: 34, oninput: (e) => { st.filter = e.target.value.toLowerCase(); render(); } });
    const statusSel = h("select", { onchange: (e) => { st.status = e.target.value; render(); } },
      ["", "running", "complete", "failed", "interrupted", "diverged"].map((s) => h("option", { value: s }, s || "any status")));
    const groupSel = h("select", { onchange: (e) => { st.group = e.target.value; render(); } });
    const links = h("span");
    const count = h("span", { class: "small" });
    const table = h("table", { class: "grid", id: "runs-table" });
    const groupsBox = h("div");
    const err = h("div");
    main.replaceChildren(h("h1", {}, "Runs"), err,
      h("div", { class: "controls" }, filterIn, statusSel, groupSel, count, links), table,
      h("h2", {}, "Groups (as cleval report forms them: complete runs by configuration, over seeds)"), groupsBox);

    const cols = [
      { key: "sel", label: "", get: () => 0 },
      { key: "id", label: "run", get: (r) => r.id },
      { key: "status", label: "status", get: (r) => r.status, l: true },
      { key: "group", label: "group", get: (r) => r.group || 1e9, l: true },
      { key: "strategy", label: "strategy", get: (r) => r.strategy, l: true },
      { key: "preset", label: "preset", get: (r) => r.preset, l: true },
      { key: "seed", label: "seed", get: (r) => r.seed },
      { key: "iterations", label: "iters", get: (r) => r.iterations },
      { key: "started", label: "started", get: (r) => r.started_at, l: true },
      { key: "seconds", label: "time", get: (r) => r.seconds },
    ];
    const metricLabels = { acc: "ACC", min_acc: "min-ACC", wc_acc: "WC-ACC", forgetting_first: "forgetting", bwt: "BWT", gap_depth_mean: "gap depth" };

    function groupLabel(id) {
      const g = st.data.groups.find((g) => g.id === id);
      return g ? "[" + g.id + "] " + g.label : "";
    }
    function matches(r) {
      if (st.status && r.status !== st.status) return false;
      if (st.group && String(r.group) !== st.group) return false;
      if (!st.filter) return true;
      const hay = [r.id, r.status, r.strategy, r.preset, r.benchmark, "seed " + r.seed, groupLabel(r.group), r.config_group].join(" ").toLowerCase();
      return st.filter.split(/\s+/).every((w) => hay.includes(w));
    }
    function render() {
      const d = st.data;
      if (!d) return;
      const allCols = cols.concat(d.metrics.map((m) => ({ key: "m:" + m, label: metricLabels[m] || m, get: (r) => r.metrics[m] ?? -1e9, metric: m })));
      const col = allCols.find((c) => c.key === st.sort) || allCols[1];
      const rows = d.runs.filter(matches).sort((a, b) => {
        const x = col.get(a), y = col.get(b);
        const c = x < y ? -1 : x > y ? 1 : a.id - b.id;
        return st.desc ? -c : c;
      });
      count.textContent = rows.length + " of " + d.runs.length + " runs" + (st.selected.size ? ", " + st.selected.size + " selected" : "");
      const head = h("tr", {}, allCols.map((c) => {
        if (c.key === "sel") {
          const all = h("input", { type: "checkbox", title: "select the runs shown", onchange: (e) => { for (const r of rows) e.target.checked ? st.selected.add(r.id) : st.selected.delete(r.id); render(); } });
          all.checked = rows.length > 0 && rows.every((r) => st.selected.has(r.id));
          return h("th", {}, all);
        }
        return h("th", { class: "sort" + (c.l ? " l" : "") + (st.sort === c.key ? (st.desc ? " desc" : " asc") : ""), onclick: () => { if (st.sort === c.key) st.desc = !st.desc; else { st.sort = c.key; st.desc = false; } render(); } }, c.label);
      }));
      const body = h("tbody", {}, rows.map((r) => h("tr", { "data-run": r.id },
        h("td", {}, h("input", { type: "checkbox", checked: st.selected.has(r.id), onchange: (e) => { e.target.checked ? st.selected.add(r.id) : st.selected.delete(r.id); render(); } })),
        h("td", {}, h("a", { href: "#/run/" + r.id }, "#" + r.id)),
        h("td", { class: "l" }, statusBadge(r), " ", progressCell(r)),
        h("td", { class: "l" }, r.group ? h("a", { href: "#/compare?groups=" + r.group, title: "compare this group" }, groupLabel(r.group)) : h("span", { class: "small", title: "only complete runs form groups" }, "–")),
        h("td", { class: "l" }, r.strategy), h("td", { class: "l" }, r.preset || "–"), h("td", {}, r.seed), h("td", {}, r.iterations),
        h("td", { class: "l" }, new Date(r.started_at).toLocaleString()), h("td", {}, dur(r.seconds)),
        d.metrics.map((m) => h("td", {}, fmtMetric(m, r.metrics[m]))))));
      table.replaceChildren(h("thead", {}, head), body);
      const ids = [...st.selected].sort((a, b) => a - b);
      const groups = [...new Set(d.runs.filter((r) => st.selected.has(r.id) && r.group).map((r) => r.group))];
      links.replaceChildren(exportLinks(ids),
        h("a", { class: "button" + (groups.length ? "" : " disabled"), href: "#/compare?groups=" + groups.join(",") }, "Compare their groups"));
    }
    function renderGroups() {
      const d = st.data;
      const cur = groupSel.value;
      groupSel.replaceChildren(h("option", { value: "" }, "any group"), d.groups.map((g) => h("option", { value: String(g.id) }, "[" + g.id + "] " + g.label)));
      groupSel.value = cur;
      if (!d.groups.length) { groupsBox.replaceChildren(h("p", { class: "muted" }, "No complete runs yet.")); return; }
      groupsBox.replaceChildren(h("table", { class: "grid" },
        h("thead", {}, h("tr", {}, h("th", { class: "l" }, "group"), h("th", { class: "l" }, "benchmark"), h("th", {}, "seeds"), h("th", { class: "l" }, "runs"), h("th", { class: "l" }, "config"), h("th", {}))),
        h("tbody", {}, d.groups.map((g) => h("tr", {},
          h("td", { class: "l" }, "[" + g.id + "] " + g.label), h("td", { class: "l" }, g.benchmark), h("td", {}, g.seeds.length),
          h("td", { class: "l" }, g.runs.map((id) => h("a", { href: "#/run/" + id }, "#" + id + " "))),
          h("td", { class: "l small" }, g.config_group.slice(0, 10)),
          h("td", {}, h("a", { href: "#/compare?groups=" + g.id }, "compare")))))));
      if (d.skipped.length) groupsBox.append(h("p", { class: "small" }, "Not in groups: " + d.skipped.map((s) => "#" + s.ID + " (" + s.Reason + ")").join("; ")));
    }
    async function load() {
      try {
        st.data = await api("/api/runs");
        err.replaceChildren();
        render();
        renderGroups();
      } catch (e) { err.replaceChildren(errorBox(e)); }
    }
    load();
    const stop = every(() => info.poll_ms.runs, load);
    return { stop };
  }

  // ---- chart drawing helpers (uPlot hooks) ----
  function drawVLine(u, x, color, dash) {
    const cx = Math.round(u.valToPos(x, "x", true));
    if (cx < u.bbox.left || cx > u.bbox.left + u.bbox.width) return;
    const c = u.ctx;
    c.save(); c.strokeStyle = color; c.lineWidth = 1; c.setLineDash(dash || []);
    c.beginPath(); c.moveTo(cx, u.bbox.top); c.lineTo(cx, u.bbox.top + u.bbox.height); c.stroke(); c.restore();
  }
  function drawHLine(u, x0, x1, y, color, dash) {
    const c = u.ctx;
    const px0 = Math.max(u.bbox.left, u.valToPos(x0, "x", true)), px1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(x1, "x", true));
    if (px1 <= px0) return;
    const py = u.valToPos(y, "y", true);
    c.save(); c.strokeStyle = color; c.lineWidth = 1.2 * devicePixelRatio; c.setLineDash(dash || []);
    c.beginPath(); c.moveTo(px0, py); c.lineTo(px1, py); c.stroke(); c.restore();
  }

  // ---- Run view ----
  function runView(id) {
    setNav("runs");
    const st = { id, detail: null, variants: ["live"], range: null, series: null, last: -1, stopPoll: null, fetching: false, gapsOn: true, minOn: true, chartsFor: "", built: 0, stopped: false };
    const err = h("div");
    const head = h("div");
    const controls = h("div", { class: "controls" });
    const accBox = h("div", { class: "chart", id: "acc-chart" });
    const lossBox = h("div", { class: "chart", id: "loss-chart" });
    const note = h("div", { class: "legend-note", id: "chart-note" });
    const gapsBox = h("div");
    const matrixBox = h("div");
    const metricsBox = h("div");
    const configBox = h("div");
    main.replaceChildren(err, head, controls, h("div", { class: "charts" }, accBox, note, lossBox),
      h("h2", {}, "Stability gap per transition (stored gap metrics)"), gapsBox,
      h("div", { class: "cols" }, h("div", {}, h("h2", {}, "Accuracy matrix R(i, j)"), matrixBox), h("div", {}, h("h2", {}, "Metrics"), metricsBox)),
      h("h2", {}, "Configuration"), configBox);
    let accPlot = null, lossPlot = null;

    function expColor(k) { return color(k - 1); }
    function variantDash(v) { return v === "live" ? [] : [6, 4]; }

    function renderHead() {
      const d = st.detail, r = d.run;
      head.replaceChildren(
        h("h1", {}, "Run #" + r.id + " · " + r.strategy + (r.preset ? " · " + r.preset : "") + " · seed " + r.seed + " ", statusBadge(r)),
        h("div", { class: "small" }, progressCell(r), r.status !== "running" ? (r.iterations + " iterations · " + dur(r.seconds)) : "",
          " · " + r.benchmark + " · " + r.num_experiences + " experiences · group " + (r.group ? "[" + r.group + "]" : "–") +
          " · last evaluation at iteration ", h("span", { id: "last-iteration" }, String(st.last)),
          r.error ? h("span", { class: "error" }, " " + r.error) : null),
        exportLinks([r.id]));
    }
    function renderControls() {
      const d = st.detail;
      const kids = [];
      if (d.run.variants.length > 1) {
        kids.push(h("span", { class: "small" }, "variants:"));
        for (const v of d.run.variants) {
          kids.push(h("button", { class: "chip" + (st.variants.includes(v) ? " on" : ""), onclick: () => {
            st.variants = st.variants.includes(v) ? st.variants.filter((x) => x !== v) : d.run.variants.filter((x) => x === v || st.variants.includes(x));
            if (!st.variants.length) st.variants = ["live"];
            renderControls(); renderGaps(); renderMatrix(); renderMetrics(); fetchSeries(true);
          } }, v));
        }
      }
      kids.push(h("button", { class: st.range ? "" : "on", onclick: () => { st.range = null; fetchSeries(true); } }, "whole run"));
      for (const e of d.experiences) {
        if (e.exp < 2 || e.start === null) continue;
        const len = e.end !== null ? e.end - e.start : 50;
        const to = e.start + Math.max(10, Math.round(len / 4));
        kids.push(h("button", { class: "zoom" + (st.range && st.range[0] === Math.max(0, e.start - 5) ? " on" : ""), title: "zoom into the transition " + (e.exp - 1) + " → " + e.exp,
          onclick: () => { st.range = [Math.max(0, e.start - 5), to]; fetchSeries(true); } }, (e.exp - 1) + "→" + e.exp));
      }
      kids.push(h("label", {}, h("input", { type: "checkbox", checked: st.minOn, onchange: (e) => { st.minOn = e.target.checked; accPlot && accPlot.redraw(); } }), "min-ACC lines"));
      kids.push(h("label", {}, h("input", { type: "checkbox", checked: st.gapsOn, onchange: (e) => { st.gapsOn = e.target.checked; accPlot && accPlot.redraw(); } }), "troughs"));
      kids.push(h("span", { class: "small" }, "drag on a chart to zoom, double-click for the whole run"));
      controls.replaceChildren(...kids);
    }
    function renderGaps() {
      const d = st.detail;
      const gaps = d.gaps.filter((g) => st.variants.includes(g.variant));
      if (!gaps.length) {
        gapsBox.replaceChildren(h("p", { class: "muted" }, d.live ? "No transition has ended yet: the gap of a transition into experience j is known when j ends." : "No transitions."));
        return;
      }
      gapsBox.replaceChildren(d.live ? h("p", { class: "small", id: "gaps-live" }, "Running: the transitions that ended, computed from the records as they will be stored at the end; the min-ACC lines are the minimum so far.") : "",
        h("table", { class: "grid", id: "gaps-table" },
        h("thead", {}, h("tr", {}, ["variant", "transition", "exp", "boundary", "before", "trough", "depth", "time to trough", "r90", "recovery", ""].map((x, i) => h("th", { class: i < 3 ? "l" : "" }, x)))),
        h("tbody", {}, gaps.map((g) => h("tr", {},
          h("td", { class: "l" }, g.variant), h("td", { class: "l" }, (g.j - 1) + "→" + g.j), h("td", { class: "l" }, h("span", { class: "swatch", style: { background: expColor(g.k) } }), "exp " + g.k),
          h("td", {}, g.boundary), h("td", {}, pct(g.before)), h("td", {}, pct(g.trough)), h("td", {}, pct(g.depth)),
          h("td", {}, num(g.time_to_trough)), h("td", {}, num(g.r90)), h("td", {}, pct(g.recovery, 0) + (g.recovery !== null ? "%" : "")),
          h("td", {}, h("button", { onclick: () => {
            const e = d.experiences.find((e) => e.exp === g.j);
            const span = Math.max(20, Math.round(2 * ((g.r90 ?? g.time_to_trough ?? 20))));
            st.range = [Math.max(0, g.boundary - 5), Math.min(e && e.end !== null ? e.end : g.boundary + span, g.boundary + span)];
            fetchSeries(true);
          } }, "zoom")))))));
    }
    function renderMatrix() {
      const d = st.detail;
      const kids = [];
      for (const m of d.matrices) {
        if (!st.variants.includes(m.variant)) continue;
        const T = d.run.num_experiences;
        kids.push(h("table", { class: "grid heat", id: "matrix-" + m.variant },
          h("caption", { class: "small" }, m.variant + ": row i = model at the end of experience i (0: initial), column j = test set of experience j"),
          h("thead", {}, h("tr", {}, h("th", {}, "i \\ j"), Array.from({ length: T }, (_, j) => h("th", {}, j + 1)))),
          h("tbody", {}, m.acc.map((row, i) => h("tr", {}, h("th", {}, i), row.map((v) => {
            const td = h("td", { class: "cell" }, pct(v));
            if (v !== null) {
              const l = 97 - 55 * v;
              td.style.background = "hsl(210, 70%, " + l.toFixed(0) + "%)";
              td.style.color = l < 60 ? "#fff" : "#222";
            }
            return td;
          }))))));
      }
      matrixBox.replaceChildren(...(kids.length ? kids : [h("p", { class: "muted" }, "No accuracy matrix yet.")]));
    }
    function renderMetrics() {
      const d = st.detail;
      const ms = d.metrics.filter((m) => st.variants.includes(m.variant));
      if (!ms.length) { metricsBox.replaceChildren(h("p", { class: "muted" }, "Metrics are stored when the run completes.")); return; }
      metricsBox.replaceChildren(h("table", { class: "grid", id: "metrics-table" },
        h("thead", {}, h("tr", {}, h("th", { class: "l" }, "metric"), h("th", { class: "l" }, "variant"), h("th", {}, "value"))),
        h("tbody", {}, ms.map((m) => h("tr", {}, h("td", { class: "l" }, m.name), h("td", { class: "l" }, m.variant), h("td", {}, fmtMetric(m.name, m.value) + (isTime(m.name) ? " it" : m.value !== null ? " %" : "")))))));
    }
    function renderConfig() {
      const d = st.detail;
      configBox.replaceChildren(h("details", {}, h("summary", {}, "configuration JSON, key " + d.key + ", host " + d.host + ", cleval " + d.code_version),
        h("pre", { class: "config" }, JSON.stringify(d.config, null, 2))));
    }

    // The accuracy chart's decorations: boundaries, min-ACC lines, troughs.
    function decorate(u) {
      const d = st.detail;
      if (!d) return;
      const xmax = u.scales.x.max;
      for (const e of d.experiences) if (e.end !== null && e.exp < d.run.num_experiences) drawVLine(u, e.end, "#777", [3, 3]);
      if (st.minOn) {
        for (const m of d.min_acc) {
          if (!st.variants.includes(m.variant) || m.value === null) continue;
          const e = d.experiences.find((e) => e.exp === m.k);
          if (!e || e.end === null) continue;
          drawHLine(u, e.end, xmax, 100 * m.value, expColor(m.k), [7, 4]);
        }
      }
      if (st.gapsOn) {
        const c = u.ctx;
        c.save();
        c.font = (11 * devicePixelRatio) + "px system-ui, sans-serif";
        for (const g of d.gaps) {
          if (!st.variants.includes(g.variant) || g.trough === null || g.trough_iteration === null) continue;
          const px = u.valToPos(g.trough_iteration, "x", true), py = u.valToPos(100 * g.trough, "y", true);
          if (px < u.bbox.left || px > u.bbox.left + u.bbox.width) continue;
          c.strokeStyle = expColor(g.k); c.fillStyle = "#fff"; c.lineWidth = 2 * devicePixelRatio;
          c.beginPath(); c.arc(px, py, 4.5 * devicePixelRatio, 0, 2 * Math.PI); c.fill(); c.stroke();
          if (g.r90 !== null) {
            const rx = u.valToPos(g.boundary + g.r90, "x", true);
            if (rx >= u.bbox.left && rx <= u.bbox.left + u.bbox.width) {
              c.beginPath(); c.moveTo(rx, py - 6 * devicePixelRatio); c.lineTo(rx, py + 6 * devicePixelRatio); c.stroke();
            }
          }
          const zoomed = (u.scales.x.max - u.scales.x.min) < 4 * Math.max(20, g.r90 || 20);
          if (zoomed || d.gaps.length <= 10) {
            c.fillStyle = expColor(g.k);
            c.fillText("−" + pct(g.depth) + " @" + num(g.time_to_trough) + (g.r90 !== null ? " r90 " + num(g.r90) : ""), px + 6 * devicePixelRatio, py + 14 * devicePixelRatio);
          }
        }
        c.restore();
      }
    }

    function buildCharts(s) {
      const w = chartWidth(accBox);
      const accIdx = [], lossIdx = [];
      s.curves.forEach((c, i) => (c.kind === "acc" ? accIdx : lossIdx).push(i));
      const ser = (idxs, scale) => [{}].concat(idxs.map((i) => {
        const c = s.curves[i];
        return { label: (c.variant === "live" ? "" : c.variant + " ") + "exp " + c.exp, stroke: expColor(c.exp), width: 1.4, dash: variantDash(c.variant),
          spanGaps: true, points: { show: false }, value: (u, v) => v === null ? "–" : scale ? v.toFixed(1) : v.toFixed(3) };
      }));
      const sync = uPlot.sync("run" + st.id);
      const cursor = { sync: { key: sync.key }, drag: { x: true, y: false, setScale: false } };
      const selHook = (u) => {
        if (u.select.width < 5) return;
        const a = Math.floor(u.posToVal(u.select.left, "x")), b = Math.ceil(u.posToVal(u.select.left + u.select.width, "x"));
        u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
        st.range = [Math.max(0, a), Math.max(a + 1, b)];
        fetchSeries(true);
      };
      if (accPlot) accPlot.destroy();
      if (lossPlot) lossPlot.destroy();
      lossPlot = null;
      st.accIdx = accIdx; st.lossIdx = lossIdx;
      st.chartsFor = st.variants.join(",");
      accPlot = new uPlot({ title: "Accuracy on each experience (%)", width: w, height: 380, cursor, scales: { x: { time: false }, y: { range: [0, 100] } },
        axes: [itAxis, { label: "accuracy (%)" }], series: ser(accIdx, true),
        hooks: { draw: [decorate], setSelect: [selHook] } }, chartData(s, accIdx, true), accBox);
      accPlot.over.addEventListener("dblclick", () => { st.range = null; fetchSeries(true); });
      // The loss chart once the accuracy chart is on screen: in a task
      // after the next frame.
      const built = ++st.built;
      requestAnimationFrame(() => setTimeout(() => {
        if (built !== st.built || st.stopped) return;
        lossPlot = new uPlot({ title: "Evaluation loss on each experience (mean cross-entropy)", width: chartWidth(accBox), height: 230, cursor, scales: { x: { time: false } },
          axes: [itAxis, { label: "loss" }], series: ser(lossIdx, false), hooks: { setSelect: [selHook] } },
          chartData(st.series, lossIdx, false), lossBox);
        lossPlot.over.addEventListener("dblclick", () => { st.range = null; fetchSeries(true); });
        if (st.range) lossPlot.setScale("x", { min: st.range[0], max: st.range[1] });
      }, 0));
    }
    // chartData is the data of a chart of the curves idxs of s (in % when pct).
    function chartData(s, idxs, pct) {
      return [s.x].concat(idxs.map((i) => pct ? s.y[i].map((v) => v === null ? null : 100 * v) : s.y[i]));
    }
    function setCharts(s, fresh) {
      if (!fresh) {
        accPlot.setData(chartData(s, st.accIdx, true), true);
        if (lossPlot) lossPlot.setData(chartData(s, st.lossIdx, false), true);
      }
      if (st.range) {
        for (const u of [accPlot, lossPlot]) if (u) u.setScale("x", { min: st.range[0], max: st.range[1] });
      }
      accBox.dataset.points = String(s.x.length);
      accBox.dataset.last = String(st.last);
    }
    function showNote(s) {
      note.textContent = (s.downsampled ? "Downsampled to " + s.width + " pixel columns: each column keeps its first, lowest, highest and last point (never an average), so a one-point trough still shows. " : "Every evaluation point is drawn. ") +
        "Dotted: experience ends; dashed: final min-ACC of experience k from its end; circles: trough of each transition (depth @ time to trough), tick: r90.";
    }
    async function fetchSeries(full) {
      if (st.fetching) { st.refetch = true; return; }
      st.fetching = true;
      try {
        const w = chartWidth(accBox);
        let q = "/api/series?id=" + st.id + "&variants=" + encodeURIComponent(st.variants.join(",")) + "&width=" + w;
        if (st.range) q += "&from=" + st.range[0] + "&to=" + st.range[1];
        const s = await api(q);
        await uplotReady;
        st.series = s;
        st.last = Math.max(...Object.values(s.last));
        const fresh = !accPlot || st.chartsFor !== st.variants.join(",");
        if (fresh) buildCharts(s);
        setCharts(s, fresh);
        showNote(s);
        if (st.detail) renderControls();
        const el = document.getElementById("last-iteration");
        if (el) el.textContent = String(st.last);
        accBox.dataset.ready = "1";
      } catch (e) { err.replaceChildren(errorBox(e)); }
      st.fetching = false;
      if (st.refetch) { st.refetch = false; fetchSeries(true); }
    }
    // Live: append the points after the last one drawn.
    async function poll() {
      if (st.fetching || !st.series) return;
      const q = "/api/series?id=" + st.id + "&variants=" + encodeURIComponent(st.variants.join(",")) + "&after=" + st.last;
      const s = await api(q);
      if (s.reset) { await fetchSeries(true); return; }
      const newLast = Math.max(...Object.values(s.last));
      if (s.x.length && !st.fetching && st.series) {
        const cur = st.series;
        // Curves are in the same order (same variants): append.
        cur.x = cur.x.concat(s.x);
        cur.y = cur.y.map((y, i) => y.concat(s.y[i]));
        st.last = newLast;
        // Too many raw points appended: ask for the downsampled curves again.
        if (cur.x.length > 8 * cur.width) { await fetchSeries(true); } else { setCharts(cur); }
        const el = document.getElementById("last-iteration");
        if (el) el.textContent = String(st.last);
      }
      if (s.status !== "running") {
        // Finished: its metrics, gaps and matrix are stored now.
        await loadDetail();
        await fetchSeries(true);
        st.stopPoll && st.stopPoll();
        st.stopPoll = null;
      }
    }
    async function loadDetail() {
      st.detail = await api("/api/run?id=" + st.id);
      st.variants = st.variants.filter((v) => st.detail.run.variants.includes(v));
      if (!st.variants.length) st.variants = [st.detail.run.variants[0] || "live"];
      renderHead(); renderControls(); renderGaps(); renderMatrix(); renderMetrics(); renderConfig();
      accPlot && accPlot.redraw();
    }
    (async () => {
      try {
        // The run and its curves at once: the chart needs both.
        await Promise.all([loadDetail(), fetchSeries(true)]);
        if (st.detail.run.status === "running") {
          st.stopPoll = every(() => info.poll_ms.run, poll);
          // Progress and ETA: the run's details every few seconds.
          st.stopDetail = every(() => 5 * info.poll_ms.run, async () => { if (st.detail.run.status === "running") await loadDetail(); });
        }
      } catch (e) { err.replaceChildren(errorBox(e)); }
    })();
    const onResize = () => {
      if (!accPlot) return;
      const w = chartWidth(accBox);
      accPlot.setSize({ width: w, height: 380 });
      if (lossPlot) lossPlot.setSize({ width: w, height: 230 });
    };
    window.addEventListener("resize", onResize);
    return { stop() { st.stopped = true; st.stopPoll && st.stopPoll(); st.stopDetail && st.stopDetail(); window.removeEventListener("resize", onResize); accPlot && accPlot.destroy(); lossPlot && lossPlot.destroy(); } };
  }

  // ---- Compare view ----
  function compareView(query) {
    setNav("compare");
    const p = new URLSearchParams(query);
    const st = { groups: (p.get("groups") || "").split(",").filter(Boolean).map(Number), series: p.get("series") || "wc_acc", exp: Number(p.get("exp") || 1),
      a: p.get("a") || "", b: p.get("b") || "", all: null };
    const err = h("div");
    const controls = h("div");
    const chartBox = h("div", { class: "chart", id: "compare-chart" });
    const note = h("div", { class: "legend-note" });
    const tableBox = h("div");
    const compBox = h("div");
    main.replaceChildren(h("h1", {}, "Compare groups over seeds"), err, controls, chartBox, note,
      h("h2", {}, "Report (mean ± 95% CI half-width over seeds; n)"), tableBox, h("h2", {}, "Paired comparison"), compBox);
    let plot = null;
    function setHash() {
      const q = new URLSearchParams({ groups: st.groups.join(","), series: st.series });
      if (st.series === "acc") q.set("exp", st.exp);
      if (st.a && st.b) { q.set("a", st.a); q.set("b", st.b); }
      history.replaceState(null, "", "#/compare?" + q.toString());
    }
    function renderControls() {
      const groups = st.all.groups;
      const maxExp = Math.max(1, ...st.all.runs.filter((r) => r.group).map((r) => r.num_experiences));
      const opt = (v, label, cur) => { const o = h("option", { value: v }, label); if (String(cur) === String(v)) o.selected = true; return o; };
      controls.replaceChildren(
        h("div", { class: "chips" }, h("span", { class: "small" }, "groups:"), groups.map((g) => h("button", { class: "chip" + (st.groups.includes(g.id) ? " on" : ""), onclick: () => {
          st.groups = st.groups.includes(g.id) ? st.groups.filter((x) => x !== g.id) : st.groups.concat([g.id]).sort((a, b) => a - b);
          update();
        } }, "[" + g.id + "] " + g.label + " (" + g.seeds.length + " seeds)"))),
        h("div", { class: "controls" },
          h("label", {}, "curve", h("select", { id: "series-select", onchange: (e) => { st.series = e.target.value; update(); } },
            opt("wc_acc", "WC-ACC", st.series), opt("avg_acc", "average accuracy", st.series), opt("acc", "accuracy on experience k", st.series))),
          st.series === "acc" ? h("label", {}, "k", h("select", { onchange: (e) => { st.exp = Number(e.target.value); update(); } },
            Array.from({ length: maxExp }, (_, i) => opt(i + 1, String(i + 1), st.exp)))) : null,
          h("label", {}, "paired test A", h("select", { id: "a-select", onchange: (e) => { st.a = e.target.value; update(); } }, opt("", "–", st.a), st.groups.map((g) => opt(String(g), "[" + g + "]", st.a)))),
          h("label", {}, "B", h("select", { id: "b-select", onchange: (e) => { st.b = e.target.value; update(); } }, opt("", "–", st.b), st.groups.map((g) => opt(String(g), "[" + g + "]", st.b)))),
          exportLinks(groups.filter((g) => st.groups.includes(g.id)).flatMap((g) => g.runs).sort((a, b) => a - b),
            st.a && st.b ? groups.find((g) => g.id === Number(st.a))?.config_group : "", st.a && st.b ? groups.find((g) => g.id === Number(st.b))?.config_group : "")));
    }
    function draw(d) {
      // Join the groups' x on one axis.
      const xs = [...new Set(d.bands.flatMap((b) => b.x))].sort((a, b) => a - b);
      const pos = new Map(xs.map((x, i) => [x, i]));
      const data = [xs];
      const series = [{}];
      const bands = [];
      d.bands.forEach((b, gi) => {
        const mean = new Array(xs.length).fill(null), lo = new Array(xs.length).fill(null), hi = new Array(xs.length).fill(null);
        b.x.forEach((x, i) => { const p = pos.get(x); mean[p] = b.mean[i] === null ? null : 100 * b.mean[i]; lo[p] = b.lo[i] === null ? null : 100 * b.lo[i]; hi[p] = b.hi[i] === null ? null : 100 * b.hi[i]; });
        const c = color(b.group - 1);
        const base = data.length;
        data.push(hi, lo, mean);
        series.push({ label: "[" + b.group + "] +sd", stroke: "transparent", spanGaps: true, points: { show: false }, width: 0 },
          { label: "[" + b.group + "] −sd", stroke: "transparent", spanGaps: true, points: { show: false }, width: 0 },
          { label: "[" + b.group + "] " + b.label + " (" + b.seeds.length + " seeds)", stroke: c, width: 1.6, spanGaps: true, points: { show: false } });
        bands.push({ series: [base, base + 1], fill: c + "33" });
      });
      if (plot) plot.destroy();
      const title = st.series === "wc_acc" ? "WC-ACC" : st.series === "avg_acc" ? "Average accuracy over seen experiences" : "Accuracy on experience " + st.exp;
      plot = new uPlot({ title: title + " (%), mean ± sd over seeds", width: chartWidth(chartBox), height: 380, scales: { x: { time: false }, y: { range: [0, 100] } },
        axes: [itAxis, { label: "%" }], series, bands, cursor: { drag: { x: true, y: false } } }, data, chartBox);
      // The ± sd series only bound the bands: keep them out of the legend.
      plot.root.querySelectorAll(".u-legend .u-series").forEach((row, i) => { if (i > 0 && i % 3 !== 0) row.style.display = "none"; });
      chartBox.dataset.ready = "1";
      note.textContent = "Bands: mean ± sd over the seeds of each group at each evaluation point (downsampled per pixel column: the band spans the column's lowest and highest values).";
    }
    function renderReport(rep) {
      const groups = rep.groups;
      const stats = rep.stats.filter((s) => s.k === 0 && s.j === 0);
      const names = [...new Set(stats.map((s) => (s.variant === "live" ? "" : s.variant + ":") + s.metric))];
      const cell = (g, name) => {
        const s = stats.find((s) => s.group === g.id && ((s.variant === "live" ? "" : s.variant + ":") + s.metric) === name);
        if (!s || s.mean === null) return h("td", {}, "–");
        const f = (v) => isTime(s.metric) ? num(v, 1) : pct(v, 2);
        const hw = s.ci_low !== null && s.ci_high !== null ? " ± " + f((s.ci_high - s.ci_low) / 2) : "";
        return h("td", {}, f(s.mean) + hw + " (" + s.n + ")");
      };
      tableBox.replaceChildren(h("table", { class: "grid", id: "report-table" },
        h("thead", {}, h("tr", {}, h("th", { class: "l" }, "metric"), groups.map((g) => h("th", {}, "[" + g.id + "] " + g.label)))),
        h("tbody", {}, names.map((n) => h("tr", {}, h("td", { class: "l" }, n), groups.map((g) => cell(g, n)))))),
        h("p", { class: "small" }, "Accuracies in %, times in iterations. Groups are numbered within this report."));
      if (!rep.comparisons.length) { compBox.replaceChildren(h("p", { class: "muted" }, "Choose groups A and B above for a paired t-test over their shared seeds.")); return; }
      const c = rep.comparisons[0];
      const ga = groups.find((g) => g.id === c.a), gb = groups.find((g) => g.id === c.b);
      compBox.replaceChildren(h("p", {}, "A = [" + c.a + "] " + ga.label + ", B = [" + c.b + "] " + gb.label + "; paired over seeds " + c.seeds.join(", ") +
        (c.only_a.length ? "; only A: " + c.only_a.join(",") : "") + (c.only_b.length ? "; only B: " + c.only_b.join(",") : "")),
        h("table", { class: "grid", id: "paired-table" },
          h("thead", {}, h("tr", {}, ["metric", "n", "mean A − B", "95% CI", "t", "p"].map((x, i) => h("th", { class: i ? "" : "l" }, x)))),
          h("tbody", {}, c.rows.filter((r) => r.k === 0 && r.j === 0).map((r) => {
            const f = (v) => isTime(r.metric) ? num(v, 1) : pct(v, 2);
            return h("tr", {}, h("td", { class: "l" }, (r.variant === "live" ? "" : r.variant + ":") + r.metric), h("td", {}, r.n), h("td", {}, f(r.mean_diff)),
              h("td", {}, r.ci_low === null ? "–" : "[" + f(r.ci_low) + ", " + f(r.ci_high) + "]"), h("td", {}, num(r.t, 2)),
              h("td", { class: r.p !== null && r.p < 0.05 ? "sig" : "" }, r.p === null ? "–" : r.p < 0.001 ? r.p.toExponential(1) : r.p.toFixed(3)));
          }))));
    }
    async function update() {
      st.groups = st.groups.filter((g) => st.all.groups.some((x) => x.id === g));
      if (!st.groups.includes(Number(st.a))) st.a = "";
      if (!st.groups.includes(Number(st.b))) st.b = "";
      setHash();
      renderControls();
      if (!st.groups.length) { chartBox.replaceChildren(h("p", { class: "muted" }, st.all.groups.length ? "Choose groups above." : "No complete runs: groups form from complete runs.")); tableBox.replaceChildren(); compBox.replaceChildren(); return; }
      let q = "/api/compare?groups=" + st.groups.join(",") + "&series=" + st.series + "&width=" + chartWidth(chartBox);
      if (st.series === "acc") q += "&exp=" + st.exp;
      if (st.a && st.b && st.a !== st.b) q += "&a=" + st.a + "&b=" + st.b;
      try {
        const d = await api(q);
        await uplotReady;
        err.replaceChildren();
        draw(d);
        renderReport(d.report);
      } catch (e) { err.replaceChildren(errorBox(e)); }
    }
    (async () => {
      try {
        st.all = await api("/api/runs");
        if (!st.groups.length) st.groups = st.all.groups.slice(0, 4).map((g) => g.id);
        await update();
      } catch (e) { err.replaceChildren(errorBox(e)); }
    })();
    return { stop() { plot && plot.destroy(); } };
  }

  // ---- routing ----
  function route() {
    if (view) view.stop();
    const hash = location.hash || "#/runs";
    const [path, query] = hash.slice(1).split("?");
    let m;
    if ((m = path.match(/^\/run\/(\d+)$/))) view = runView(Number(m[1]));
    else if (path === "/compare") view = compareView(query || "");
    else view = runsView();
  }
  window.addEventListener("hashchange", route);
  // The script is deferred: the document is parsed when it runs. The view's
  // requests go out at once, beside /api/info: the first chart waits for
  // neither a round trip more nor uPlot's parsing.
  function start() {
    api("/api/info").then((i) => {
      info = i;
      document.getElementById("dbinfo").textContent = info.db + (info.version ? " · cleval " + info.version : "");
      if (info.immutable) {
        const b = document.getElementById("banner");
        b.textContent = "This database is read from a place cleval cannot write (read-only mount or directory): it was opened immutable, so changes made to it after cleval serve started are not shown. Restart cleval serve to see them.";
        b.classList.remove("hidden");
      }
    }, (e) => {
      if (view) view.stop();
      view = null;
      main.replaceChildren(errorBox(e));
    });
    route();
  }
  if (document.readyState === "loading") window.addEventListener("DOMContentLoaded", start);
  else start();
})();
