/**
 * The registry dashboard: one self-contained page (no asset from the internet) that polls
 * `/dashboard/state` once per heartbeat interval and redraws the table of live instances.
 * Kept as a string module so `tsc` ships it in dist without a copy step.
 */
export const dashboardPage = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Grantline registry</title>
<link rel="icon" href="data:,">
<style>
  :root {
    color-scheme: light dark;
    --bg: #f7f7f5; --fg: #1b1b1b; --muted: #555; --card: #fff; --line: #d8d8d3;
    --ok: #0b6b2f; --ok-bg: #dff3e4; --late: #8a4b00; --late-bg: #fdeccd; --accent: #1a56a6;
  }
  @media (prefers-color-scheme: dark) {
    :root {
      --bg: #141517; --fg: #ececec; --muted: #b0b0b0; --card: #1e2023; --line: #34373c;
      --ok: #8fe0a8; --ok-bg: #173523; --late: #ffcf86; --late-bg: #3d2b10; --accent: #8ab4ff;
    }
  }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         background: var(--bg); color: var(--fg); }
  header, main, footer { max-width: 72rem; margin: 0 auto; padding: 1rem 1.25rem; }
  header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: baseline; }
  h1 { font-size: 1.5rem; margin: 0; }
  header .meta { margin: 0; flex-basis: 100%; }
  h2 { font-size: 1.15rem; margin: 0 0 .5rem; display: flex; gap: .6rem; align-items: baseline; }
  .meta { color: var(--muted); font-size: .95rem; }
  .count { font-weight: 600; color: var(--muted); font-size: .95rem; }
  section { background: var(--card); border: 1px solid var(--line); border-radius: .5rem;
            padding: 1rem; margin-bottom: 1rem; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: .45rem .5rem; border-top: 1px solid var(--line); vertical-align: top; }
  th { font-size: .85rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); border-top: 0; }
  td.url { word-break: break-all; }
  a { color: var(--accent); }
  a:focus-visible, button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
  .badge { display: inline-block; padding: .05rem .5rem; border-radius: 1rem; font-size: .85rem; font-weight: 600; }
  .badge.live { color: var(--ok); background: var(--ok-bg); }
  .badge.late { color: var(--late); background: var(--late-bg); }
  .empty { color: var(--muted); margin: 0; }
  .visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
                     clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
  caption { text-align: left; }
  main[data-stale="true"] section { opacity: .6; }
  #status[data-state="error"] { color: var(--late); font-weight: 600; }
  @media (max-width: 40rem) {
    thead { display: none; }
    tr { display: block; border-top: 1px solid var(--line); padding: .4rem 0; }
    td { display: flex; gap: .75rem; border: 0; padding: .15rem 0; }
    td::before { content: attr(data-label); min-width: 7.5rem; color: var(--muted); font-size: .85rem; }
  }
</style>
</head>
<body>
<header>
  <h1>Grantline registry</h1>
  <p class="meta">Live service instances. Heartbeat every <span id="interval">–</span>;
    an instance is marked late after <span id="late-after">–</span> and dropped after
    <span id="ttl">–</span> of silence.</p>
  <p class="meta" id="status" data-state="loading">Loading…</p>
</header>
<main id="services" aria-busy="true" aria-describedby="status"></main>
<div id="announcer" class="visually-hidden" role="status" aria-live="polite"></div>
<footer class="meta">
  <a href="/docs">API documentation</a> · <a href="/openapi.json">OpenAPI document</a> ·
  <a href="/services">/services as JSON</a>
