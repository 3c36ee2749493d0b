/* The planner's workbench (accessibility app). Vanilla JS + Leaflet, served locally.
   Every text from the data is put into the page with textContent, never as HTML. */
"use strict";

const T = {
  de: {
    category: "Kategorie", name: "Name", minutes: "Min.", before: "vorher", after: "nachher",
    gain: "Gewinn", shares: "Anteile erreicht", changes: "Änderungen", undo: "Rückgängig",
    save: "Szenario speichern", report: "Bericht", best: "Beste nächste Standorte",
    best_run: "Berechnen", hint: "Klick auf die Karte: neuer Standort. Standort ziehen: verschieben. Standort anklicken: schließen.",
    add: "neu", remove: "geschlossen", move: "verschoben", close_site: "Diesen Standort schließen",
    proposed: "Vorschlag", visibility: "Sichtbarkeit", residents: "Einwohner (Minuten)",
    sites: "Standorte", newly: "neu erreicht", lost: "verlieren Erreichbarkeit",
    still: "weiter erreicht (anderer Standort)", unreachable: "nicht erreichbar",
    over: "über", computing: "rechne…", no_changes: "Noch keine Änderung.", add_this: "hinzufügen",
    persons: "Pers.", ms: "ms (Server)", all: "alle",
  },
  en: {
    category: "Category", name: "Name", minutes: "min", before: "before", after: "after",
    gain: "gain", shares: "Shares covered", changes: "Changes", undo: "Undo",
    save: "Save scenario", report: "Report", best: "Best next sites", best_run: "Compute",
    hint: "Click the map: new site. Drag a site: move it. Click a site: close it.",
    add: "new", remove: "closed", move: "moved", close_site: "Close this site",
    proposed: "Proposed", visibility: "visibility", residents: "Residents (minutes)",
    sites: "Sites", newly: "newly covered", lost: "lose coverage",
    still: "still covered (another site)", unreachable: "unreachable",
    over: "over", computing: "computing…", no_changes: "No change yet.", add_this: "add",
    persons: "pers.", ms: "ms (server)", all: "all",
  },
};
const PALETTE = ["#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#ff7f0e"];
const BANDS = ["#006837", "#66bd63", "#fee08b", "#f46d43"];

const S = {
  lang: "de", state: null, map: null, changes: { add: [], remove: [], move: {} }, history: [],
  siteMarkers: {}, proposedMarkers: [], result: null, seq: 0, pending: 0, cells: [], recoloured: [],
};

function t(key) { return (T[S.lang] || T.en)[key] || key; }
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function fmt(n) { return n === null || n === undefined ? "–" : Math.round(n).toLocaleString(S.lang === "de" ? "de-DE" : "en-GB"); }
function pct(x) { return x === null || x === undefined ? "–" : (100 * x).toFixed(1) + " %"; }
function catLabel(c) { const l = S.state.labels[c]; return l ? l[S.lang] : c; }
function catColor(c) { const i = S.state.categories.indexOf(c); return PALETTE[(i < 0 ? 0 : i) % PALETTE.length]; }
function status(text, ok) { const s = document.getElementById("status"); s.textContent = text || ""; s.className = ok ? "ok" : ""; }

function body() {
  return {
    add: S.changes.add.map(a => ({ lat: a.lat, lon: a.lon, category: a.category, name: a.name })),
    remove: S.changes.remove.slice(),
    move: Object.entries(S.changes.move).map(([id, p]) => ({ site_id: id, lat: p.lat, lon: p.lon })),
  };
}
function snapshot() { S.history.push(JSON.stringify(S.changes)); }

