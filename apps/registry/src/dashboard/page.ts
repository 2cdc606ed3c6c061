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
  .badge.ok { color: var(--ok); background: var(--ok-bg); }
  .badge.late { color: var(--late); background: var(--late-bg); }
  .empty { color: var(--muted); margin: 0; }
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
  <p class="meta">Live service instances. Heartbeat every <span id="interval">–</span>,
    an instance is dropped after <span id="ttl">–</span> of silence.</p>
  <p class="meta" id="status" role="status" aria-live="polite">Loading…</p>
</header>
<main id="services" aria-live="polite" aria-busy="true"></main>
<footer class="meta">
  <a href="/docs">API documentation</a> · <a href="/openapi.json">OpenAPI document</a> ·
  <a href="/services">/services as JSON</a>
</footer>
<script>
(() => {
  const main = document.getElementById('services');
  const statusLine = document.getElementById('status');
  let delayMs = 1000;

  const seconds = (ms) => ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + ' s';
  const age = (ms) => {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + ' s';
    const m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + (s % 60) + ' s';
    return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
  };
  const cell = (row, label, text, className) => {
    const td = row.insertCell();
    td.dataset.label = label;
    if (className) td.className = className;
    if (text instanceof Node) td.append(text); else td.textContent = text;
    return td;
  };

  function render(state) {
    document.getElementById('interval').textContent = seconds(state.heartbeatIntervalMs);
    document.getElementById('ttl').textContent = seconds(state.ttlMs);
    const types = Object.keys(state.services).sort();
    const sections = types.map((type) => {
      const instances = state.services[type];
      const section = document.createElement('section');
      section.setAttribute('aria-labelledby', 'type-' + type);
      section.dataset.type = type;
      const heading = document.createElement('h2');
      heading.id = 'type-' + type;
      heading.textContent = type;
      const count = document.createElement('span');
      count.className = 'count';
      count.textContent = instances.length + (instances.length === 1 ? ' instance' : ' instances');
      heading.append(count);
      const table = document.createElement('table');
      const caption = table.createCaption();
      caption.className = 'meta';
      caption.textContent = 'Instances of ' + type;
      caption.style.textAlign = 'left';
      const head = table.createTHead().insertRow();
      for (const title of ['Instance', 'URL', 'Up for', 'Last heartbeat', 'State']) {
        const th = document.createElement('th');
        th.scope = 'col';
        th.textContent = title;
        head.append(th);
      }
      const body = table.createTBody();
      for (const instance of instances) {
        const row = body.insertRow();
        row.dataset.instanceId = instance.id;
        row.dataset.url = instance.url;
        const silentMs = state.now - Date.parse(instance.lastHeartbeatAt);
        const late = silentMs > state.heartbeatIntervalMs * 1.5;
        cell(row, 'Instance', instance.id.slice(0, 8)).title = instance.id;
        const link = document.createElement('a');
        link.href = instance.url + '/health';
        link.textContent = instance.url;
        cell(row, 'URL', link, 'url');
        cell(row, 'Up for', age(state.now - Date.parse(instance.registeredAt)));
        cell(row, 'Last heartbeat', seconds(Math.max(0, silentMs)) + ' ago');
        const badge = document.createElement('span');
        badge.className = 'badge ' + (late ? 'late' : 'ok');
        badge.textContent = late ? 'late' : 'live';
        cell(row, 'State', badge).dataset.state = late ? 'late' : 'live';
      }
      section.append(heading, table);
      return section;
    });
    if (sections.length === 0) {
      const empty = document.createElement('p');
      empty.className = 'empty';
      empty.textContent = 'No service is registered right now.';
      sections.push(empty);
    }
    main.replaceChildren(...sections);
    main.setAttribute('aria-busy', 'false');
  }

  async function poll() {
    try {
      const response = await fetch('/dashboard/state', { cache: 'no-store' });
      if (!response.ok) throw new Error('the registry answered ' + response.status);
      const state = await response.json();
      delayMs = state.heartbeatIntervalMs;
      render(state);
      statusLine.dataset.state = 'ok';
      statusLine.textContent = 'Updated ' + new Date(state.now).toLocaleTimeString();
    } catch (error) {
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