</footer>
<script>
(() => {
  // Updates the page in place, keyed by type and instance id: keyboard focus and text
  // selection survive each poll, and screen readers hear only what changed.
  const main = document.getElementById('services');
  const statusLine = document.getElementById('status');
  const announcer = document.getElementById('announcer');
  const sections = new Map(); // type -> { section, count, body, rows: Map(id -> row parts) }
  let delayMs = 1000;
  let firstRender = true;
  let empty = null;
  let reachable = true;

  const seconds = (ms) => ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + ' s';
  const age = (ms) => {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + ' s';
    const m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + (s % 60) + ' s';
    return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
  };
  const announce = (message) => { announcer.textContent = message; };
  const setText = (node, text) => { if (node.textContent !== text) node.textContent = text; };

  function cell(row, label, className) {
    const td = row.insertCell();
    td.dataset.label = label;
    if (className) td.className = className;
    return td;
  }

  function createSection(type) {
    const section = document.createElement('section');
    section.dataset.type = type;
    section.setAttribute('aria-labelledby', 'type-' + type);
    const heading = document.createElement('h2');
    heading.id = 'type-' + type;
    heading.textContent = type;
    const count = document.createElement('span');
    count.className = 'count';
    heading.append(' ', count);
    const table = document.createElement('table');
    const caption = table.createCaption();
    caption.className = 'visually-hidden';
    caption.textContent = 'Instances of ' + type;
    const head = table.createTHead().insertRow();
    for (const title of ['Instance', 'URL', 'Up for', 'Last heartbeat', 'State']) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = title;
      head.append(th);
    }
    section.append(heading, table);
    return { section, count, body: table.createTBody(), rows: new Map() };
  }

  function createRow(entry, instance) {
    const row = entry.body.insertRow();
    row.dataset.instanceId = instance.id;
    row.dataset.url = instance.url;
    const idCell = cell(row, 'Instance');
    const code = document.createElement('code');
    code.textContent = instance.id.slice(0, 8);
    code.title = instance.id;
    idCell.append(code);
    const link = document.createElement('a');
    link.href = instance.url + '/health';
    link.textContent = instance.url;
    cell(row, 'URL', 'url').append(link);
    const up = cell(row, 'Up for', 'up');
    const heard = cell(row, 'Last heartbeat', 'heard');
    const stateCell = cell(row, 'State', 'state');
    const badge = document.createElement('span');
    stateCell.append(badge);
    return { row, up, heard, stateCell, badge };
  }

  function render(state) {
    setText(document.getElementById('interval'), seconds(state.heartbeatIntervalMs));
    setText(document.getElementById('late-after'), seconds(Math.round(state.heartbeatIntervalMs * 1.5)));
    setText(document.getElementById('ttl'), seconds(state.ttlMs));
    const changes = [];
    const types = Object.keys(state.services).sort();

    for (const [type, entry] of sections) {
      if (types.includes(type)) continue;
      entry.section.remove();
      sections.delete(type);
      changes.push('no ' + type + ' instance is left');
    }
    let previous = null;
    for (const type of types) {
      const instances = state.services[type];
      let entry = sections.get(type);
      if (!entry) {
        entry = createSection(type);
        sections.set(type, entry);
      }
      // Keep sections in alphabetical order without moving ones already in place.
      const expectedNext = previous ? previous.nextSibling : main.firstChild;
      if (expectedNext !== entry.section) main.insertBefore(entry.section, expectedNext);
      previous = entry.section;
      setText(entry.count, instances.length + (instances.length === 1 ? ' instance' : ' instances'));

      const ids = new Set(instances.map((instance) => instance.id));
      for (const [id, parts] of entry.rows) {
        if (ids.has(id)) continue;
        parts.row.remove();
        entry.rows.delete(id);
        changes.push(type + ' instance ' + parts.row.dataset.url + ' left');
      }
      for (const instance of instances) {
        let parts = entry.rows.get(instance.id);
        if (!parts) {
          parts = createRow(entry, instance);
          entry.rows.set(instance.id, parts);
          changes.push(type + ' instance ' + instance.url + ' joined');
        }
        const silentMs = Math.max(0, state.now - Date.parse(instance.lastHeartbeatAt));
        const late = silentMs > state.heartbeatIntervalMs * 1.5;
        setText(parts.up, age(state.now - Date.parse(instance.registeredAt)));
        setText(parts.heard, seconds(silentMs) + ' ago');
        const mark = late ? 'late' : 'live';
        if (parts.stateCell.dataset.state !== mark) {
          if (parts.stateCell.dataset.state) changes.push(type + ' instance ' + instance.url + ' is ' + mark);
          parts.stateCell.dataset.state = mark;
          parts.row.dataset.state = mark;
          parts.badge.className = 'badge ' + mark;
          parts.badge.textContent = late ? 'late' : 'live';
        }
      }
    }

    if (types.length === 0 && !empty) {
      empty = document.createElement('p');
      empty.className = 'empty';
      empty.textContent = 'No service is registered right now.';
      main.append(empty);
    } else if (types.length > 0 && empty) {
      empty.remove();
      empty = null;
    }
    main.setAttribute('aria-busy', 'false');
    if (!firstRender && changes.length > 0) announce(changes.join('; ') + '.');
    firstRender = false;
  }

  async function poll() {
    try {
      const response = await fetch('/dashboard/state', { cache: 'no-store' });
      if (!response.ok) throw new Error('the registry answered ' + response.status);
      const state = await response.json();
      delayMs = state.heartbeatIntervalMs;
      render(state);
      if (!reachable) announce('The registry answers again.');
      reachable = true;
      main.dataset.stale = 'false';
      statusLine.dataset.state = 'ok';
      statusLine.textContent = 'Updated ' + new Date(state.now).toLocaleTimeString() + '.';
    } catch (error) {
      if (reachable) announce('Cannot reach the registry; the list may be out of date.');
      reachable = false;
      main.dataset.stale = 'true';
      statusLine.dataset.state = 'error';
      statusLine.textContent = 'Cannot reach the registry (' + error.message + '); retrying…';
    } finally {
      setTimeout(poll, delayMs);
    }
  }
  poll();
})();
</script>
</body>
</html>
`;