async function post(path, payload) {
  const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload), credentials: "same-origin" });
  if (!r.ok) {
    let msg = r.status + "";
    try { const j = await r.json(); msg = j.detail || msg; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return r;
}

function siteIcon(color, cls) {
  // static markup only; the colour comes from the fixed palette, never from the data
  return L.divIcon({ className: "site-icon " + (cls || ""), iconSize: [18, 18], iconAnchor: [9, 9], html: '<div style="background:' + color + '"></div>' });
}

function bandColor(x, over) {
  // colour of a resident by minutes (null: unreachable, or over the largest threshold if `over`)
  const m = S.state.minutes;
  if (x === null) return over ? BANDS[Math.min(m.length, BANDS.length - 1)] : "#888";
  let band = m.length;
  for (let j = 0; j < m.length; j++) { if (x <= m[j]) { band = j; break; } }
  return BANDS[Math.min(band, BANDS.length - 1)];
}

function drawResidents() {
  const r = S.state.residents, renderer = L.canvas({ padding: 0.3 });
  const layer = L.layerGroup();
  S.cells = [];
  for (let i = 0; i < r.lat.length; i++) {
    const mk = L.circleMarker([r.lat[i], r.lon[i]], { renderer, radius: 4, stroke: false, fillColor: bandColor(r.minutes[i], false), fillOpacity: 0.6, interactive: false }).addTo(layer);
    S.cells.push(mk);
  }
  return layer;
}

function recolour() {
  // back to the baseline colour, then the colour after the current changes
  const base = S.state.residents.minutes;
  for (const i of S.recoloured) S.cells[i].setStyle({ fillColor: bandColor(base[i], false) });
  S.recoloured = [];
  const rc = S.result && S.result.recolour;
  if (!rc) return;
  rc.index.forEach((i, k) => { S.cells[i].setStyle({ fillColor: bandColor(rc.minutes[k], true) }); });
  S.recoloured = rc.index.slice();
}

async function drawBands() {
  try {
    const r = await fetch("/api/isochrones", { credentials: "same-origin" });
    if (!r.ok) return;
    const gj = await r.json();
    const m = S.state.minutes;
    L.geoJSON(gj, {
      pane: "bands", interactive: false,
      style: f => ({ color: BANDS[Math.max(0, Math.min(m.indexOf(f.properties.minutes), BANDS.length - 1))], weight: 1, opacity: 0.6, fillOpacity: 0.12 }),
    }).addTo(S.bandsLayer);
    document.body.dataset.bands = String(gj.features.length);
  } catch (e) { /* the bands are a background layer: the page works without them */ }
}

function legend() {
  const c = L.control({ position: "bottomright" });
  c.onAdd = () => {
    const d = el("div", null, "legend");
    d.appendChild(el("b", t("residents")));
    const m = S.state.minutes;
    m.forEach((x, j) => { const row = el("div"); const i = el("i"); i.style.background = BANDS[Math.min(j, BANDS.length - 1)]; row.appendChild(i); row.appendChild(document.createTextNode("≤ " + x)); d.appendChild(row); });
    const over = el("div"); const i2 = el("i"); i2.style.background = BANDS[Math.min(m.length, BANDS.length - 1)]; over.appendChild(i2); over.appendChild(document.createTextNode(t("over") + " " + m[m.length - 1])); d.appendChild(over);
    for (const [key, color] of [["newly", "#2166ac"], ["lost", "#b2182b"], ["still", "#ff9900"]]) {
      const row = el("div"); const i = el("i"); i.style.background = color; row.appendChild(i); row.appendChild(document.createTextNode(t(key))); d.appendChild(row);
    }
    return d;
  };
  return c;
}

function sitePopup(site) {
  const d = el("div");
  d.appendChild(el("div", site.name, "popup-name"));
  d.appendChild(el("div", catLabel(site.category) + " · " + site.site_id));
  const closed = S.changes.remove.includes(site.site_id);
  if (!closed) {
    const b = el("button", t("close_site"), "close-site");
    b.type = "button";
    b.addEventListener("click", () => { S.map.closePopup(); closeSite(site.site_id); });
    d.appendChild(b);
  }
  return d;
}

function drawSites() {
  for (const site of S.state.sites) {
    const mk = L.marker([site.lat, site.lon], { icon: siteIcon(catColor(site.category)), draggable: true, title: site.name, keyboard: false });
    mk.bindPopup(() => sitePopup(site));
    mk.on("dragend", () => {
      const p = mk.getLatLng();
      snapshot();
      S.changes.move[site.site_id] = { lat: p.lat, lon: p.lng };
      S.changes.remove = S.changes.remove.filter(x => x !== site.site_id);
      refresh();
    });
    mk.addTo(S.sitesLayer);
    mk.getElement().dataset.siteId = site.site_id;
    S.siteMarkers[site.site_id] = mk;
  }
}

function closeSite(id) {
  snapshot();
  delete S.changes.move[id];
  if (!S.changes.remove.includes(id)) S.changes.remove.push(id);
  refresh();
}

function addSite(latlng) {
  snapshot();
  const cat = document.getElementById("category").value;
  const given = document.getElementById("new-name").value.trim();
  S.seq += 1;
  S.changes.add.push({ lat: latlng.lat, lon: latlng.lng, category: cat, name: given || (t("proposed") + " " + S.seq) });
  refresh();
}

function syncMarkers() {
  // existing sites: position (moved or not) and closed state
  for (const site of S.state.sites) {
    const mk = S.siteMarkers[site.site_id];
    const mv = S.changes.move[site.site_id];
    mk.setLatLng(mv ? [mv.lat, mv.lon] : [site.lat, site.lon]);
    const closed = S.changes.remove.includes(site.site_id);
    mk.setIcon(siteIcon(catColor(site.category), closed ? "closed" : ""));
    mk.getElement().dataset.siteId = site.site_id;
    mk.getElement().classList.toggle("is-closed", closed);
  }
  // proposed sites: redraw
  S.proposedMarkers.forEach(m => S.proposedLayer.removeLayer(m));
  S.proposedMarkers = S.changes.add.map((a, i) => {
    const mk = L.marker([a.lat, a.lon], { icon: siteIcon(catColor(a.category), "proposed"), draggable: true, title: a.name, keyboard: false });
    mk.bindPopup(() => { const d = el("div"); d.appendChild(el("div", a.name, "popup-name")); d.appendChild(el("div", catLabel(a.category))); return d; });
    mk.on("dragend", () => { const p = mk.getLatLng(); snapshot(); S.changes.add[i].lat = p.lat; S.changes.add[i].lon = p.lng; refresh(); });
    mk.addTo(S.proposedLayer);
    mk.getElement().dataset.proposed = String(i);
    return mk;
  });
}

function renderChanges() {
  const ol = document.getElementById("changes");
  ol.replaceChildren();
  const vis = (S.result && S.result.visibility) || [];
  S.changes.add.forEach((a, i) => {
    const li = el("li", null, "change add");
    li.appendChild(el("span", "+ " + a.name + " (" + catLabel(a.category) + ", " + t("add") + ")", "what"));
    if (vis[i]) li.appendChild(el("span", " · " + t("visibility") + " " + vis[i].visibility.toFixed(2), "vis"));
    ol.appendChild(li);
  });
  const byId = Object.fromEntries(S.state.sites.map(s => [s.site_id, s]));
  S.changes.remove.forEach(id => ol.appendChild(el("li", "× " + (byId[id] ? byId[id].name : id) + " (" + t("remove") + ")", "change remove")));
  Object.keys(S.changes.move).forEach(id => ol.appendChild(el("li", "→ " + (byId[id] ? byId[id].name : id) + " (" + t("move") + ")", "change move")));
  if (!ol.children.length) ol.appendChild(el("li", t("no_changes"), "none"));
}

function renderTable() {
  const tb = document.querySelector("#shares tbody");
  tb.replaceChildren();
  const rows = S.result ? S.result.summary : S.state.baseline.map(r => ({ category: r.category, minutes: r.minutes, population_covered_before: r.population_covered, population_covered_after: r.population_covered, gain: 0, population: r.population, share_before: r.share_covered, share_after: r.share_covered }));
  for (const r of rows) {
    const tr = el("tr");
    tr.dataset.category = r.category; tr.dataset.minutes = String(r.minutes);
    tr.appendChild(el("td", r.category === "all" ? t("all") : catLabel(r.category)));
    tr.appendChild(el("td", r.minutes));
    const b = el("td", pct(r.share_before), "before"); b.title = fmt(r.population_covered_before) + " " + t("persons"); tr.appendChild(b);
    const a = el("td", pct(r.share_after), "after"); a.title = fmt(r.population_covered_after) + " " + t("persons"); tr.appendChild(a);
    const g = el("td", (r.gain > 0 ? "+" : "") + fmt(r.gain), "gain" + (r.gain > 0 ? " up" : r.gain < 0 ? " down" : ""));
    g.dataset.gain = String(r.gain);
    tr.appendChild(g);
    tb.appendChild(tr);
  }
}

function drawResult() {
  recolour();
  S.resultLayer.clearLayers();
  if (!S.result) return;
  const style = (color, radius) => (f, ll) => L.circleMarker(ll, { radius, color, weight: 2, fillColor: color, fillOpacity: 0.7 });
  const popup = (f, layer) => {
    const p = f.properties, d = el("div");
    d.appendChild(el("div", fmt(p.population) + " " + t("persons")));
    d.appendChild(el("div", t("before") + ": " + (p.minutes_before === null ? "–" : p.minutes_before.toFixed(1)) + " · " + t("after") + ": " + (p.minutes_after === null ? "–" : p.minutes_after.toFixed(1))));
    layer.bindPopup(d);
  };
  L.geoJSON(S.result.still_covered, { pointToLayer: style("#ff9900", 5), onEachFeature: popup }).addTo(S.resultLayer);
  L.geoJSON(S.result.lost, { pointToLayer: style("#b2182b", 6), onEachFeature: popup }).addTo(S.resultLayer);
  L.geoJSON(S.result.newly_covered, { pointToLayer: style("#2166ac", 6), onEachFeature: popup }).addTo(S.resultLayer);
}

async function refresh() {
  syncMarkers();
  renderChanges();
  const b = body();
  const empty = !b.add.length && !b.remove.length && !b.move.length;
  const ticket = ++S.pending;
  if (empty) { S.result = null; renderTable(); drawResult(); document.body.dataset.ready = String(ticket); status(""); return; }
  status(t("computing"), true);
  try {
    const t0 = performance.now();
    const r = await post("/api/scenario", b);
    const j = await r.json();
    if (ticket !== S.pending) return; // a newer change is on its way
    S.result = j;
    document.getElementById("timing").textContent = Math.round(performance.now() - t0) + " ms";
    status("", true);
  } catch (e) {
    if (ticket !== S.pending) return;
    status(e.message);
    // the change was refused: take it back
    if (S.history.length) S.changes = JSON.parse(S.history.pop());
    syncMarkers();
  }
  renderTable(); renderChanges(); drawResult();
  document.body.dataset.ready = String(ticket);
}

async function download(path, name) {
  try {
    const r = await post(path, body());
    const blob = await r.blob();
    const a = el("a");
    a.href = URL.createObjectURL(blob); a.download = name;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } catch (e) { status(e.message); }
}

async function best() {
  const k = document.getElementById("best-k").value || 5;
  const ol = document.getElementById("best-list");
  ol.replaceChildren(el("li", t("computing")));
  try {
    // ranked against the current state: the sites after the changes made so far
    const r = await post("/api/best?k=" + encodeURIComponent(k), body());
    const rows = await r.json();
    ol.replaceChildren();
    for (const row of rows) {
      const li = el("li");
      li.appendChild(el("span", row.name + ": +" + fmt(row.gain) + " (" + S.state.minutes[0] + " " + t("minutes") + ")" + (row.visibility !== undefined && row.visibility !== null ? ", " + t("visibility") + " " + row.visibility.toFixed(2) : "")));
      const b = el("button", t("add_this")); b.type = "button";
      b.addEventListener("click", () => addSite(L.latLng(row.lat, row.lon)));
      li.appendChild(document.createTextNode(" ")); li.appendChild(b);
      ol.appendChild(li);
    }
  } catch (e) { ol.replaceChildren(); status(String(e.message || e)); }
}

function setLang(lang) {
  S.lang = lang;
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-t]").forEach(e => { e.textContent = t(e.dataset.t); });
  document.querySelectorAll("#langs button").forEach(b => b.classList.toggle("on", b.dataset.lang === lang));
  const sel = document.getElementById("category"), keep = sel.value;
  sel.replaceChildren();
  for (const c of S.state.categories) { const o = el("option", catLabel(c)); o.value = c; sel.appendChild(o); }
  if (keep) sel.value = keep;
  if (S.legend) S.legend.remove();
  S.legend = legend().addTo(S.map);
  renderTable(); renderChanges();
}

