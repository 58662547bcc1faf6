/* finlake dashboard: reads /v1/metrics/* with the caller's API key and draws inline SVG charts. */
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const REGION_COLORS = { NA: "#2563eb", EMEA: "#9333ea", APAC: "#ea580c", LATAM: "#0d9488" };
const MOVE_COLORS = {
  new_mrr_usd: "#16a34a", expansion_mrr_usd: "#65a30d", reactivation_mrr_usd: "#0891b2",
  transfer_mrr_usd: "#db2777", contraction_mrr_usd: "#f59e0b", churn_mrr_usd: "#dc2626",
};
const RETENTION_COLORS = { grr: "#b45309", nrr: "#4f46e5" };
const ACTUAL_REVENUE_COLOR = "#475569";
const H = 240, M = { l: 64, r: 12, t: 10, b: 28 };
let W = 560;

function el(tag, attrs, parent) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function num(v) { return v === null || v === undefined ? null : Number(v); }

function fmt(v) {
  const a = Math.abs(v);
  if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (a >= 1e3) return (v / 1e3).toFixed(1) + "k";
  if (a >= 100 || a === 0) return v.toFixed(0);
  return v.toFixed(2);
}

function frame(container, xs, ymin, ymax, banded) {
  container.textContent = "";
  W = Math.max(320, Math.round(container.clientWidth || 560));  // 1 SVG unit = 1 CSS pixel
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" }, container);
  if (ymin === ymax) { ymin -= 1; ymax += 1; }
  const pad = (ymax - ymin) * 0.05;
  ymin -= pad; ymax += pad;
  const n = Math.max(xs.length - 1, 1);
  const x = banded
    ? (i) => M.l + ((i + 0.5) / Math.max(xs.length, 1)) * (W - M.l - M.r)
    : (i) => M.l + (i / n) * (W - M.l - M.r);
  const y = (v) => M.t + (1 - (v - ymin) / (ymax - ymin)) * (H - M.t - M.b);
  for (let k = 0; k <= 4; k++) {
    const v = ymin + (k / 4) * (ymax - ymin);
    el("line", { x1: M.l, x2: W - M.r, y1: y(v), y2: y(v), stroke: "#eceff3" }, svg);
    el("text", { x: M.l - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 10, fill: "#666" }, svg)
      .textContent = fmt(v);
  }
  const step = Math.max(1, Math.ceil(xs.length / 6));
  xs.forEach((label, i) => {
    if (i % step === 0) {
      el("text", { x: x(i), y: H - 8, "text-anchor": "middle", "font-size": 10, fill: "#666" }, svg)
        .textContent = String(label).slice(0, 10);
    }
  });
  if (ymin < 0 && ymax > 0) el("line", { x1: M.l, x2: W - M.r, y1: y(0), y2: y(0), stroke: "#999" }, svg);
  return { svg, x, y };
}

function legend(container, items) {
  const div = document.createElement("div");
  div.className = "legend";
  for (const [name, color] of items) {
    const span = document.createElement("span");
    const i = document.createElement("i");
    i.style.background = color;
    span.append(i, name);
    div.appendChild(span);
  }
  container.appendChild(div);
}

function path(points) {
  return points.filter((p) => p[1] !== null).map((p, i) => `${i ? "L" : "M"}${p[0]},${p[1]}`).join(" ");
}

function lineChart(container, xs, series, bands) {
  const values = [];
  series.forEach((s) => s.values.forEach((v) => v !== null && values.push(v)));
  (bands || []).forEach((b) => b.lo.concat(b.hi).forEach((v) => v !== null && values.push(v)));
  if (!values.length) { container.textContent = "no data in range"; return 0; }
  const { svg, x, y } = frame(container, xs, Math.min(...values), Math.max(...values));
  for (const b of bands || []) {
    const upper = xs.map((_, i) => [x(i), b.hi[i] === null ? null : y(b.hi[i])]).filter((p) => p[1] !== null);
    const lower = xs.map((_, i) => [x(i), b.lo[i] === null ? null : y(b.lo[i])]).filter((p) => p[1] !== null).reverse();
    if (upper.length) el("path", { d: path(upper) + " " + path(lower).replace(/^M/, "L") + " Z", fill: b.color, class: "band" }, svg);
  }
  for (const s of series) {
    const pts = xs.map((_, i) => [x(i), s.values[i] === null ? null : y(s.values[i])]);
    if (s.dots) {
      pts.filter((p) => p[1] !== null).forEach((p) => el("circle", { cx: p[0], cy: p[1], r: 3.5, fill: s.color, class: "dot" }, svg));
    } else {
      el("path", { d: path(pts), fill: "none", stroke: s.color, "stroke-width": 2.5, class: "line" }, svg);
    }
  }
  legend(container, series.map((s) => [s.name, s.color]).concat((bands || []).map((b) => [b.name, b.color])));
  svg.dataset.points = String(values.length);
  return values.length;
}

