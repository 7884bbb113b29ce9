// The node dashboard: asks the admin listener where the stats feed is
// (/dashboard/feed: the public URL, the channel, a short-lived token),
// subscribes to it over the node's public SSE, and draws each message.
"use strict";

const $ = (id) => document.getElementById(id);
const series = { pub: [], del: [] };
const maxPoints = 120;
let source = null;
let renew = null;

function fmt(n) {
  if (n >= 1e9) return (n / 1e9).toFixed(1) + "G";
  if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return Math.round(n).toLocaleString("en");
}

function bytes(n) {
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + " " + units[i] + "/s";
}

function setState(state, text) {
  const el = $("state");
  el.dataset.state = state;
  el.textContent = text || state;
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function render(m) {
  $("total").textContent = fmt(m.total);
  $("ready").textContent = m.draining ? "draining" : (m.ready ? "ready" : "not ready");
  $("pub-rate").textContent = fmt(m.pub_rate);
  $("del-rate").textContent = fmt(m.del_rate);
  $("published").textContent = fmt(m.published);
  $("delivered").textContent = fmt(m.delivered);
  $("subs").textContent = fmt(m.subs);
  $("channels").textContent = fmt(m.channels);
  $("slow").textContent = fmt(m.slow);
  $("slow-rate").textContent = m.slow_rate.toFixed(1);
  $("out-rate").textContent = bytes(m.out_rate);
  $("refused").textContent = fmt(m.refused);
  $("updated").textContent = "updated " + new Date(m.t).toLocaleTimeString("en-GB");
  document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);

  const tb = $("transports").tBodies[0];
  tb.replaceChildren();
  for (const [name, n] of Object.entries(m.conns).sort()) {
    const tr = document.createElement("tr");
    tr.id = "conns-" + name;
    cell(tr, name);
    cell(tr, fmt(n), "num");
    tb.appendChild(tr);
  }

  const top = $("top").tBodies[0];
  top.replaceChildren();
  const most = m.top.length ? m.top[0].subs : 1;
  for (const c of m.top) {
    const tr = document.createElement("tr");
    cell(tr, c.ch);
    cell(tr, fmt(c.subs), "num");
    const bar = cell(tr, "", "bar");
    const span = document.createElement("span");
    span.style.width = Math.max(2, (100 * c.subs) / most) + "%";
    bar.appendChild(span);
    top.appendChild(tr);
  }

  series.pub.push(m.pub_rate);
  series.del.push(m.del_rate);
  if (series.pub.length > maxPoints) { series.pub.shift(); series.del.shift(); }
  draw();
}

function draw() {
  const c = $("chart");
  const ratio = window.devicePixelRatio || 1;
  c.width = c.clientWidth * ratio;
  c.height = c.clientHeight * ratio;
  const g = c.getContext("2d");
  g.scale(ratio, ratio);
  const w = c.clientWidth, h = c.clientHeight;
  g.clearRect(0, 0, w, h);
  const top = Math.max(1, ...series.pub, ...series.del) * 1.1;
  g.strokeStyle = "#263140";
  g.fillStyle = "#8b98a5";
  g.font = "11px system-ui";
  for (let i = 0; i <= 4; i++) {
    const y = h - (h - 14) * (i / 4) - 1;
    g.beginPath(); g.moveTo(0, y); g.lineTo(w, y); g.stroke();
    g.fillText(fmt((top * i) / 4), 4, y - 3);
  }
  const line = (pts, color) => {
    g.strokeStyle = color;
    g.lineWidth = 2;
    g.beginPath();
    pts.forEach((v, i) => {
      const x = w - (pts.length - 1 - i) * (w / (maxPoints - 1));
      const y = h - 1 - (h - 14) * (v / top);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  };
  line(series.del, "#3fb950");
  line(series.pub, "#58a6ff");
}

async function start() {
  clearTimeout(renew);
  if (source) { source.close(); source = null; }
  let cfg;
  try {
    const res = await fetch("/dashboard/feed", { cache: "no-store", credentials: "same-origin" });
    if (!res.ok) throw new Error("HTTP " + res.status);
    cfg = await res.json();
  } catch (err) {
    setState("offline", "admin listener unreachable");
    setTimeout(start, 3000);
    return;
  }
  $("channel").textContent = cfg.channel;
  if (cfg.off) {
    setState("off", "feed off");
    const n = $("notice");
    n.textContent = cfg.off;
    n.hidden = false;
    return;
  }
  const url = new URL("/sse", cfg.url);
  url.searchParams.append("ch", cfg.channel);
  if (cfg.token) url.searchParams.set("token", cfg.token);
  source = new EventSource(url);
  source.onopen = () => setState("live");
  source.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    if (m.op === "msg" && m.data) render(m.data);
    if (m.op === "close") start();
  };
  source.onerror = () => {
    setState("connecting", "reconnecting");
    if (source.readyState === EventSource.CLOSED) setTimeout(start, 2000);
  };
  // Reconnect with a fresh token a little before this one expires; the
  // stream's cursor is not needed, every message is a whole snapshot.
  if (cfg.expires) renew = setTimeout(start, Math.max(5000, cfg.expires - Date.now() - 30000));
}

window.addEventListener("resize", draw);
start();
