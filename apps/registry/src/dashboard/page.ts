/**
 * The registry dashboard: one self-contained page (no asset from the internet). It watches
 * `/dashboard/state?index=&wait=` so a registration or a departure shows at once, and re-reads
 * the state about once per heartbeat interval for ages and late marks. One collapsible section
 * per type; a large type starts collapsed and shows at most a few hundred rows at a time, and
 * a filter finds instances by URL, id or type: usable with 10,000 instances.
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
  .tools { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; flex-basis: 100%; }
  .tools label { font-weight: 600; }
  .tools input { font: inherit; padding: .3rem .5rem; border: 1px solid var(--line); border-radius: .3rem;
                 background: var(--card); color: var(--fg); min-width: 16rem; max-width: 100%; }
  summary { cursor: pointer; list-style-position: outside; }
  summary h2 { display: inline-flex; margin: 0; }
  details[open] summary { margin-bottom: .5rem; }
  .late-count { color: var(--late); font-weight: 600; font-size: .95rem; }
  .more { color: var(--muted); margin: .5rem 0 0; }
  section[hidden] { display: none; }
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
  <div class="tools">
    <label for="filter">Filter</label>
    <input id="filter" type="search" placeholder="URL, id or type" autocomplete="off" aria-describedby="totals">
    <span class="meta" id="totals"></span>
  </div>
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
  // selection survive each update, and screen readers hear only what changed. Rows exist only
  // for open sections, and at most MAX_ROWS of them per type, so 10,000 instances stay usable.
  const MAX_ROWS = 200;
  const OPEN_UP_TO = 50; // a type with more instances starts collapsed
  const main = document.getElementById('services');
  const statusLine = document.getElementById('status');
  const announcer = document.getElementById('announcer');
  const filterInput = document.getElementById('filter');
  const totals = document.getElementById('totals');
  // type -> { section, details, count, lateCount, body, more, rows: Map(id -> row parts), ids: Set, userOpen }
  const sections = new Map();
  let lastState = null;
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
  const plural = (n, word) => n.toLocaleString('en-US') + ' ' + word + (n === 1 ? '' : 's');
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
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    const heading = document.createElement('h2');
    heading.id = 'type-' + type;
    heading.textContent = type;
    const count = document.createElement('span');
    count.className = 'count';
    const lateCount = document.createElement('span');
    lateCount.className = 'late-count';
    heading.append(' ', count, ' ', lateCount);
    summary.append(heading);
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
    const more = document.createElement('p');
    more.className = 'more';
    more.hidden = true;
    details.append(summary, table, more);
    section.append(details);
    const entry = { section, details, count, lateCount, body: table.createTBody(), more, rows: new Map(), ids: null, userOpen: undefined, pageOpen: false };
    // A toggle by the user sticks; the page's own opening (filter, size) is not a choice.
    // (The toggle event comes later, so the page remembers what it set last.)
    details.addEventListener('toggle', () => {
      if (details.open === entry.pageOpen) return;
      entry.userOpen = details.open;
      if (lastState) render(lastState);
    });
    return entry;
  }

  function createRow(entry, instance) {
    const row = document.createElement('tr');
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

  const matches = (type, instance, needle) =>
    !needle || type.includes(needle) || instance.url.toLowerCase().includes(needle) || instance.id.includes(needle);

  function render(state) {
    lastState = state;
    setText(document.getElementById('interval'), seconds(state.heartbeatIntervalMs));
    setText(document.getElementById('late-after'), seconds(Math.round(state.heartbeatIntervalMs * 1.5)));
    setText(document.getElementById('ttl'), seconds(state.ttlMs));
    const needle = filterInput.value.trim().toLowerCase();
    const lateAfterMs = state.heartbeatIntervalMs * 1.5;
    const isLate = (instance) => state.now - Date.parse(instance.lastHeartbeatAt) > lateAfterMs;
    const joined = [];
    const left = [];
    const types = Object.keys(state.services).sort();
    let total = 0;
    let shown = 0;

    for (const [type, entry] of sections) {
      if (types.includes(type)) continue;
      entry.section.remove();
      sections.delete(type);
      left.push('no ' + type + ' instance is left');
    }
    let previous = null;
    for (const type of types) {
      const instances = state.services[type];
      total += instances.length;
      let entry = sections.get(type);
      if (!entry) {
        entry = createSection(type);
        sections.set(type, entry);
      }
      // Keep sections in alphabetical order without moving ones already in place.
      const expectedNext = previous ? previous.nextSibling : main.firstChild;
      if (expectedNext !== entry.section) main.insertBefore(entry.section, expectedNext);
      previous = entry.section;

      // Who joined and who left, from the ids: cheap, and right for collapsed sections too.
      const ids = new Set(instances.map((instance) => instance.id));
      if (entry.ids) {
        for (const instance of instances) if (!entry.ids.has(instance.id)) joined.push(type + ' instance ' + instance.url + ' joined');
        for (const [id, parts] of entry.rows) if (!ids.has(id)) left.push(type + ' instance ' + parts.row.dataset.url + ' left');
        const unseen = [...entry.ids].filter((id) => !ids.has(id) && !entry.rows.has(id)).length;
        if (unseen > 0) left.push(plural(unseen, type + ' instance') + ' left');
      }
      entry.ids = ids;

      const lateTotal = instances.reduce((n, instance) => n + (isLate(instance) ? 1 : 0), 0);
      setText(entry.count, plural(instances.length, 'instance'));
      setText(entry.lateCount, lateTotal > 0 ? lateTotal.toLocaleString('en-US') + ' late' : '');
      const matching = needle ? instances.filter((instance) => matches(type, instance, needle)) : instances;
      entry.section.hidden = matching.length === 0;
      shown += matching.length;
      const open = needle ? matching.length > 0 && entry.userOpen !== false : entry.userOpen ?? instances.length <= OPEN_UP_TO;
      if (entry.details.open !== open) {
        entry.pageOpen = open;
        entry.details.open = open;
      }
      const visible = open ? matching.slice(0, MAX_ROWS) : [];
      renderRows(entry, visible, state, isLate);
      const hiddenCount = open ? matching.length - visible.length : 0;
      entry.more.hidden = hiddenCount === 0;
      setText(entry.more, hiddenCount > 0 ? 'Showing ' + visible.length + ' of ' + matching.length.toLocaleString('en-US') + '; type in the filter to find others.' : '');
    }

    setText(totals, needle ? shown.toLocaleString('en-US') + ' of ' + plural(total, 'instance') + ' match' : plural(total, 'instance') + ' in ' + plural(types.length, 'type'));
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
    const changes = joined.concat(left);
    if (!firstRender && changes.length > 0) {
      announce(changes.length <= 5 ? changes.join('; ') + '.' : plural(joined.length, 'instance') + ' joined and ' + left.length + ' left.');
    }
    firstRender = false;
  }

  function renderRows(entry, instances, state, isLate) {
    const wanted = new Set(instances.map((instance) => instance.id));
    for (const [id, parts] of entry.rows) {
      if (wanted.has(id)) continue;
      parts.row.remove();
      entry.rows.delete(id);
    }
    let previousRow = null;
    for (const instance of instances) {
      let parts = entry.rows.get(instance.id);
      if (!parts) {
        parts = createRow(entry, instance);
        entry.rows.set(instance.id, parts);
      }
      const expectedNext = previousRow ? previousRow.nextSibling : entry.body.firstChild;
      if (expectedNext !== parts.row) entry.body.insertBefore(parts.row, expectedNext);
      previousRow = parts.row;
      const silentMs = Math.max(0, state.now - Date.parse(instance.lastHeartbeatAt));
      setText(parts.up, age(state.now - Date.parse(instance.registeredAt)));
      setText(parts.heard, seconds(silentMs) + ' ago');
      const mark = isLate(instance) ? 'late' : 'live';
      if (parts.stateCell.dataset.state !== mark) {
        if (parts.stateCell.dataset.state) announce(entry.section.dataset.type + ' instance ' + instance.url + ' is ' + mark + '.');
        parts.stateCell.dataset.state = mark;
        parts.row.dataset.state = mark;
        parts.badge.className = 'badge ' + mark;
        parts.badge.textContent = mark;
      }
    }
  }

  function showReachable(state) {
    if (!reachable) announce('The registry answers again.');
    reachable = true;
    main.dataset.stale = 'false';
    statusLine.dataset.state = 'ok';
    statusLine.textContent = 'Updated ' + new Date(state.now).toLocaleTimeString() + '.';
  }

  function showUnreachable(error) {
    if (reachable) announce('Cannot reach the registry; the list may be out of date.');
    reachable = false;
    main.dataset.stale = 'true';
    statusLine.dataset.state = 'error';
    statusLine.textContent = 'Cannot reach the registry (' + error.message + '); retrying…';
  }

  async function read(query) {
    const response = await fetch('/dashboard/state' + query, { cache: 'no-store' });
    if (!response.ok) throw new Error('the registry answered ' + response.status);
    return response.json();
  }

  // Ages and late marks: a fresh read about once per heartbeat interval (less often when the
  // table is large, so 10,000 instances do not cost a megabyte a second).
  async function poll() {
    let delayMs = 1000;
    try {
      const state = await read('');
      const total = Object.values(state.services).reduce((n, list) => n + list.length, 0);
      delayMs = total > 1000 ? Math.max(5000, state.heartbeatIntervalMs) : state.heartbeatIntervalMs;
      render(state);
      showReachable(state);
    } catch (error) {
      showUnreachable(error);
    } finally {
      setTimeout(poll, delayMs);
    }
  }

  // Registrations and departures: a watch answers as soon as the table changes.
  async function watch() {
    let failures = 0;
    for (;;) {
      try {
        const index = lastState && lastState.index !== undefined ? lastState.index : null;
        if (index === null) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        const state = await read('?index=' + index + '&wait=25000');
        failures = 0;
        if (state.index !== index) {
          render(state);
          showReachable(state);
        }
      } catch (error) {
        failures += 1;
        // Spread out: after a registry restart, open pages do not all come back at once.
        await new Promise((resolve) => setTimeout(resolve, Math.min(10000, 500 * 2 ** failures) * (0.5 + Math.random() / 2)));
      }
    }
  }

  let filterTimer = null;
  filterInput.addEventListener('input', () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => { if (lastState) render(lastState); }, 120);
  });

  poll();
  watch();
})();
</script>
</body>
</html>
`;
