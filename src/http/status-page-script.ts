/**
 * The status page's script (inline; plain ES2017 so any current browser runs
 * it). It listens to `events` (SSE, relative URL so the page also works
 * behind a path prefix such as the Kubernetes API proxy) and falls back to
 * polling `health?probe=live` (200 even when unhealthy) every second when EventSource is missing or no event came
 * within 5 s (a buffering proxy). Every value from the node is inserted with
 * textContent, never as HTML: keys, subjects and errors come from peers.
 * A section is rebuilt only when its data changed; relative times tick on
 * their own.
 */
export const STATUS_PAGE_SCRIPT = `
(function () {
  'use strict';
  var rendered = {};
  var me = null;
  var lastData = 0;

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function isKey(v) { return typeof v === 'string' && /^[0-9a-f]{64}$/.test(v); }
  function keyEl(v) {
    if (!isKey(v)) return el('span', 'mono', v === null || v === undefined ? '\\u2014' : v);
    var s = el('span', 'mono', v === me ? 'this node' : v.slice(0, 8) + '\\u2026' + v.slice(-4));
    s.title = v;
    return s;
  }
  function text(v) { return v === null || v === undefined || v === '' ? '\\u2014' : String(v); }
  function num(v) { return typeof v === 'number' && isFinite(v) ? v : null; }
  function bytes(n) {
    if (typeof n !== 'number' || !isFinite(n)) return '\\u2014';
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0, v = n;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return i === 0 ? n + ' B' : v.toFixed(v < 10 ? 1 : 0) + ' ' + u[i];
  }
  function rel(ms) {
    var d = Math.round((Date.now() - ms) / 1000), a = Math.abs(d), s;
    if (a < 60) s = a + ' s';
    else if (a < 3600) s = Math.floor(a / 60) + ' min';
    else if (a < 86400) s = Math.floor(a / 3600) + ' h';
    else s = Math.floor(a / 86400) + ' d';
    return d >= 0 ? s + ' ago' : 'in ' + s;
  }
  function timeEl(ms) {
    if (typeof ms !== 'number') return el('span', 'muted', 'never');
    var t = el('time', 'rel', rel(ms));
    var iso = new Date(ms).toISOString();
    t.setAttribute('datetime', iso);
    t.setAttribute('data-ms', String(ms));
    t.title = iso;
    return t;
  }
  function tick() {
    var ts = document.querySelectorAll('time.rel');
    for (var i = 0; i < ts.length; i++) ts[i].textContent = rel(Number(ts[i].getAttribute('data-ms')));
    var up = $('uptime').getAttribute('data-ms');
    if (up) $('uptime').textContent = rel(Number(up)).replace(' ago', '');
    if (lastData && Date.now() - lastData > 5000) live('off', 'no update for ' + rel(lastData).replace(' ago', ''));
  }
  var TONE = { Active: 'ok', Running: 'ok', Connected: 'ok', done: 'ok', New: 'info', queued: 'info',
    downloading: 'info', completing: 'info', Connecting: 'warn', Unknown: 'warn', Inactive: 'bad',
    Disconnected: 'bad', Closed: 'bad', Error: 'bad', failed: 'bad' };
  function pill(status) { return el('span', 'pill ' + (TONE[status] || 'muted'), text(status)); }
  function cell(v) { return v instanceof Node ? v : document.createTextNode(text(v)); }
  function table(cols, rows) {
    var t = el('table'), thead = el('thead'), hr = el('tr'), tb = el('tbody');
    cols.forEach(function (c) { hr.appendChild(el('th', c.cls || '', c.label)); });
    thead.appendChild(hr);
    rows.forEach(function (r) {
      var tr = el('tr');
      r.forEach(function (v, i) {
        var td = el('td', cols[i].cls || '');
        td.setAttribute('data-label', cols[i].label);
        td.appendChild(cell(v));
        tr.appendChild(td);
      });
      tb.appendChild(tr);
    });
    t.appendChild(thead);
    t.appendChild(tb);
    var wrap = el('div', 'scroll');
    wrap.appendChild(t);
    return wrap;
  }
  function empty(msg) { return el('p', 'empty', msg); }
  function errCell(v) { return v ? el('span', 'err', v) : el('span', 'muted', '\\u2014'); }
  function stack(a, b) {
    var d = el('div');
    d.appendChild(cell(a));
    if (b !== undefined && b !== null) d.appendChild(el('span', 'sub', b));
    return d;
  }
  function lag(sync, author, kind) {
    if (!Array.isArray(sync) || !author) return '\\u2014';
    var total = null;
    sync.forEach(function (s) {
      if (s && s.author === author && s.kind === kind && num(s.lag) !== null) total = (total || 0) + s.lag;
    });
    return total === null ? '\\u2014' : String(total);
  }

  function section(id, value, fn) {
    var json = JSON.stringify(value === undefined ? null : value);
    if (rendered[id] === json) return;
    rendered[id] = json;
    var box = $(id);
    box.querySelector('.body').replaceChildren(fn(value));
  }
  function count(id, n) { $(id).querySelector('.count').textContent = n === null ? '' : '(' + n + ')'; }

  function peers(list) {
    if (!Array.isArray(list)) return empty('Not reported by this node.');
    if (list.length === 0) return empty('No peers known yet.');
    var now = Date.now();
    return table([{ label: 'peer' }, { label: 'state' }, { label: 'addresses' }, { label: 'connected since' },
      { label: 'last seen' }, { label: 'last error', cls: 'err' }], list.map(function (p) {
      var banned = typeof p.banned_until === 'number' && p.banned_until > now;
      var state = el('span', 'dot ' + (banned ? 'bad' : p.connected ? 'ok' : 'muted'),
        banned ? 'banned' : p.connected ? 'connected' : 'disconnected');
      var st = stack(state, (p.configured ? 'configured' : 'discovered') + via(p));
      if (banned) { st.appendChild(el('span', 'sub', 'lifts ')); st.lastChild.appendChild(timeEl(p.banned_until)); }
      var ul = el('ul', 'addrs mono');
      (Array.isArray(p.addresses) ? p.addresses : []).forEach(function (a) { ul.appendChild(el('li', '', a)); });
      return [keyEl(p.id), st, ul, p.connected ? timeEl(p.connected_since) : '\\u2014', timeEl(p.last_seen), errCell(p.last_error)];
    }));
  }

  function via(p) {
    if (!p || p.via === 'direct') return p && p.connected ? ' \u00b7 direct' : '';
    if (p.via !== 'relay') return '';
    var left = num(p.relay_limit_bytes);
    return ' \u00b7 via relay' + (left === null ? '' : ' (' + bytes(left) + ' left on this circuit)');
  }

  function reach(r) {
    if (!r || typeof r !== 'object') return empty('Not reported by this node.');
    var TONES = { 'public': 'ok', 'private': 'warn', unknown: 'muted' };
    var d = el('div');
    d.appendChild(el('span', 'pill ' + (TONES[r.reachability] || 'muted'), text(r.reachability)));
    if (Array.isArray(r.observed) && r.observed.length) d.appendChild(el('span', 'sub', 'seen by peers as ' + r.observed.join(', ')));
    var rows = [];
    var ul = el('ul', 'addrs mono');
    (Array.isArray(r.announced) ? r.announced : []).forEach(function (a) { ul.appendChild(el('li', '', a)); });
    rows.push(['announced', ul]);
    rows.push(['relay slots held', Array.isArray(r.reservations) && r.reservations.length ? r.reservations.join(', ') : '\u2014 (relay.reserve: ' + text(r.reserve) + ')']);
    if (r.relay) {
      rows.push(['relaying for others', r.relay.reservations + ' of ' + r.relay.max_reservations + ' reservations \u00b7 ' +
        bytes(num(r.relay.circuit_bytes) || 0) + ' / ' + r.relay.circuit_duration_seconds + ' s per circuit \u00b7 refused: ' +
        r.relay.refused_outsiders + ' outsiders, ' + r.relay.refused_flood + ' beyond the rate']);
    }
    d.appendChild(table([{ label: 'what' }, { label: 'value' }], rows));
    return d;
  }

  function streams(v) {
    var rows = [];
    (v.streams.published || []).forEach(function (s) {
      rows.push(['published', stack(s.subject, 'stream ' + s.stream), '\\u2014', pill(s.status), '\\u2014', timeEl(s.last_check_time), errCell(s.last_error)]);
    });
    (v.streams.subscribed || []).forEach(function (s) {
      rows.push(['subscribed', stack(s.subject, 'stream ' + s.stream), keyEl(s.source), pill(s.status), lag(v.sync, s.source, 'nats'), timeEl(s.last_check_time), errCell(s.last_error)]);
    });
    if (rows.length === 0) return empty('No streams configured.');
    return table([{ label: 'direction' }, { label: 'subject' }, { label: 'author' }, { label: 'status' },
      { label: 'lag', cls: 'num' }, { label: 'checked' }, { label: 'last error', cls: 'err' }], rows);
  }

  function buckets(v) {
    var rows = [];
    (v.stores.published || []).forEach(function (b) {
      rows.push(['published', b.bucket, '\\u2014', pill(b.status), '\\u2014', timeEl(b.last_check_time), errCell(b.last_error)]);
    });
    (v.stores.subscribed || []).forEach(function (b) {
      rows.push(['subscribed', stack(b.local_bucket, 'from ' + b.remote_bucket), keyEl(b.source), pill(b.status), lag(v.sync, b.source, 'blobs'), timeEl(b.last_check_time), errCell(b.last_error)]);
    });
    if (rows.length === 0) return empty('No buckets configured.');
    return table([{ label: 'direction' }, { label: 'bucket' }, { label: 'author' }, { label: 'status' },
      { label: 'lag', cls: 'num' }, { label: 'checked' }, { label: 'last error', cls: 'err' }], rows);
  }

  // Traffic: rates between successive samples of the totals, drawn as small SVG charts.
  var SVG = 'http://www.w3.org/2000/svg';
  function rates(history, field) {
    var out = [];
    for (var i = 1; i < history.length; i++) {
      var a = history[i - 1], b = history[i], dt = (b.t - a.t) / 1000;
      if (dt > 0 && num(a[field]) !== null && num(b[field]) !== null) out.push(Math.max(0, (b[field] - a[field]) / dt));
    }
    return out;
  }
  function perSecond(v, isBytes) {
    if (v === null || v === undefined) return '\\u2014';
    return isBytes ? bytes(Math.round(v)) + '/s' : (v < 10 ? v.toFixed(1) : String(Math.round(v))) + '/s';
  }
  function chart(title, inRates, outRates, isBytes) {
    var box = el('div', 'chart');
    var last = function (a) { return a.length ? a[a.length - 1] : null; };
    box.appendChild(el('div', 'chart-title', title));
    var legend = el('div', 'sub');
    legend.appendChild(el('span', 'in', 'in ' + perSecond(last(inRates), isBytes)));
    legend.appendChild(document.createTextNode(' \\u00b7 '));
    legend.appendChild(el('span', 'out', 'out ' + perSecond(last(outRates), isBytes)));
    box.appendChild(legend);
    var w = 300, h = 60, max = Math.max.apply(null, [1].concat(inRates, outRates));
    var svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', title);
    [[inRates, 'in'], [outRates, 'out']].forEach(function (pair) {
      var pts = pair[0], n = pts.length;
      var line = document.createElementNS(SVG, 'polyline');
      line.setAttribute('class', pair[1]);
      line.setAttribute('points', pts.map(function (v, i) {
        var x = n > 1 ? (i / (n - 1)) * w : w;
        return x.toFixed(1) + ',' + (h - 2 - (v / max) * (h - 4)).toFixed(1);
      }).join(' '));
      svg.appendChild(line);
    });
    box.appendChild(svg);
    return box;
  }
  function traffic(t) {
    if (!t || !Array.isArray(t.history)) return empty('Not reported by this node.');
    if (t.history.length < 2) return empty('Measuring\\u2026 (a sample every ' + Math.round((t.interval_ms || 5000) / 1000) + ' s)');
    var h = t.history, first = h[0], last = h[h.length - 1];
    var wrap = el('div', 'charts');
    wrap.appendChild(chart('messages', rates(h, 'messages_in'), rates(h, 'messages_out'), false));
    wrap.appendChild(chart('bytes', rates(h, 'bytes_in'), rates(h, 'bytes_out'), true));
    wrap.appendChild(el('p', 'sub', 'since start: ' + last.messages_in + ' messages and ' + bytes(last.bytes_in) +
      ' received, ' + last.messages_out + ' messages and ' + bytes(last.bytes_out) + ' served; charts cover the last ' +
      Math.max(1, Math.round((last.t - first.t) / 60000)) + ' min'));
    return wrap;
  }

  // Transfer speed and time left, from the progress seen at the previous update.
  var seen = {};
  function speed(t, done, size) {
    var id = t.local_bucket + '/' + t.key, now = Date.now(), prev = seen[id];
    if (!prev || done < prev.done) seen[id] = { done: done, t: now, rate: null };
    else if (done > prev.done && now > prev.t) seen[id] = { done: done, t: now, rate: (done - prev.done) / ((now - prev.t) / 1000) };
    var rate = seen[id].rate;
    if (t.state !== 'downloading' || !rate) return '';
    return ' \\u00b7 ' + bytes(Math.round(rate)) + '/s \\u00b7 ' + Math.ceil((size - done) / rate) + ' s left';
  }

  var ORDER = { downloading: 0, completing: 1, queued: 2, failed: 3, done: 4 };
  function transfers(list) {
    if (!Array.isArray(list)) return empty('Not reported by this node.');
    if (list.length === 0) return empty('No blob transfers.');
    var rank = function (t) { return t && ORDER.hasOwnProperty(t.state) ? ORDER[t.state] : 9; };
    var sorted = list.slice().sort(function (a, b) { return rank(a) - rank(b); });
    return table([{ label: 'object' }, { label: 'state' }, { label: 'progress', cls: 'progress' }, { label: 'from' },
      { label: 'started' }, { label: 'last error', cls: 'err' }], sorted.map(function (t) {
      var size = num(t.size) || 0, done = Math.min(num(t.done) || 0, size);
      var bar = el('progress');
      bar.max = size > 0 ? size : 1;
      bar.value = size > 0 ? done : t.state === 'done' ? 1 : 0;
      bar.setAttribute('data-transfer', t.local_bucket + '/' + t.key);
      var pct = size > 0 ? Math.floor((done / size) * 100) : t.state === 'done' ? 100 : 0;
      var prog = stack(bar, pct + ' % \\u00b7 ' + bytes(done) + ' of ' + bytes(size) + speed(t, done, size));
      var obj = stack(el('span', 'mono', t.key), t.local_bucket);
      if (isKey(t.hash)) obj.lastChild.textContent += ' \\u00b7 ' + t.hash.slice(0, 12);
      var from = t.via === 'relay' ? stack(keyEl(t.peer), 'via relay: bounded by its limits') : keyEl(t.peer);
      return [obj, pill(t.state), prog, from, timeEl(t.started_at), errCell(t.last_error)];
    }));
  }

  function serving(list) {
    if (!Array.isArray(list)) return empty('Not reported by this node.');
    if (list.length === 0) return empty('Nothing served to peers in the last minute.');
    return table([{ label: 'object' }, { label: 'to' }, { label: 'progress', cls: 'progress' }, { label: 'started' },
      { label: 'last sent' }], list.map(function (o) {
      var size = num(o.size) || 0, sent = Math.min(num(o.sent) || 0, size);
      var bar = el('progress');
      bar.max = size > 0 ? size : 1;
      bar.value = size > 0 ? sent : 1;
      bar.setAttribute('data-serving', o.peer + '/' + o.bucket + '/' + o.key);
      var pct = size > 0 ? Math.floor((sent / size) * 100) : 100;
      return [stack(el('span', 'mono', o.key), o.bucket), keyEl(o.peer),
        stack(bar, pct + ' % \\u00b7 ' + bytes(sent) + ' of ' + bytes(size)), timeEl(o.started_at), timeEl(o.last_at)];
    }));
  }

  function sync(v) {
    if (!Array.isArray(v)) return empty('Not reported by this node.');
    if (v.length === 0) return empty('No logs replicated yet.');
    return table([{ label: 'author' }, { label: 'kind' }, { label: 'log' }, { label: 'height', cls: 'num' },
      { label: 'head', cls: 'num' }, { label: 'lag', cls: 'num' }, { label: 'durable', cls: 'num' },
      { label: 'from' }, { label: 'updated' }], v.map(function (s) {
      return [keyEl(s.author), s.kind, el('span', 'mono', text(s.log)), s.height, s.head, s.lag, s.durable, keyEl(s.last_peer), timeEl(s.last_update)];
    }));
  }

  function errors(list) {
    if (!Array.isArray(list)) return empty('Not reported by this node.');
    if (list.length === 0) return empty('No recent errors.');
    return table([{ label: 'when' }, { label: 'component' }, { label: 'message', cls: 'err' }], list.map(function (e) {
      var msg = text(e.message) + (num(e.count) !== null && e.count > 1 ? ' (\u00d7' + e.count + ')' : '');
      return [timeEl(e.time), el('span', 'mono', text(e.component)), el('span', e.level === 'warn' ? 'warn' : 'err', msg)];
    }));
  }

  function configWarnings(list) {
    if (!Array.isArray(list)) return empty('Not reported by this node.');
    if (list.length === 0) return empty('No ignored keys.');
    return table([{ label: 'key' }, { label: 'why it was ignored', cls: 'err' }], list.map(function (w) {
      return [el('span', 'mono', text(w.path)), text(w.message)];
    }));
  }

  function header(h) {
    var node = h.node || {};
    me = isKey(node.public_key) ? node.public_key : null;
    $('node-id').textContent = text(node.public_key);
    $('network').textContent = text(node.network_id);
    $('version').textContent = text(node.version);
    if (typeof node.started_at === 'number') {
      $('uptime').setAttribute('data-ms', String(node.started_at));
      $('uptime').textContent = rel(node.started_at).replace(' ago', '');
      $('uptime').title = new Date(node.started_at).toISOString();
    }
    var st = $('status');
    st.className = 'pill badge ' + (TONE[h.status] || 'muted');
    st.textContent = text(h.status);
    var n = h.nats || {};
    var nats = $('nats');
    nats.replaceChildren(pill(n.status), document.createTextNode(' ' + text(n.server)));
    if (n.last_error) nats.appendChild(el('span', 'sub err', n.last_error));
    var probs = $('problems');
    var reasons = typeof h.msg === 'string' && h.msg ? h.msg.split('; ') : [];
    probs.hidden = reasons.length === 0;
    probs.replaceChildren.apply(probs, reasons.map(function (r) { return el('li', '', r); }));
    document.title = 'rhio ' + (me ? me.slice(0, 8) : '') + ' \\u00b7 ' + text(h.status);
  }

  function render(h) {
    if (!h || typeof h !== 'object') return;
    lastData = Date.now();
    header(h);
    section('traffic', h.traffic, traffic);
    section('peers', h.peers, peers);
    section('reachability', h.reachability, reach);
    count('peers', Array.isArray(h.peers) ? h.peers.filter(function (p) { return p && p.connected; }).length + ' connected' : null);
    section('streams', { streams: h.streams || {}, sync: h.sync }, streams);
    section('buckets', { stores: h.stores || {}, sync: h.sync }, buckets);
    section('transfers', h.transfers, transfers);
    count('transfers', Array.isArray(h.transfers) ? h.transfers.length : null);
    section('serving', h.serving, serving);
    count('serving', Array.isArray(h.serving) ? h.serving.length : null);
    section('sync', h.sync, sync);
    section('errors', h.errors, errors);
    count('errors', Array.isArray(h.errors) ? h.errors.length : null);
    section('config', h.config_warnings, configWarnings);
    count('config', Array.isArray(h.config_warnings) ? h.config_warnings.length : null);
    $('updated').textContent = 'updated ' + new Date(lastData).toLocaleTimeString();
  }

  function live(state, label) {
    var l = $('live');
    l.className = 'live ' + state;
    l.textContent = label;
  }

  var polling = false;
  function poll() {
    if (polling) return;
    polling = true;
    live('', 'polling');
    var once = function () {
      fetch('health?probe=live', { cache: 'no-store' }).then(function (r) { return r.json(); }).then(function (h) {
        render(h);
        live('on', 'live (polling)');
      }, function () { live('off', 'node unreachable'); });
    };
    once();
    setInterval(once, 1000);
  }

  function listen() {
    if (typeof EventSource !== 'function') return poll();
    var es = new EventSource('events');
    var got = false;
    es.addEventListener('health', function (ev) {
      got = true;
      live('on', 'live');
      try { render(JSON.parse(ev.data)); } catch (e) { live('off', 'bad data'); }
    });
    es.onerror = function () { live('off', 'reconnecting\\u2026'); };
    setTimeout(function () { if (!got) { es.close(); poll(); } }, 5000);
  }

  // the state served with the page: shown at once, before the first event
  var initial = $('initial-state');
  if (initial) {
    try { render(JSON.parse(initial.textContent)); live('', 'connecting\u2026'); } catch (e) { /* events will fill it */ }
  }
  setInterval(tick, 1000);
  listen();
})();
`
