// smtp2graph report page: everything shown is built from the embedded JSON with DOM APIs
// (textContent / createElement); data is never parsed as HTML, so scanned text stays text.
(function () {
  'use strict';

  var DATA = JSON.parse(document.getElementById('report-data').textContent);
  var PAGE_SIZE = 100;
  var SEVERITY_RANK = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
  var FIX_RANK = { safe: 0, unsafe: 1, 'display-only': 2, none: 3 };
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var findings = DATA.findings;
  var rules = DATA.rules || {};
  var TRIAGE_LABELS = { 'will-break': 'Will break', 'may-break': 'May break', 'already-broken': 'Already broken',
    'not-affected': 'Not affected', graph: 'On Graph', secret: 'Secret' };
  var FILTER_NAMES = { severity: 'Severity', rule: 'Rule', api: 'API', fix: 'Fix safety', repo: 'Repository',
    owner: 'Owner', triage: 'Status', step: 'Step', tile: 'Tile', q: 'Search' };
  var NO_OWNER = '(no owner)';
  var GRAPH_API = { 'graph-sendmail': true, 'send-mgusermail': true };
  var state = { tile: null, step: null, q: '', severity: '', rule: '', api: '', fix: '', repo: '', owner: '', triage: '',
                sortKey: 'work', sortDir: 1, page: 0 };
  var view = [];  // filtered + sorted findings
  var printing = false;  // a printout holds every filtered finding, not one page
  var lastOpener = null;

  // ---------- small DOM helpers ----------
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined) { continue; }
      parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return parent;
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } return node; }
  function str(value) { return value === null || value === undefined ? '' : String(value); }
  function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }
  function scriptKey(f) { return f.repo + '\u0000' + f.path; }
  function owner(f) { return f.owner || NO_OWNER; }
  // A repository named by an absolute scan root shows its last folder: the page never leads with a machine's path.
  function repoLabel(name) {
    var text = str(name);
    if (/^([a-z]:)?[\\/]/i.test(text)) { var parts = text.split(/[\\/]+/).filter(Boolean); return parts.length ? parts[parts.length - 1] : text; }
    return text;
  }
  function repoPath(f) { return str(f.repository_path || f.path); }
  function api(f) { return f.call && f.call.api ? f.call.api : ''; }
  function arr(value) { return Array.isArray(value) ? value : []; }  // scan JSON is input: never trust a shape
  function obj(value) { return value && typeof value === 'object' && !Array.isArray(value) ? value : null; }
  function safeUrl(url) { return /^https?:\/\//i.test(str(url)) ? String(url) : null; }
  // A mailbox, host or path breaks only after '@', '/' or '\\' (never mid-word): "reports@" / "contoso.com".
  function breakable(text, className) {
    var span = el('span', 'ident' + (className ? ' ' + className : ''));
    str(text).replace(/([@\/\\])/g, '$1\u0000').split('\u0000').forEach(function (part, i) {
      if (i) { span.appendChild(document.createElement('wbr')); }
      span.appendChild(document.createTextNode(part));
    });
    return span;
  }

  function table(caption, headers, rows, className) {
    var t = el('table', className || 'data');
    add(t, el('caption', null, caption));
    var head = add(el('thead'), el('tr'));
    headers.forEach(function (h) { var th = el('th', null, h); th.scope = 'col'; head.firstChild.appendChild(th); });
    t.appendChild(head);
    var body = el('tbody');
    rows.forEach(function (cells) {
      var tr = el('tr');
      cells.forEach(function (cell, i) {
        var td = el(i === 0 ? 'th' : 'td');
        if (i === 0) { td.scope = 'row'; } else { td.setAttribute('data-label', headers[i]); }  // a card's labels (phone)
        if (cell instanceof Node) { td.appendChild(cell); } else { td.textContent = str(cell); }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    t.appendChild(body);
    return t;
  }
  function list(items) {
    var ul = el('ul', 'plain');
    items.forEach(function (item) { add(ul, item instanceof Node ? add(el('li'), item) : el('li', null, item)); });
    return ul;
  }
  function kv(pairs) {
    var dl = el('dl', 'kv');
    pairs.forEach(function (p) {
      if (p[1] === null || p[1] === undefined || p[1] === '') { return; }
      add(dl, el('dt', null, p[0]), p[1] instanceof Node ? add(el('dd'), p[1]) : el('dd', null, p[1]));
    });
    return dl;
  }

  // ---------- the EWS retirement beside SMTP AUTH: each with its own dates ----------
  var EWS_OFF = '2027-04-01';
  function renderRetirements(countdown) {
    arr(DATA.retirements).forEach(function (r) {
      if (r.key !== 'ews') { return; }
      var dates = arr(r.milestones).map(function (m) { return m.date + ': ' + m.text; }).join('; ');
      var left = r.days_left >= 0 ? ' (' + plural(r.days_left, 'day') + ' left).' : '.';
      if (!r.sends) {  // no send through EWS: no line of zeros, only the scripts that use it otherwise
        if (r.other_use_scripts) {
          add(countdown, el('br'), el('span', 'ews-other', plural(r.other_use_scripts, 'script') + ' use' +
            (r.other_use_scripts === 1 ? 's' : '') + ' EWS for other things than sending (reads, searches, calendar) — ' +
            r.label + ': ' + dates + left));
        }
        return;
      }
      add(countdown, el('br'), el('strong', null, plural(r.sends, 'EWS send')), ' in ' + plural(r.scripts, 'script') +
        ' (' + r.will_break + ' will break, ' + r.may_break + ' may break, ' + r.already_broken + ' already broken)' +
        (r.other_use_scripts ? ' and ' + plural(r.other_use_scripts, 'script') + ' with other EWS use' : '') +
        ' — ' + r.label + ': ' + dates + (r.days_left >= 0 ? ' (' + plural(r.days_left, 'day') + ' left).' : '.'));
    });
  }

  // ---------- header: are we ready? ----------
  function renderHeader() {
    var repos = DATA.repositories.map(function (r) { return repoLabel(r.name); });
    document.title = 'smtp2graph migration report — ' + (repos.length ? repos.join(', ') : 'no scans');
    var scanned = DATA.repositories.reduce(function (n, r) { return n + r.files_scanned; }, 0);
    document.getElementById('report-meta').textContent =
      plural(DATA.repositories.length, 'repository').replace('repositorys', 'repositories') +
      (repos.length && repos.length <= 6 ? ' (' + repos.join(', ') + ')' : '') + ' · ' + plural(scanned, 'file') + ' scanned · ' +
      plural(DATA.summary.scripts, 'script') + ' with findings · generated ' + DATA.generated_at;
    var countdown = clear(document.getElementById('countdown'));
    var days = DATA.days_left;
    if (days >= 0) {
      add(countdown, el('strong', null, plural(days, 'day')),
        ' left until Exchange Online switches basic auth for SMTP AUTH off by default (' + DATA.deadline_text + ').');
    } else {
      countdown.className += ' past';
      add(countdown, 'Basic auth for SMTP AUTH has been off by default since the ' + DATA.deadline_text + ': ',
        el('strong', null, plural(-days, 'day')), ' ago.');
    }
    renderRetirements(countdown);
    var tiles = clear(document.getElementById('tiles'));
    var fixTiles = clear(document.getElementById('fix-tiles'));
    var triageKeys = Object.keys(TRIAGE_LABELS);
    DATA.summary.tiles.forEach(function (tile) {
      if (tile.key === 'ews-send' && !tile.findings) { return; }  // no EWS in this estate: no tile
      var b = el('button', 'tile tile-' + tile.key);
      b.type = 'button';
      b.setAttribute('data-tile', tile.key);
      b.setAttribute('aria-pressed', 'false');
      var sub = tile.key === 'secret'
        ? plural(tile.findings, 'secret') + ' found'
        : plural(tile.findings, tile.key === 'graph' || triageKeys.indexOf(tile.key) < 0 ? 'finding' : 'call');
      add(b, el('span', 'tile-count', tile.scripts), el('span', 'tile-label', tile.label),
        el('span', 'tile-sub', plural(tile.scripts, 'script') + ' · ' + sub));
      b.addEventListener('click', function () {
        state.tile = state.tile === tile.key ? null : tile.key;
        state.page = 0;
        update();
        if (state.tile) { revealFilter('tile'); }
      });
      (triageKeys.indexOf(tile.key) >= 0 ? tiles : fixTiles).appendChild(b);
    });
    var work = clear(document.getElementById('work-order'));
    arr(DATA.summary.work_order).forEach(function (item) {
      var b = el('button', 'link step-link', item.label.replace(/`/g, ''));
      b.type = 'button';
      b.setAttribute('data-step', String(item.step));
      b.setAttribute('aria-pressed', 'false');
      b.addEventListener('click', function () {
        state.step = state.step === item.step ? null : item.step;
        state.page = 0;
        update();
        if (state.step) { revealFilter('step'); }
      });
      var ews = obj(item.by_retirement) ? item.by_retirement.ews : 0;
      add(work, add(el('li', 'step step-' + item.step), b,
        el('span', 'step-count', ' — ' + plural(item.findings, 'finding') + ' in ' + plural(item.scripts, 'script') +
          (ews ? ' (' + ews + ' through EWS, due ' + EWS_OFF + ')' : ''))));
    });
    var charts = clear(document.getElementById('charts'));
    var sev = Object.keys(DATA.summary.by_severity).map(function (k) { return [k, DATA.summary.by_severity[k], 'bar-' + k]; });
    // Legacy APIs first, then the calls already on Graph, each in its own colour.
    var apiNames = Object.keys(DATA.summary.by_api);
    var apis = apiNames.filter(function (k) { return !GRAPH_API[k]; }).concat(apiNames.filter(function (k) { return GRAPH_API[k]; }))
      .map(function (k) { return [k, DATA.summary.by_api[k], GRAPH_API[k] ? 'bar-graph' : 'bar-legacy']; });
    add(charts,
      stackChart('Breaking and may-break calls by repository', arr(DATA.summary.by_repository), 'chart-repo', repoLabel),
      stackChart('Breaking and may-break calls by owner', arr(DATA.summary.by_owner), 'chart-owner', str),
      burndownChart(arr(DATA.burndown)),
      barChart('Findings by severity', sev, 'chart-severity'),
      barChart('Mail calls by API', apis, 'chart-api', 'purple: legacy mail API (SMTP, COM, EWS) · green: already on Microsoft Graph'));
  }

  function svgEl(tag, attrs, text) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) { node.textContent = String(text); }
    return node;
  }

  // Horizontal stacked bars: will break (red) then may break (amber) per group, the top 12 groups.
  function stackChart(title, groups, className, label) {
    var rows = groups.filter(function (g) { return (g.counts['will-break'] || 0) + (g.counts['may-break'] || 0) > 0; }).slice(0, 12);
    var fig = el('figure', 'chart ' + className);
    add(fig, el('figcaption', null, title));
    if (!rows.length) { fig.appendChild(el('p', 'empty', 'No breaking or may-break call.')); return fig; }
    var rowH = 20, labelW = 150, barW = 170, numW = 60, width = labelW + barW + numW;
    var max = rows.reduce(function (m, g) { return Math.max(m, (g.counts['will-break'] || 0) + (g.counts['may-break'] || 0)); }, 0) || 1;
    var svg = svgEl('svg', { viewBox: '0 0 ' + width + ' ' + (rows.length * rowH + 4), role: 'img', 'class': 'chart-svg' });
    svg.appendChild(svgEl('title', {}, title + ': ' + rows.map(function (g) {
      return label(g.name) + ' ' + (g.counts['will-break'] || 0) + ' will break, ' + (g.counts['may-break'] || 0) + ' may break';
    }).join('; ')));
    rows.forEach(function (g, i) {
      var y = i * rowH + 2, will = g.counts['will-break'] || 0, may = g.counts['may-break'] || 0;
      var name = label(g.name);
      svg.appendChild(svgEl('text', { x: 0, y: y + 14 }, name.length > 22 ? name.slice(0, 21) + '…' : name));
      var w1 = Math.round(barW * will / max), w2 = Math.round(barW * may / max);
      var bar1 = svgEl('rect', { x: labelW, y: y + 3, height: rowH - 6, width: Math.max(will ? 2 : 0, w1), 'class': 'bar-will' });
      var bar2 = svgEl('rect', { x: labelW + Math.max(will ? 2 : 0, w1), y: y + 3, height: rowH - 6, width: Math.max(may ? 2 : 0, w2), 'class': 'bar-may' });
      bar1.setAttribute('data-name', g.name); bar2.setAttribute('data-name', g.name);
      svg.appendChild(bar1); svg.appendChild(bar2);
      svg.appendChild(svgEl('text', { x: labelW + barW + 6, y: y + 14 }, will + ' / ' + may));
    });
    fig.appendChild(svg);
    add(fig, el('p', 'legend', 'red: will break · amber: may break (verdict unknown)'));
    return fig;
  }

  // Breaking calls of the estate per scan date against the deadline, with the straight line to zero.
  function burndownChart(points) {
    if (points.length < 2) { return null; }
    var fig = el('figure', 'chart chart-burndown');
    add(fig, el('figcaption', null, 'Burn-down: breaking calls until ' + DATA.due));
    var W = 380, H = 180, L = 36, B = 24, T = 8, R = 10;
    var t0 = Date.parse(points[0].date), t1 = Math.max(Date.parse(DATA.due), Date.parse(points[points.length - 1].date));
    var span = Math.max(1, t1 - t0);
    var max = points.reduce(function (m, p) { return Math.max(m, p.will_break + p.may_break); }, 0) || 1;
    function x(d) { return L + (W - L - R) * (Date.parse(d) - t0) / span; }
    function y(v) { return T + (H - T - B) * (1 - v / max); }
    var svg = svgEl('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'class': 'chart-svg' });
    svg.appendChild(svgEl('title', {}, 'Breaking calls by scan date: ' + points.map(function (p) {
      return p.date + ' ' + p.will_break + ' will break, ' + p.may_break + ' may break';
    }).join('; ') + '; deadline ' + DATA.due));
    svg.appendChild(svgEl('line', { x1: L, y1: y(0), x2: W - R, y2: y(0), 'class': 'axis' }));
    svg.appendChild(svgEl('line', { x1: L, y1: T, x2: L, y2: y(0), 'class': 'axis' }));
    svg.appendChild(svgEl('text', { x: 0, y: y(max) + 4 }, max));
    svg.appendChild(svgEl('text', { x: 0, y: y(0) + 4 }, 0));
    svg.appendChild(svgEl('line', { x1: x(points[0].date), y1: y(points[0].will_break), x2: x(DATA.due), y2: y(0), 'class': 'ideal' }));
    function line(key, cls) {
      var d = points.map(function (p, i) { return (i ? 'L' : 'M') + x(p.date).toFixed(1) + ' ' + y(p[key]).toFixed(1); }).join(' ');
      svg.appendChild(svgEl('path', { d: d, 'class': cls }));
      points.forEach(function (p) { svg.appendChild(svgEl('circle', { cx: x(p.date), cy: y(p[key]), r: 3, 'class': cls + '-dot' })); });
    }
    line('may_break', 'line-may');
    line('will_break', 'line-will');
    svg.appendChild(svgEl('text', { x: L, y: H - 6 }, points[0].date));
    svg.appendChild(svgEl('text', { x: W - R, y: H - 6, 'text-anchor': 'end' }, DATA.due));
    fig.appendChild(svg);
    var last = points[points.length - 1];
    add(fig, el('p', 'legend', 'Now ' + last.will_break + ' will break, ' + last.may_break + ' may break · dashed: the pace that reaches zero by the deadline'));
    return fig;
  }

  // One bar per non-zero row: a zero is not drawn (the caption's title lists what is there).
  function barChart(title, allRows, className, legend) {
    var rows = allRows.filter(function (r) { return r[1] > 0; });
    var fig = el('figure', 'chart ' + className);
    add(fig, el('figcaption', null, title));
    if (!rows.length) { fig.appendChild(el('p', 'empty', 'None.')); return fig; }
    var rowH = 20, labelW = 130, barW = 220, numW = 50;
    var max = rows.reduce(function (m, r) { return Math.max(m, r[1]); }, 0) || 1;
    var svg = document.createElementNS(SVG_NS, 'svg');
    var height = rows.length * rowH + 4;
    svg.setAttribute('class', 'chart-svg');
    svg.setAttribute('viewBox', '0 0 ' + (labelW + barW + numW) + ' ' + height);
    svg.setAttribute('role', 'img');
    var t = document.createElementNS(SVG_NS, 'title');
    t.textContent = title + ': ' + rows.map(function (r) { return r[0] + ' ' + r[1]; }).join(', ');
    svg.appendChild(t);
    rows.forEach(function (r, i) {
      var y = i * rowH + 2;
      var label = document.createElementNS(SVG_NS, 'text');
      label.setAttribute('x', '0'); label.setAttribute('y', String(y + 14));
      label.textContent = r[0];
      var bar = document.createElementNS(SVG_NS, 'rect');
      bar.setAttribute('x', String(labelW)); bar.setAttribute('y', String(y + 3));
      bar.setAttribute('height', String(rowH - 6));
      bar.setAttribute('width', String(Math.max(r[1] ? 2 : 0, Math.round(barW * r[1] / max))));
      bar.setAttribute('class', r[2]);
      bar.setAttribute('data-name', r[0]);
      var num = document.createElementNS(SVG_NS, 'text');
      num.setAttribute('x', String(labelW + barW + 6)); num.setAttribute('y', String(y + 14));
      num.textContent = String(r[1]);
      svg.appendChild(label); svg.appendChild(bar); svg.appendChild(num);
    });
    fig.appendChild(svg);
    if (legend) { add(fig, el('p', 'legend', legend)); }
    return fig;
  }

  // ---------- findings: filter, sort, group, paginate ----------
  var haystacks = findings.map(function (f) {
    return [f.repo, f.path, f.repository_path, f.owner, f.rule, f.name, f.message, f.snippet, f.sender, f.credential_user, api(f),
      f.call ? f.call.command : '', f.assessment ? f.assessment.server_text : ''].map(str).join('\n').toLowerCase();
  });

  function sortValue(f, key) {
    switch (key) {
      case 'work': return (f.work_step || 4) * 10 + (SEVERITY_RANK.hasOwnProperty(f.severity) ? SEVERITY_RANK[f.severity] : 9);
      case 'owner': return owner(f).toLowerCase();
      case 'severity': return SEVERITY_RANK.hasOwnProperty(f.severity) ? SEVERITY_RANK[f.severity] : 9;
      case 'fix': return FIX_RANK.hasOwnProperty(f.fix_safety) ? FIX_RANK[f.fix_safety] : 9;
      case 'line': return f.line || 0;
      case 'api': return api(f);
      case 'sender': return str(f.sender);
      case 'rule': return str(f.rule);
      case 'message': return str(f.message).toLowerCase();
      default: return 0;
    }
  }
  function compare(a, b) { return a < b ? -1 : a > b ? 1 : 0; }

  // The select filters, and the value of each a finding has.
  var FACETS = ['severity', 'rule', 'api', 'fix', 'repo', 'owner', 'triage'];
  function facetValue(f, name) {
    switch (name) {
      case 'severity': return str(f.severity);
      case 'rule': return str(f.rule);
      case 'api': return api(f);
      case 'fix': return str(f.fix_safety);
      case 'repo': return str(f.repo);
      case 'owner': return owner(f);
      default: return str(f.triage);
    }
  }
  // facetCounts[name][value]: the findings that match every other filter and have this value: what the
  // table would show with this option chosen (one pass, as code-scanning facets count).
  var facetCounts = {};

  function computeView() {
    var q = state.q.trim().toLowerCase();
    var terms = q ? q.split(/\s+/) : [];
    var groups = new Map();
    facetCounts = {};
    FACETS.forEach(function (name) { facetCounts[name] = {}; });
    for (var i = 0; i < findings.length; i++) {
      var f = findings[i];
      if (state.tile && f.categories.indexOf(state.tile) < 0) { continue; }
      if (state.step && f.work_step !== state.step) { continue; }
      var miss = false;
      for (var t = 0; t < terms.length; t++) { if (haystacks[i].indexOf(terms[t]) < 0) { miss = true; break; } }
      if (miss) { continue; }
      var failed = null, failures = 0;
      for (var c = 0; c < FACETS.length; c++) {
        var name = FACETS[c];
        if (state[name] && facetValue(f, name) !== state[name]) { failed = name; failures++; if (failures > 1) { break; } }
      }
      if (failures > 1) { continue; }
      for (var d = 0; d < FACETS.length; d++) {
        if (failures === 0 || FACETS[d] === failed) {
          var value = facetValue(f, FACETS[d]);
          facetCounts[FACETS[d]][value] = (facetCounts[FACETS[d]][value] || 0) + 1;
        }
      }
      if (failures) { continue; }
      var key = scriptKey(f);
      var bucket = groups.get(key);
      if (!bucket) { bucket = []; groups.set(key, bucket); }
      bucket.push(f);
    }
    var key = state.sortKey, dir = state.sortDir;
    var ordered = [];
    groups.forEach(function (members, gk) {
      members.sort(function (a, b) {
        return dir * compare(sortValue(a, key), sortValue(b, key)) || compare(a.line, b.line) || a.id - b.id;
      });
      ordered.push({ key: gk, lead: members[0], members: members });
    });
    // Groups are ordered by their best member under the current sort, so "grouped by script" and "sorted" agree.
    ordered.sort(function (a, b) {
      return dir * compare(sortValue(a.lead, key), sortValue(b.lead, key)) ||
        compare(a.lead.repo, b.lead.repo) || compare(a.lead.path, b.lead.path);
    });
    view = [];
    ordered.forEach(function (g) { for (var m = 0; m < g.members.length; m++) { view.push(g.members[m]); } });
    return ordered.length;
  }

  function findingRow(f) {
    var tr = el('tr', 'finding-row');
    tr.setAttribute('data-id', String(f.id));
    var sevCell = add(el('td', 'cell-sev'), el('span', 'sev sev-' + str(f.severity), f.severity));
    var open = el('button', 'link open-detail', f.rule);
    open.type = 'button';
    open.setAttribute('aria-label', 'Details of ' + f.rule + ' at ' + f.path + ':' + f.line);
    open.addEventListener('click', function () { openDetail(f, open); });
    var ruleCell = add(el('td', 'cell-rule'), open, f.name ? el('div', 'rule-name', f.name) : null);
    var status = add(el('td', 'cell-status'), el('span', 'status-badge status-' + str(f.triage), TRIAGE_LABELS[f.triage] || str(f.triage)));
    function cell(cls, label, content) {
      var td = el('td', cls);
      td.setAttribute('data-label', label);
      if (content instanceof Node) { td.appendChild(content); } else { td.textContent = str(content); }
      return td;
    }
    status.setAttribute('data-label', 'Status');
    sevCell.setAttribute('data-label', 'Severity');
    ruleCell.setAttribute('data-label', 'Rule');
    add(tr, status, sevCell, ruleCell, cell('mono cell-line', 'Line', f.line),
      cell('cell-sender', 'Sender', f.sender ? breakable(f.sender) : (f.call ? 'dynamic' : '—')),
      cell('cell-owner', 'Owner', f.owner ? breakable(f.owner) : el('span', 'no-owner', 'none')),
      cell('cell-fix', 'Fix', el('span', 'badge', f.fix_safety === 'none' ? 'no fix' : f.fix_safety)),
      cell('message', 'Message', messageText(f.message)));
    tr.addEventListener('dblclick', function () { openDetail(f, open); });
    return tr;
  }

  // A long message shows its first lines (two on a desktop) and an ellipsis: every row stays short; the whole
  // message is the detail pane's first line, the tooltip, and the printout.
  function messageText(message) {
    var span = el('span', 'msg', message);
    span.title = str(message);
    return span;
  }

  function groupRow(f, count, continued) {
    var tr = el('tr', 'group-row');
    var th = el('th');
    th.scope = 'rowgroup';
    th.colSpan = 8;
    add(th, el('span', 'repo', repoLabel(f.repo) + ' / '), el('span', 'group-path', repoPath(f)),
      el('span', 'repo', ' — ' + plural(count, 'finding') + (continued ? ' (continued)' : '')));
    tr.appendChild(th);
    return tr;
  }

  function renderTable(scriptCount) {
    var body = document.getElementById('findings-body');
    var pageSize = printing ? Math.max(1, view.length) : PAGE_SIZE;
    var pages = Math.max(1, Math.ceil(view.length / pageSize));
    if (!printing && state.page >= pages) { state.page = pages - 1; }
    var start = printing ? 0 : state.page * pageSize, end = Math.min(view.length, start + pageSize);
    var counts = new Map();
    for (var i = 0; i < view.length; i++) { var k = scriptKey(view[i]); counts.set(k, (counts.get(k) || 0) + 1); }
    var frag = document.createDocumentFragment();
    var previous = null;
    for (var j = start; j < end; j++) {
      var f = view[j];
      var key = scriptKey(f);
      if (key !== previous) {
        frag.appendChild(groupRow(f, counts.get(key), j === start && j > 0 && scriptKey(view[j - 1]) === key));
        previous = key;
      }
      frag.appendChild(findingRow(f));
    }
    clear(body);
    if (!view.length) {
      var tr = el('tr'); var td = el('td', 'empty', 'No finding matches these filters.'); td.colSpan = 8;
      body.appendChild(add(tr, td));
    } else {
      body.appendChild(frag);
    }
    var status = document.getElementById('match-count');
    status.setAttribute('data-count', String(view.length));
    status.setAttribute('data-scripts', String(scriptCount));
    status.textContent = view.length
      ? 'Showing ' + (start + 1) + '–' + end + ' of ' + plural(view.length, 'finding') + ' in ' + plural(scriptCount, 'script') +
        (view.length === findings.length ? '' : ' (filtered from ' + findings.length + ')') + '.'
      : 'No finding matches (0 of ' + findings.length + ').';
    document.getElementById('page-info').textContent = 'Page ' + (state.page + 1) + ' of ' + pages;
    document.getElementById('page-prev').disabled = state.page === 0;
    document.getElementById('page-next').disabled = state.page >= pages - 1;
  }

  function update() {
    var scriptCount = computeView();
    renderTable(scriptCount);
    renderActiveFilters();
    var steps = document.querySelectorAll('#work-order .step-link');
    for (var w = 0; w < steps.length; w++) {
      steps[w].setAttribute('aria-pressed', Number(steps[w].getAttribute('data-step')) === state.step ? 'true' : 'false');
    }
    var selectsNow = document.querySelectorAll('#filters select[data-filter]');
    for (var q = 0; q < selectsNow.length; q++) {
      selectsNow[q].classList.toggle('is-active', !!selectsNow[q].value);
      labelOptions(selectsNow[q]);
    }
    document.getElementById('search').classList.toggle('is-active', !!state.q.trim());
    var tiles = document.querySelectorAll('.tiles .tile');
    for (var i = 0; i < tiles.length; i++) {
      tiles[i].setAttribute('aria-pressed', tiles[i].getAttribute('data-tile') === state.tile ? 'true' : 'false');
    }
    var ths = document.querySelectorAll('#findings-table thead th');
    for (var t = 0; t < ths.length; t++) {
      var sorted = ths[t].getAttribute('data-sort') === state.sortKey;
      if (sorted) { ths[t].setAttribute('aria-sort', state.sortDir === 1 ? 'ascending' : 'descending'); }
      else { ths[t].removeAttribute('aria-sort'); }
    }
  }

  // Each option says how many findings it would show, given the other filters ("high (72)").
  function labelOptions(select) {
    var counts = facetCounts[select.getAttribute('data-filter')] || {};
    var total = 0;
    Object.keys(counts).forEach(function (k) { total += counts[k]; });
    for (var i = 0; i < select.options.length; i++) {
      var option = select.options[i];
      var n = option.value ? (counts[option.value] || 0) : total;
      option.textContent = option.getAttribute('data-label') + ' (' + n + ')';
      option.setAttribute('data-count', String(n));
    }
  }

  // Every active filter as a chip with its own remove button: a filtered table never looks like the whole estate.
  function renderActiveFilters() {
    var box = clear(document.getElementById('active-filters'));
    var chips = [];
    function chip(name, value, clearIt) {
      var b = el('button', 'chip', FILTER_NAMES[name] + ': ' + value + ' ×');
      b.type = 'button';
      b.setAttribute('data-filter-chip', name);
      b.setAttribute('aria-label', 'Remove the filter ' + FILTER_NAMES[name] + ' ' + value);
      b.addEventListener('click', function () { clearIt(); state.page = 0; update(); });
      chips.push(b);
    }
    if (state.tile) {
      var t = DATA.summary.tiles.filter(function (x) { return x.key === state.tile; })[0];
      chip('tile', t ? t.label : state.tile, function () { state.tile = null; });
    }
    if (state.step) { chip('step', String(state.step), function () { state.step = null; }); }
    if (state.q.trim()) { chip('q', '"' + state.q.trim() + '"', function () { state.q = ''; document.getElementById('search').value = ''; }); }
    ['severity', 'rule', 'api', 'fix', 'repo', 'owner', 'triage'].forEach(function (name) {
      if (state[name]) {
        var label = name === 'triage' ? (TRIAGE_LABELS[state[name]] || state[name]) : name === 'repo' ? repoLabel(state[name]) : state[name];
        chip(name, label, function () { state[name] = ''; document.getElementById('filter-' + name).value = ''; });
      }
    });
    box.hidden = !chips.length;
    document.getElementById('findings').classList.toggle('filtered', chips.length > 0);
    if (chips.length) {
      add(box, el('strong', null, 'Filtered: showing ' + plural(view.length, 'finding') + ' of ' + findings.length + ' — '));
      chips.forEach(function (c) { box.appendChild(c); });
    }
  }

  // A tile or a step of the order of work filters a table that is further down: bring the table and the
  // bar that names the filter into view, and focus the filter's chip (Enter removes it, Tab goes on to the rows).
  function revealFilter(name) {
    var bar = document.getElementById('active-filters');
    document.getElementById('findings').scrollIntoView({ block: 'start' });
    if (bar.getBoundingClientRect().bottom > window.innerHeight / 2) { bar.scrollIntoView({ block: 'start' }); }
    var chip = bar.querySelector('button[data-filter-chip="' + name + '"]');
    if (chip) { chip.focus({ preventScroll: true }); }
  }

  function revealRows() {
    var top = document.getElementById('match-count');
    if (top.getBoundingClientRect().top < 0 || top.getBoundingClientRect().top > window.innerHeight) {
      top.scrollIntoView({ block: 'start' });
    }
  }

  function setupControls() {
    var form = document.getElementById('filters');
    form.addEventListener('submit', function (event) { event.preventDefault(); });
    var labels = { severity: 'All severities', rule: 'All rules', api: 'All APIs', fix: 'Any fix safety', repo: 'All repositories',
                   owner: 'All owners', triage: 'Any status' };
    var selects = form.querySelectorAll('select[data-filter]');
    for (var i = 0; i < selects.length; i++) {
      (function (select) {
        var name = select.getAttribute('data-filter');
        var all = el('option', null, labels[name]); all.value = ''; all.setAttribute('data-label', labels[name]);
        select.appendChild(all);
        (DATA.filters[name] || []).forEach(function (value) {
          var label = value;
          if (name === 'rule' && rules[value] && rules[value].name) { label = value + ' ' + rules[value].name; }
          if (name === 'fix' && value === 'none') { label = 'no fix'; }
          if (name === 'repo') { label = repoLabel(value); }
          if (name === 'triage') { label = TRIAGE_LABELS[value] || value; }
          var option = el('option', null, label); option.value = value; option.setAttribute('data-label', label);
          select.appendChild(option);
        });
        select.addEventListener('change', function () { state[name] = select.value; state.page = 0; update(); });
      })(selects[i]);
    }
    var search = document.getElementById('search');
    var timer = null;
    search.addEventListener('input', function () {
      clearTimeout(timer);
      // Debounced so typing stays fluid with 10,000 findings.
      timer = setTimeout(function () { state.q = search.value; state.page = 0; update(); }, 120);
    });
    search.addEventListener('keydown', function (event) {
      if (event.key === 'Enter') { clearTimeout(timer); state.q = search.value; state.page = 0; update(); }
      if (event.key === 'Escape') { search.value = ''; state.q = ''; state.page = 0; update(); }
    });
    document.getElementById('clear-filters').addEventListener('click', function () {
      state.tile = null; state.step = null; state.q = ''; search.value = ''; state.page = 0;
      for (var s = 0; s < selects.length; s++) { selects[s].value = ''; state[selects[s].getAttribute('data-filter')] = ''; }
      update();
    });
    var ths = document.querySelectorAll('#findings-table thead th[data-sort]');
    for (var t = 0; t < ths.length; t++) {
      (function (th) {
        var key = th.getAttribute('data-sort');
        var b = el('button', 'sort', th.textContent);
        b.type = 'button';
        b.setAttribute('aria-label', 'Sort by ' + th.textContent);
        b.addEventListener('click', function () {
          if (state.sortKey === key) { state.sortDir = -state.sortDir; } else { state.sortKey = key; state.sortDir = 1; }
          state.page = 0;
          update();
        });
        clear(th).appendChild(b);
      })(ths[t]);
    }
    // A new page starts at its first row, not where the reader left the last one (the pager stays focused).
    document.getElementById('page-prev').addEventListener('click', function () { state.page -= 1; update(); revealRows(); });
    document.getElementById('page-next').addEventListener('click', function () { state.page += 1; update(); revealRows(); });
    document.getElementById('detail-close').addEventListener('click', closeDetail);
    window.addEventListener('beforeprint', function () { printing = true; update(); });
    window.addEventListener('afterprint', function () { printing = false; update(); });
    document.addEventListener('keydown', function (event) {
      if (event.key === 'Escape' && !document.getElementById('detail').hidden) { closeDetail(); }
    });
  }

  // ---------- detail pane ----------
  function codeExcerpt(f) {
    var pre = el('pre', 'code');
    var ctxLines = arr(obj(f.context) && f.context.lines);
    var lines = ctxLines.length ? ctxLines : str(f.snippet).split('\n');
    var first = Number(ctxLines.length ? f.context.start_line : f.line) || 1;
    var line = Number(f.line) || first;
    var last = Number(f.end_line) || line;
    lines.forEach(function (text, i) {
      var n = first + i;
      var hit = n >= line && n <= last;
      var span = el('span', 'ln' + (hit ? ' hit' : ''));
      if (hit) { span.setAttribute('data-hit', 'true'); }
      add(span, el('span', 'num', n), str(text));
      pre.appendChild(span);
    });
    return pre;
  }

  // The sendMail body as JSON, except the values the script computes when it runs: those are PowerShell
  // expressions, shown unquoted and marked (a quoted "$EmailTo" would read as text the script sends).
  var RECIPIENT_FIELDS = { toRecipients: 1, ccRecipients: 1, bccRecipients: 1, replyTo: 1 };
  function requestBlock(request, expressionPaths) {
    var marked = {};
    expressionPaths.forEach(function (path) { marked[JSON.stringify(arr(path))] = true; });
    var pre = el('pre', 'graph-request');
    var text = '';
    var shapes = {};
    function flush() { if (text) { pre.appendChild(document.createTextNode(text)); text = ''; } }
    function pad(depth) { return new Array(depth + 1).join('  '); }
    function write(value, path, depth) {
      var key = path[path.length - 1];
      if (typeof value === 'string' && marked[JSON.stringify(path)]) {
        flush();
        var expr = el('span', 'ps-expr', value);
        expr.title = 'PowerShell, evaluated when the script runs';
        pre.appendChild(expr);
        if (RECIPIENT_FIELDS[key]) { shapes.recipients = true; } else if (key === 'from') { shapes.from = true; }
        else if (key === 'attachments') { shapes.attachments = true; }
        return;
      }
      if (Array.isArray(value) || (value && typeof value === 'object')) {
        var keys = Array.isArray(value) ? value.map(function (_, i) { return i; }) : Object.keys(value);
        var open = Array.isArray(value) ? '[' : '{', close = Array.isArray(value) ? ']' : '}';
        if (!keys.length) { text += open + close; return; }
        text += open + '\n';
        keys.forEach(function (k, i) {
          text += pad(depth + 1) + (Array.isArray(value) ? '' : JSON.stringify(k) + ': ');
          write(value[k], path.concat([k]), depth + 1);
          text += (i < keys.length - 1 ? ',' : '') + '\n';
        });
        text += pad(depth) + close;
        return;
      }
      text += JSON.stringify(value);
    }
    write(request, [], 0);
    flush();
    var box = el('div', 'graph-request-box');
    box.appendChild(pre);
    if (expressionPaths.length) {
      var notes = ['Marked values are PowerShell expressions, not text: the script computes them when it runs.'];
      if (shapes.recipients) { notes.push('A recipient list becomes one {"emailAddress": {"address": …}} per address.'); }
      if (shapes.from) { notes.push('from becomes {"emailAddress": {"address": …}}.'); }
      if (shapes.attachments) { notes.push('Each attachment path becomes one fileAttachment with the file\'s bytes.'); }
      box.appendChild(el('p', 'legend request-legend', notes.join(' ')));
    }
    return box;
  }

  function diffBlock(text) {
    var pre = el('pre', 'diff');
    str(text).split('\n').forEach(function (line) {
      var cls = 'ctx';
      if (/^(\+\+\+|---)/.test(line)) { cls = 'hunk'; }
      else if (line.charAt(0) === '+') { cls = 'add'; }
      else if (line.charAt(0) === '-') { cls = 'del'; }
      else if (line.indexOf('@@') === 0) { cls = 'hunk'; }
      pre.appendChild(el('span', cls, line));
    });
    return pre;
  }

  // `code` spans of a Markdown line become <code> elements; everything else stays plain text.
  function inline(tag, text) {
    var node = el(tag);
    str(text).split('`').forEach(function (part, i) {
      if (part) { node.appendChild(i % 2 ? el('code', null, part) : document.createTextNode(part.replace(/\*\*/g, ''))); }
    });
    return node;
  }

  // A small Markdown subset (headings, fenced code, lists, paragraphs) rendered as text nodes.
  // The docs' own title ("# SMTP001 send-mailmessage") is dropped: the pane already has the rule's heading.
  function ruleDocs(markdown, ruleId) {
    var box = el('div', 'docs');
    var lines = str(markdown).split('\n');
    var first = 0;
    while (first < lines.length && !lines[first].trim()) { first++; }
    if (first < lines.length && /^#{1,6}\s/.test(lines[first]) &&
        lines[first].replace(/^#+\s+/, '').split(/\s+/)[0] === str(ruleId)) { lines = lines.slice(first + 1); }
    var para = [], listEl = null, code = null;
    function flush() {
      if (para.length) { box.appendChild(inline('p', para.join(' '))); para = []; }
      listEl = null;
    }
    lines.forEach(function (line) {
      if (code !== null) {
        if (/^```/.test(line)) { box.appendChild(el('pre', null, code.join('\n'))); code = null; }
        else { code.push(line); }
        return;
      }
      if (/^```/.test(line)) { flush(); code = []; return; }
      var heading = /^#{1,6}\s+(.*)$/.exec(line);
      if (heading) { flush(); box.appendChild(inline('h4', heading[1])); return; }
      var item = /^\s*[-*]\s+(.*)$/.exec(line);
      if (item) {
        if (para.length) { box.appendChild(inline('p', para.join(' '))); para = []; }
        if (!listEl) { listEl = el('ul', 'plain'); box.appendChild(listEl); }
        listEl.appendChild(inline('li', item[1]));
        return;
      }
      if (!line.trim()) { flush(); return; }
      para.push(line.trim());
    });
    if (code !== null) { box.appendChild(el('pre', null, code.join('\n'))); }
    flush();
    return box;
  }

  function openDetail(f, opener) {
    lastOpener = opener || null;
    var pane = document.getElementById('detail');
    var body = clear(document.getElementById('detail-body'));
    document.getElementById('detail-title').textContent = f.rule + ' ' + str(f.name);
    var selected = document.querySelectorAll('tr.finding-row.selected');
    for (var s = 0; s < selected.length; s++) { selected[s].classList.remove('selected'); }
    var row = document.querySelector('tr.finding-row[data-id="' + f.id + '"]');
    if (row) { row.classList.add('selected'); }
    pane.setAttribute('data-finding', String(f.id));

    add(body, el('p', 'message', f.message));
    add(body, kv([
      ['Script', repoLabel(f.repo) + ' / ' + repoPath(f) + ':' + f.line + (f.column ? ':' + f.column : '')],
      ['Status', (TRIAGE_LABELS[f.triage] || str(f.triage)) + (f.work_step ? ' (step ' + f.work_step + ' of the order of work)' : '')],
      ['Owner', f.owner ? f.owner + ' (from ' + str(f.owner_source).replace('-', ' ') + ')'
        : 'none: no CODEOWNERS, owners map or git history names one. ' + str(DATA.owner_hint)],
      ['Due', f.retirement === 'ews' ? f.retirement_date + ' (EWS in Exchange Online: blocked by default since 2026-10-01, off for good on ' + f.retirement_date + ')' : (f.due || DATA.due)],
      ['Severity', f.severity + (f.confidence ? ' (confidence ' + f.confidence + ')' : '')],
      ['API', f.call ? api(f) + ' — ' + str(f.call.command) + (f.call.form ? ' (' + f.call.form + ')' : '') : null],
      ['Sender', f.call ? (f.sender || 'dynamic (not a constant)') : null],
      ['Credential user', f.credential_user],
      ['Fingerprint', f.fingerprint]
    ]));
    var a = obj(f.assessment);
    if (a) {
      add(body, el('h3', null, 'What the retirement does'));
      add(body, kv([
        ['Verdict', a.verdict],
        ['Breaks', a.breaks === true ? 'yes' : a.breaks === false ? 'no' : 'cannot tell'],
        ['Server', str(a.server_text || '(none)') + ' — ' + str(a.server)],
        ['Credential', a.credential],
        ['Migration', a.migration]
      ]));
    }
    add(body, el('h3', null, 'Code'), codeExcerpt(f));
    var params = f.call ? obj(f.call.params) : null;
    if (params && Object.keys(params).length) {
      var rows = Object.keys(params).map(function (name) {
        var p = obj(params[name]) || {};
        var where = str(p.reason);
        if (p.line && where.indexOf('line ' + p.line) < 0) { where += (where ? ', ' : '') + 'line ' + p.line; }
        return [name, add(el('code'), str(p.text)), str(p.kind), p.conditional ? 'yes' : 'no', where];
      });
      add(body, el('h3', null, 'Bound parameters'),
        table('Parameters of the mail call and where each value came from',
          ['Parameter', 'Value', 'Kind', 'Conditional', 'Provenance'], rows, 'data params'));
    }
    var callNotes = f.call ? arr(f.call.notes).slice() : [];
    if (f.call && f.call.sent === false) { callNotes.unshift('A client is configured here but no send was seen in this file.'); }
    if (callNotes.length) { add(body, el('h4', null, 'Binding notes'), list(callNotes)); }
    if (arr(f.related_locations).length) {
      add(body, el('h3', null, 'Related locations'), list(f.related_locations.map(function (r) {
        r = obj(r) || {};
        return str(r.role) + ': ' + str(r.path) + ':' + str(r.line);
      })));
    }
    var fix = obj(f.fix) || {};
    add(body, el('h3', null, 'Fix'), kv([
      ['Applicability', fix.available ? str(fix.applicability) : 'no automatic fix'],
      ['Why', fix.reason]
    ]));
    if (arr(fix.notes).length) { add(body, el('h4', null, 'Behaviour differences'), list(fix.notes.map(str))); }
    if (obj(fix.snippet)) {
      Object.keys(fix.snippet).forEach(function (style) {
        if (!fix.snippet[style]) { return; }
        if (style === 'mailkit_xoauth2') {
          // Not Graph: the same MailKit client with an app-only OAuth token, for a person to apply (never by fix).
          add(body, el('h4', null, 'Keep MailKit: SMTP OAuth 2.0 (XOAUTH2)'),
            el('p', 'note', 'Display-only alternative to the Graph snippets: keeps MailKit and logs on with an app-only ' +
              'token instead of the password. An administrator must set the app up first (the steps are in the snippet).'),
            el('pre', 'snippet', fix.snippet[style]));
          return;
        }
        add(body, el('h4', null, 'Graph snippet (' + style.replace(/_/g, '-') + ')'), el('pre', 'snippet', fix.snippet[style]));
      });
    }
    if (fix.graph_request) {
      add(body, el('h4', null, 'Graph request (the sendMail body)'), requestBlock(fix.graph_request, arr(fix.graph_request_expressions)));
    }
    var patch = (typeof fix.patch === 'number' && arr(DATA.patches)[fix.patch]) ? obj(DATA.patches[fix.patch]) : null;
    if (patch && patch.diff) {
      // The whole file's patch, byte for byte what `smtp2graph fix --out` writes (import line included).
      add(body, inline('h4', 'Patch: what `smtp2graph fix --out' + (patch.unsafe_fixes ? ' --unsafe-fixes' : '') +
        '` writes for this file'), diffBlock(str(patch.diff)));
      if (patch.applies === false) {
        add(body, el('p', 'note', 'A secret sits on or next to a changed line (shown as ***): this diff will not `git apply`; use smtp2graph fix.'));
      }
    } else if (patch) {
      add(body, el('p', 'note', 'This file\'s patch is too large to show here; smtp2graph fix --out writes it.'));
    } else if (fix.diff) { add(body, el('h4', null, 'Patch (this call)'), diffBlock(fix.diff)); }
    var rule = rules[f.rule];
    if (rule) {
      add(body, el('h3', 'rule-docs-title', 'Rule documentation'));
      if (rule.summary) { add(body, el('p', null, rule.summary)); }
      if (rule.docs) { add(body, ruleDocs(rule.docs, f.rule)); }
      var href = safeUrl(rule.help_uri);
      if (href) {
        var link = el('a', null, href); link.href = href; link.rel = 'noopener noreferrer'; link.target = '_blank';
        add(body, add(el('p'), 'More: ', link));
      }
    }
    pane.hidden = false;
    document.documentElement.classList.add('detail-open');
    pane.scrollTop = 0;
    pane.focus();
  }

  function closeDetail() {
    var pane = document.getElementById('detail');
    pane.hidden = true;
    document.documentElement.classList.remove('detail-open');
    pane.removeAttribute('data-finding');
    if (lastOpener && document.body.contains(lastOpener)) { lastOpener.focus(); }
  }

  // ---------- senders, problems, audit ----------
  // The sender list's verdicts ("breaks", "may break") as the findings table's status badges.
  var VERDICT_STATUS = { breaks: 'will-break', 'may break': 'may-break' };
  function verdictBadges(verdicts) {
    var box = el('span', 'verdicts');
    verdicts.forEach(function (verdict) {
      var status = VERDICT_STATUS[verdict];
      box.appendChild(el('span', 'status-badge' + (status ? ' status-' + status : ''), status ? TRIAGE_LABELS[status] : verdict));
    });
    return box;
  }

  function renderSenders() {
    var box = clear(document.getElementById('senders-static'));
    if (!DATA.senders.length) { box.appendChild(el('p', 'empty', 'No constant sender mailbox found.')); }
    else {
      box.appendChild(table('Sender mailboxes (' + DATA.senders.length + ')',
        ['Sender mailbox', 'Verdict', 'Scripts', 'Credential', 'Credential user', 'SMTP server', 'APIs', 'Calls'],
        DATA.senders.map(function (s) {
          return [breakable(s.mailbox), verdictBadges(arr(s.verdicts)), list(s.scripts.map(function (sc) {
            return breakable(repoLabel(sc.repo) + ' / ' + sc.path + ':' + sc.lines.join(','));
          })), s.credentials.join(', '), s.credential_users.join(', '), breakable(s.servers.join(', ')), s.apis.join(', '), s.findings];
        }), 'data senders'));
      // The bare list, ready to paste into a RecipientRestrictionFilter or a group.
      var mailboxes = el('details', 'mailbox-list');
      add(mailboxes, add(el('summary'), 'Mailbox list (' + DATA.senders.length + '), one per line; ',
        el('code', null, 'smtp2graph kit DIR --senders-from SCAN.json'),
        ' writes the RBAC for Applications scoping commands for them'),
        el('pre', null, DATA.senders.map(function (s) { return s.mailbox; }).join('\n')));
      box.appendChild(mailboxes);
    }
    var out = clear(document.getElementById('senders-excluded'));
    var excluded = arr(DATA.excluded_senders);
    if (!excluded.length) { out.appendChild(el('p', 'empty', 'None.')); }
    else {
      out.appendChild(table('Senders left out of the app\'s scope (' + excluded.length + ')', ['Mailbox', 'Why', 'Scripts'],
        excluded.map(function (e) { return [breakable(e.mailbox), str(e.reason), breakable(arr(e.scripts).map(str).join(', '))]; }), 'data excluded-senders'));
    }
    var dyn = clear(document.getElementById('senders-dynamic'));
    if (!DATA.dynamic_senders.length) { dyn.appendChild(el('p', 'empty', 'None: every sender is a constant.')); return; }
    dyn.appendChild(table('Calls whose sender is known only at run time (' + DATA.dynamic_senders.length + ')',
      ['Script', 'Verdict', 'From (as written)', 'Where the value comes from', 'Credential', 'SMTP server'],
      DATA.dynamic_senders.map(function (d) {
        return [breakable(repoLabel(d.repo) + ' / ' + d.path + ':' + d.line), verdictBadges([str(d.verdict)]), add(el('code'), d.from_text || '(none)'), d.reason, d.credential, breakable(d.server)];
      }), 'data dynamic-senders'));
  }

  function renderProblems() {
    var box = clear(document.getElementById('problems-body'));
    var failed = DATA.repositories.reduce(function (n, r) { return n + r.files_failed; }, 0);
    box.appendChild(table('Repositories (' + DATA.repositories.length + ')',
      ['Repository', 'Generated', 'Files scanned', 'Files failed', 'Findings', 'smtp2graph'],
      DATA.repositories.map(function (r) {
        return [r.name, r.generated_at, r.files_scanned, r.files_failed, r.findings, r.tool_version];
      }), 'data repos'));
    if (DATA.errors.length || failed) {
      box.appendChild(table('Files that could not be scanned (' + DATA.errors.length + ')', ['File', 'Reason'],
        DATA.errors.map(function (e) { return [repoLabel(e.repo) + ' / ' + str(e.path), e.message]; }), 'data errors'));
    } else {
      box.appendChild(el('p', 'empty', 'Every file was scanned.'));
    }
    if (DATA.unused_suppressions.length) {
      box.appendChild(table('Unused suppressions (' + DATA.unused_suppressions.length + ')', ['Where', 'Rules'],
        DATA.unused_suppressions.map(function (u) {
          return [str(u.repo) + ' / ' + str(u.path) + ':' + str(u.line), arr(u.rules).join(', ')];
        }), 'data unused'));
    }
  }

  function section(part, title, render) {
    var box = el('div', 'audit-part');
    box.appendChild(el('h4', null, title));
    if (!part) { box.appendChild(el('p', 'empty', 'Not collected.')); return box; }
    if (part.status && part.status !== 'ok') {
      box.appendChild(el('p', 'status', 'Status: ' + part.status + (part.message ? ' — ' + part.message : '')));
    }
    render(box, part);
    return box;
  }

  function renderAudit() {
    if (!DATA.audits.length) { return; }
    document.getElementById('audit').hidden = false;
    document.getElementById('nav-audit').hidden = false;
    var box = clear(document.getElementById('audit-body'));
    DATA.audits.forEach(function (audit) {
      box.appendChild(el('h3', null, 'Tenant ' + str(audit.tenant) + ' — last ' + str(audit.days) + ' days (' + str(audit.generated_at) + ')'));
      box.appendChild(section(audit.mail_send_apps, 'Apps allowed to send mail (Mail.Send)', function (b, part) {
        var items = arr(part.items);
        b.appendChild(items.length ? table('Apps with Mail.Send (' + items.length + ')',
          ['App', 'App ID', 'Service principal', 'Granted'],
          items.map(function (i) { return [i.display_name, i.app_id, i.service_principal_id, str(i.granted)]; }), 'data audit-apps')
          : el('p', 'empty', 'No app holds Mail.Send.'));
      }));
      box.appendChild(section(audit.smtp_auth_signins, 'SMTP AUTH sign-ins', function (b, part) {
        var items = arr(part.items);
        b.appendChild(items.length ? table('Accounts signing in with SMTP AUTH (' + items.length + ')',
          ['Account', 'Sign-ins', 'Success', 'Failure', 'Last seen', 'Client IPs'],
          items.map(function (i) {
            return [i.account, i.count, i.success, i.failure, i.last_seen, arr(i.client_ips).join(', ')];
          }), 'data audit-signins')
          : el('p', 'empty', 'No SMTP AUTH sign-in in this period.'));
      }));
      if (audit.correlation) {
        box.appendChild(section(audit.correlation, 'Correlation with the scanned scripts', function (b, part) {
          var unscanned = arr(part.unscanned_accounts), silent = arr(part.silent_senders);
          b.appendChild(unscanned.length ? table('Accounts using SMTP AUTH that no scanned script explains (' + unscanned.length + ')',
            ['Account', 'Sign-ins', 'Advice'], unscanned.map(function (u) { return [u.account, u.count, u.advice]; }), 'data audit-unscanned')
            : el('p', 'empty', 'Every SMTP AUTH account is explained by a scanned script.'));
          b.appendChild(silent.length ? table('Senders in scripts with no sign-in seen (' + silent.length + ')',
            ['Account', 'Scripts', 'Advice'], silent.map(function (s) { return [s.account, arr(s.scripts).join(', '), s.advice]; }), 'data audit-silent')
            : el('p', 'empty', 'Every scripted sender signed in during the period.'));
        }));
      }
    });
  }

  function renderOwnerHint() {
    var hint = document.getElementById('owner-hint');
    if (!DATA.unowned || !DATA.owner_hint) { return; }
    hint.hidden = false;
    hint.querySelector('summary').textContent = (DATA.unowned === findings.length ? 'No finding has an owner' :
      plural(DATA.unowned, 'finding') + ' of ' + findings.length + (DATA.unowned === 1 ? ' has' : ' have') + ' no owner') +
      ': how to name one';
    hint.querySelector('p').textContent = str(DATA.owner_hint);
  }

  renderHeader();
  renderOwnerHint();
  setupControls();
  update();
  renderSenders();
  renderProblems();
  renderAudit();
  document.documentElement.setAttribute('data-rendered', 'true');
  if (window.performance && performance.mark) { performance.mark('report-rendered'); }
})();