function barChart(container, xs, stacks, line) {
  // stacks: [{name, color, values}] stacked up (positive) and down (negative) per x.
  const ups = xs.map(() => 0), downs = xs.map(() => 0);
  stacks.forEach((s) => s.values.forEach((v, i) => { if (v >= 0) ups[i] += v; else downs[i] += v; }));
  const values = ups.concat(downs, line ? line.values.filter((v) => v !== null) : []);
  if (!xs.length) { container.textContent = "no data in range"; return 0; }
  const { svg, x, y } = frame(container, xs, Math.min(0, ...values), Math.max(0, ...values), true);
  const bw = Math.max(3, ((W - M.l - M.r) / Math.max(xs.length, 1)) * 0.6);
  const up = xs.map(() => 0), down = xs.map(() => 0);
  let bars = 0;
  for (const s of stacks) {
    s.values.forEach((v, i) => {
      if (!v) return;
      const base = v >= 0 ? up[i] : down[i];
      const top = base + v;
      el("rect", { x: x(i) - bw / 2, y: y(Math.max(base, top)), width: bw, height: Math.max(1, Math.abs(y(base) - y(top))), fill: s.color, class: "bar" }, svg);
      if (v >= 0) up[i] = top; else down[i] = top;
      bars++;
    });
  }
  if (line) el("path", { d: path(xs.map((_, i) => [x(i), line.values[i] === null ? null : y(line.values[i])])), fill: "none", stroke: line.color, "stroke-width": 2, class: "line" }, svg);
  legend(container, stacks.map((s) => [s.name, s.color]).concat(line ? [[line.name, line.color]] : []));
  svg.dataset.points = String(bars);
  return bars;
}

/* ------------------------------------------------------------------ data */