async function main() {
  const r = await fetch("/api/state", { credentials: "same-origin" });
  S.state = await r.json();
  document.getElementById("title").textContent = S.state.name;
  document.title = S.state.name + " – workbench";
  document.getElementById("attribution").textContent = (S.state.attribution || []).join(" · ");
  S.map = L.map("map", { preferCanvas: true });
  S.map.fitBounds(S.state.bounds);
  const osm = L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", { maxZoom: 19, attribution: "© OpenStreetMap contributors" }).addTo(S.map);
  S.residentsLayer = drawResidents().addTo(S.map);
  S.resultLayer = L.layerGroup().addTo(S.map);
  S.sitesLayer = L.layerGroup().addTo(S.map);
  S.proposedLayer = L.layerGroup().addTo(S.map);
  drawSites();
  // the baseline's walking bands (isochrones of all sites), below the residents; toggleable
  S.map.createPane("bands"); S.map.getPane("bands").style.zIndex = 350;
  S.bandsLayer = L.layerGroup().addTo(S.map);
  L.control.layers({ OpenStreetMap: osm }, { "bands": S.bandsLayer, "residents": S.residentsLayer, "changes": S.resultLayer, "sites": S.sitesLayer, "proposed": S.proposedLayer }, { collapsed: true }).addTo(S.map);
  drawBands();
  S.map.on("click", e => addSite(e.latlng));
  document.querySelectorAll("#langs button").forEach(b => b.addEventListener("click", () => setLang(b.dataset.lang)));
  document.getElementById("undo").addEventListener("click", () => { if (S.history.length) { S.changes = JSON.parse(S.history.pop()); refresh(); } });
  document.getElementById("save").addEventListener("click", () => download("/api/scenario.yaml", "scenario.yaml"));
  document.getElementById("report").addEventListener("click", () => download("/api/report?lang=" + S.lang, "report.html"));
  document.getElementById("best-run").addEventListener("click", best);
  setLang(S.state.lang || "de");
  document.body.dataset.ready = "0";
  if (S.state.initial) {
    // the scenario file's changes: the first entries of the list (undo takes them back)
    const i = S.state.initial;
    S.changes.add = i.add.map(a => ({ lat: a.lat, lon: a.lon, category: a.category, name: a.name }));
    S.changes.remove = i.remove.slice();
    i.move.forEach(m => { S.changes.move[m.site_id] = { lat: m.lat, lon: m.lon }; });
    S.history.push(JSON.stringify({ add: [], remove: [], move: {} }));
    refresh();
  }
}

main().catch(e => status(String(e)));
