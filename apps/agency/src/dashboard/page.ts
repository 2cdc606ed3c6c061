/**
 * The agency's live page: one self-contained document (nothing fetched from the internet)
 * that polls `/dashboard/state` every second and updates in place: the budget as a bar
 * (outstanding = committed - returned, and available, out of the total) and the latest
 * decisions, keyed by proposal id. A string module so `tsc` ships it in dist.
 */
export const dashboardPage = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Grantline agency</title>
<link rel="icon" href="data:,">
<style>
  :root {
    color-scheme: light dark;
    --bg: #f7f7f5; --fg: #1b1b1b; --muted: #555; --card: #fff; --line: #d8d8d3;
    --out: #1a56a6; --free: #dff3e4; --free-line: #0b6b2f; --bad: #8a4b00; --accent: #1a56a6;
  }
  @media (prefers-color-scheme: dark) {
    :root {
      --bg: #141517; --fg: #ececec; --muted: #b0b0b0; --card: #1e2023; --line: #34373c;
      --out: #8ab4ff; --free: #173523; --free-line: #8fe0a8; --bad: #ffcf86; --accent: #8ab4ff;
    }
  }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         background: var(--bg); color: var(--fg); }
  header, main, footer { max-width: 72rem; margin: 0 auto; padding: 1rem 1.25rem; }
  h1 { font-size: 1.5rem; margin: 0; }
  h2 { font-size: 1.15rem; margin: 0 0 .5rem; }
  .meta { color: var(--muted); font-size: .95rem; }
  section { background: var(--card); border: 1px solid var(--line); border-radius: .5rem;
            padding: 1rem; margin-bottom: 1rem; }
  .bar { display: flex; height: 1.75rem; border: 1px solid var(--line); border-radius: .35rem; overflow: hidden;
         background: var(--free); }
  .bar .outstanding { background: var(--out); transition: width .3s; }
  dl { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); gap: .5rem 1rem; margin: .75rem 0 0; }
  dt { font-size: .85rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
  dd { margin: 0; font-size: 1.1rem; font-variant-numeric: tabular-nums; font-weight: 600; }
  .key { display: inline-block; width: .8rem; height: .8rem; border-radius: .15rem; margin-right: .35rem; vertical-align: -.05rem; }
  .key.outstanding { background: var(--out); }
  .key.available { background: var(--free); border: 1px solid var(--free-line); }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: .45rem .5rem; border-top: 1px solid var(--line); vertical-align: top; }
  th { font-size: .85rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); border-top: 0; }
  td.amount { text-align: right; white-space: nowrap; }
  .badge { display: inline-block; padding: .05rem .5rem; border-radius: 1rem; font-size: .85rem; font-weight: 600;
           border: 1px solid currentColor; }
  .badge.rejected { color: var(--bad); }
  .badge.accepted { color: var(--out); }
  .badge.closed { color: var(--free-line); }
  a { color: var(--accent); }
  a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
  .empty { color: var(--muted); margin: 0; }
  .visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
                     clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
  #status[data-state="error"] { color: var(--bad); font-weight: 600; }
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
  <h1>Grantline agency</h1>
  <p class="meta" id="status" data-state="loading">Loading…</p>
</header>
<main aria-describedby="status">
  <section aria-labelledby="budget-title" id="budget">
    <h2 id="budget-title">Budget</h2>
    <div class="bar" id="bar" role="img" aria-label="Budget: loading">
      <div class="outstanding" id="bar-outstanding" style="width: 0%"></div>
    </div>
    <p class="meta"><span class="key outstanding"></span>outstanding (committed − returned)
      <span class="key available" style="margin-left: 1rem"></span>available</p>
    <dl>
      <div><dt>Total</dt><dd id="total">–</dd></div>
      <div><dt>Committed</dt><dd id="committed">–</dd></div>
      <div><dt>Returned</dt><dd id="returned">–</dd></div>
      <div><dt>Available</dt><dd id="available">–</dd></div>
    </dl>
  </section>
  <section aria-labelledby="decisions-title">
    <h2 id="decisions-title">Latest decisions</h2>
    <p class="empty" id="no-decisions">No proposal decided yet.</p>
    <table id="decisions" hidden>
      <caption class="visually-hidden">The newest decisions, newest first</caption>
      <thead><tr><th scope="col">Decided</th><th scope="col">Title</th><th scope="col">Investigator</th>
        <th scope="col">Amount</th><th scope="col">Decision</th><th scope="col">Returned</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