function apiKey() {
  const m = location.hash.match(/key=([^&]+)/);
  if (m) {
    sessionStorage.setItem("finlake-key", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  const input = document.getElementById("api-key");
  if (input.value) sessionStorage.setItem("finlake-key", input.value);
  return sessionStorage.getItem("finlake-key") || "";
}

async function getJson(path, params) {
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v));
  const resp = await fetch(`${path}?${qs}`, { headers: { "X-API-Key": apiKey() } });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const detail = body.detail && body.detail.message ? body.detail.message : body.detail || resp.statusText;
    throw new Error(`${path}: ${resp.status} ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
  }
  return body;
}

function isoDay(d) { return d.toISOString().slice(0, 10); }

function pct(v) { return v === null || v === undefined ? null : 100 * Number(v); }

// Default range: a year up to the end of the latest forecast horizon (or of the data), so
// forecast vs actual is on screen at first load.
function defaultRange(ranges) {
  const lastActual = ranges.mrr.max || isoDay(new Date());
  const horizon = ranges.forecast && ranges.forecast.max;
  const end = horizon && horizon > lastActual ? horizon : lastActual;
  const d = new Date(lastActual); d.setUTCDate(d.getUTCDate() - 365);
  const min = ranges.mrr.min;
  return { start: min && min > isoDay(d) ? min : isoDay(d), end };
}

function dailyTotals(rows, column) {
  const byDay = new Map();
  rows.forEach((r) => byDay.set(r.period_start, (byDay.get(r.period_start) || 0) + num(r[column])));
  return byDay;
}

function renderProvenance(bodies) {
  const box = document.getElementById("provenance");
  box.textContent = "";
  const dq = bodies.find((b) => b && b.provenance)?.provenance.dq || { status: "unknown" };
  const p = document.createElement("p");
  const badge = document.createElement("span");
  badge.className = `badge ${dq.status}`;
  badge.id = "dq-badge";
  badge.textContent = `DQ ${dq.status}`;
  p.append(badge, ` ${dq.rules_failed ?? 0} of ${dq.rules_checked ?? 0} rules failed` + (dq.checked_at ? `, checked ${dq.checked_at}` : ""));
  box.appendChild(p);
  if (dq.failed_rules && dq.failed_rules.length) {
    const ul = document.createElement("ul");
    dq.failed_rules.forEach((r) => {
      const li = document.createElement("li");
      li.textContent = `${r.table_name}: ${r.rule_name} (${r.severity}, ${r.failed_rows} rows)`;
      ul.appendChild(li);
    });
    box.appendChild(ul);
  }
  const table = document.createElement("table");
  table.className = "prov";
  table.innerHTML = "<tr><th>table</th><th>Delta version</th><th>max date</th><th>last pipeline run</th></tr>";
  const seen = new Set();
  for (const b of bodies) {
    if (!b) continue;
    for (const [t, v] of Object.entries(b.provenance.tables)) {
      if (seen.has(t)) continue;
      seen.add(t);
      const tr = document.createElement("tr");
      const f = b.provenance.freshness.table === t ? b.provenance.freshness : {};
      [t, v ?? "—", f.max_date ?? "", f.last_pipeline_run_finished_at ?? ""].forEach((c) => {
        const td = document.createElement("td");
        td.textContent = c;
        tr.appendChild(td);
      });
      table.appendChild(tr);
    }
  }
  box.appendChild(table);
}

// Transfers between regions per month (they cancel out in the total, so each region is asked).
async function drawTransfers(months, regions, q) {
  const box = document.getElementById("chart-transfers");
  const answers = await Promise.allSettled(
    regions.map((reg) => getJson("/v1/metrics/mrr/movements", { start: q.start, end: q.end, region: reg })));
  const stacks = [];
  answers.forEach((a, i) => {
    if (a.status !== "fulfilled") return;
    const byMonth = new Map(a.value.data.map((r) => [r.month_start_date, num(r.transfer_mrr_usd)]));
    stacks.push({ name: regions[i], color: REGION_COLORS[regions[i]] || "#64748b", values: months.map((m) => byMonth.get(m) || 0) });
  });
  const bars = barChart(box, months, stacks);
  if (!bars) box.textContent = "no customer moved region in this range";
}

async function load() {
  const status = document.getElementById("status");
  status.className = "";
  status.textContent = "loading…";
  document.body.dataset.ready = "0";
  try {
    const dims = await getJson("/v1/metrics/dimensions", {});
    const regionSel = document.getElementById("region");
    if (regionSel.options.length === 1) {
      dims.data.regions.forEach((r) => regionSel.add(new Option(r, r)));
    }
    const startIn = document.getElementById("start"), endIn = document.getElementById("end");
    const range = defaultRange(dims.data.date_ranges);
    if (!endIn.value) endIn.value = range.end;
    if (!startIn.value) startIn.value = range.start;
    document.getElementById("controls").dataset.range = `${startIn.value}..${endIn.value}`;
    const region = regionSel.value || null;
    const q = { start: startIn.value, end: endIn.value, region };
    const settled = await Promise.allSettled([
      getJson("/v1/metrics/mrr", { ...q, grain: "month" }),
      getJson("/v1/metrics/mrr/movements", q),
      getJson("/v1/metrics/churn", q),
      getJson("/v1/metrics/revenue", { ...q, grain: "month" }),
      getJson("/v1/metrics/forecast", region ? { start: q.start, end: q.end, level: "region", key: region } : { start: q.start, end: q.end }),
      getJson("/v1/metrics/revenue", { ...q, grain: "day" }),
    ]);
    const [mrr, moves, churn, revenue, forecast, daily] = settled.map((s) => (s.status === "fulfilled" ? s.value : null));
    const errors = settled.filter((s) => s.status === "rejected").map((s) => s.reason.message);

    if (mrr) {
      const rows = mrr.data;
      lineChart(document.getElementById("chart-mrr"), rows.map((r) => r.period_start),
        [{ name: "MRR", color: "#2563eb", values: rows.map((r) => num(r.mrr_usd)) }]);
    }
    if (moves) {
      const rows = moves.data;
      barChart(document.getElementById("chart-movements"), rows.map((r) => r.month_start_date),
        Object.entries(MOVE_COLORS).map(([c, color]) => ({ name: c.replace("_mrr_usd", ""), color, values: rows.map((r) => num(r[c])) })),
        { name: "net change", color: "#1d2330", values: rows.map((r) => num(r.closing_mrr_usd) - num(r.opening_mrr_usd)) });
      await drawTransfers(rows.map((r) => r.month_start_date), region ? [region] : dims.data.regions, q);
    }
    if (churn) {
      const rows = region ? churn.data.by_region : churn.data.total;
      const months = rows.map((r) => r.month_start_date);
      lineChart(document.getElementById("chart-churn"), months,
        [{ name: "logo churn %", color: "#dc2626", values: rows.map((r) => pct(r.logo_churn_rate)) }]);
      lineChart(document.getElementById("chart-retention"), months, [
        { name: "GRR %", color: RETENTION_COLORS.grr, values: rows.map((r) => pct(r.grr)) },
        { name: "NRR %", color: RETENTION_COLORS.nrr, values: rows.map((r) => pct(r.nrr)) },
      ]);
    }
    if (revenue) {
      const periods = [...new Set(revenue.data.map((r) => r.period_start))];
      const regions = [...new Set(revenue.data.map((r) => r.region))];
      barChart(document.getElementById("chart-revenue"), periods, regions.map((reg) => ({
        name: reg, color: REGION_COLORS[reg] || "#64748b",
        values: periods.map((p) => num((revenue.data.find((r) => r.period_start === p && r.region === reg) || {}).net_revenue_usd) || 0),
      })));
    }
    if (forecast) {
      const f = forecast.data;
      const actualByDay = daily ? dailyTotals(daily.data, "net_revenue_usd") : new Map();
      const isRevenue = f.unique_id.startsWith("revenue/");
      const dates = [...new Set(f.forecast.map((r) => r.forecast_date)
        .concat(f.actual.map((r) => r.forecast_date))
        .concat(isRevenue ? [...actualByDay.keys()] : []))].sort();
      const at = (rows, d, c) => { const r = rows.find((x) => x.forecast_date === d); return r ? num(r[c]) : null; };
      document.getElementById("forecast-run").textContent = f.run_id
        ? `run ${f.run_id} (${f.model}, trained through ${f.as_of_date})` : "no forecast run yet: `finlake run forecast`";
      lineChart(document.getElementById("chart-forecast"), dates, [
        { name: "actual net revenue", color: ACTUAL_REVENUE_COLOR, values: dates.map((d) => (actualByDay.has(d) ? actualByDay.get(d) : null)) },
        { name: "forecast", color: "#1e40af", values: dates.map((d) => at(f.forecast, d, "point")) },
        { name: "actual vs forecast", color: "#dc2626", dots: true, values: dates.map((d) => at(f.actual, d, "actual")) },
      ], [
        { name: "95% interval", color: "#c7d7f5", lo: dates.map((d) => at(f.forecast, d, "lo_95")), hi: dates.map((d) => at(f.forecast, d, "hi_95")) },
        { name: "80% interval", color: "#93b4ec", lo: dates.map((d) => at(f.forecast, d, "lo_80")), hi: dates.map((d) => at(f.forecast, d, "hi_80")) },
      ]);
    }
    renderProvenance([mrr, moves, churn, revenue, forecast, daily, dims]);
    if (errors.length) {
      status.className = "error";
      status.textContent = errors.join(" · ");
    } else {
      const fr = mrr ? mrr.provenance.freshness : {};
      status.textContent = `data through ${fr.max_date ?? "?"}; last pipeline run ${fr.last_pipeline_run_finished_at ?? "unknown"}`;
    }
  } catch (err) {
    status.className = "error";
    status.textContent = err.message;
  }
  document.body.dataset.ready = "1";
}

document.getElementById("controls").addEventListener("submit", (e) => { e.preventDefault(); load(); });
if (apiKey()) load();