<div id="announcer" class="visually-hidden" role="status" aria-live="polite"></div>
<footer class="meta">
  <a href="/docs">API documentation</a> · <a href="/openapi.json">OpenAPI document</a> ·
  <a href="/budget">/budget as JSON</a>
</footer>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  const body = $('decisions').tBodies[0];
  const rows = new Map(); // proposalId -> row parts
  let first = true;
  const euro = (cents) => {
    if (cents === null) return 'unlimited';
    const sign = cents < 0 ? '-' : '';
    const a = Math.abs(cents);
    const whole = String((a - (a % 100)) / 100).replace(/\\B(?=(\\d{3})+(?!\\d))/g, ',');
    return sign + '€' + whole + '.' + String(a % 100).padStart(2, '0');
  };
  const setText = (node, text) => { if (node.textContent !== text) node.textContent = text; };
  const announce = (text) => { $('announcer').textContent = text; };

  function cell(row, label, className) {
    const td = row.insertCell();
    td.dataset.label = label;
    if (className) td.className = className;
    return td;
  }

  function createRow(p) {
    const row = document.createElement('tr');
    row.dataset.proposalId = p.proposalId;
    const parts = {
      row,
      decided: cell(row, 'Decided'),
      title: cell(row, 'Title'),
      investigator: cell(row, 'Investigator'),
      amount: cell(row, 'Amount', 'amount'),
      decision: cell(row, 'Decision'),
      returned: cell(row, 'Returned', 'amount'),
    };
    parts.badge = document.createElement('span');
    parts.decision.append(parts.badge);
    return parts;
  }

  function renderBudget(b) {
    setText($('total'), euro(b.totalCents));
    setText($('committed'), euro(b.committedCents));
    setText($('returned'), euro(b.returnedCents));
    setText($('available'), euro(b.availableCents));
    const outstanding = b.committedCents - b.returnedCents;
    const share = b.totalCents ? Math.min(100, (100 * outstanding) / b.totalCents) : 0;
    $('bar-outstanding').style.width = share.toFixed(2) + '%';
    $('bar').setAttribute('aria-label', b.totalCents === null
      ? 'Budget unlimited; ' + euro(outstanding) + ' outstanding'
      : 'Budget ' + euro(b.totalCents) + ': ' + euro(outstanding) + ' outstanding, ' + euro(b.availableCents) + ' available');
  }

  function renderDecisions(latest) {
    const seen = new Set();
    const fresh = [];
    latest.forEach((p, index) => {
      seen.add(p.proposalId);
      let parts = rows.get(p.proposalId);
      if (!parts) {
        parts = createRow(p);
        rows.set(p.proposalId, parts);
        if (!first) fresh.push(p);
      }
      setText(parts.decided, new Date(p.decidedAt).toLocaleTimeString());
      setText(parts.title, p.title);
      setText(parts.investigator, p.investigator);
      setText(parts.amount, euro(p.amountCents));
      setText(parts.badge, p.status);
      parts.badge.className = 'badge ' + p.status;
      parts.badge.title = p.reason || '';
      setText(parts.returned, p.returnedCents === undefined ? '–' : euro(p.returnedCents));
      if (body.rows[index] !== parts.row) body.insertBefore(parts.row, body.rows[index] || null);
    });
    for (const [id, parts] of rows) if (!seen.has(id)) { parts.row.remove(); rows.delete(id); }
    $('decisions').hidden = latest.length === 0;
    $('no-decisions').hidden = latest.length > 0;
    if (fresh.length > 0) announce(fresh.length + ' new decision' + (fresh.length === 1 ? '' : 's') + ': ' +
      fresh.map((p) => p.title + ' ' + p.status).join(', '));
    first = false;
  }

  async function poll() {
    try {
      const response = await fetch('/dashboard/state', { cache: 'no-store' });
      if (!response.ok) throw new Error('status ' + response.status);
      const state = await response.json();
      renderBudget(state.budget);
      renderDecisions(state.latest);
      $('status').dataset.state = 'ok';
      setText($('status'), 'Updated ' + new Date(state.now).toLocaleTimeString() + '; refreshes every second.');
    } catch (error) {
      $('status').dataset.state = 'error';
      setText($('status'), 'The agency cannot be reached (' + error.message + '); trying again every second.');
    }
    setTimeout(poll, 1000);
  }
  poll();
})();
</script>
</body>
</html>
`;
