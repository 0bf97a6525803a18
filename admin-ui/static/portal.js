// The portal's script (the pages' CSP allows no inline script). Pages work without it; it adds a
// mock interview's countdown, a workspace's live activity and presence, and quoting a document's
// passage by selecting it. The countdown counts down from the seconds left when the server drew the page (not
// from the device's clock, which may be off); the server's deadline is the authority: an answer after
// it is refused there whatever this shows.
(function () {
  'use strict';

  var timer = document.getElementById('timer');
  var left = timer ? parseInt(timer.dataset.secondsLeft, 10) : NaN;
  if (!isNaN(left)) {
    var end = Date.now() + left * 1000;
    var note = document.getElementById('timer-note');
    var tick = function () {
      var now = Math.max(0, Math.ceil((end - Date.now()) / 1000));
      var seconds = now % 60;
      timer.textContent = Math.floor(now / 60) + ':' + (seconds < 10 ? '0' : '') + seconds;
      if (now === 0) {
        timer.dataset.up = 'true';
        if (note) { note.textContent = 'The time is up: finish to see the analysis.'; }
        return;
      }
      window.setTimeout(tick, 1000);
    };
    tick();
  }
})();

// A workspace's activity, live (ADR 0018): the API's event stream — the session cookie is its
// credential — adds each new entry to the list and says who else has which document open. On a
// document's pages it keeps to that document, says when someone else saved it (the text shown is then
// old: a save from this page would be refused and show the differences), and tells the API the page is
// open (every 12 seconds; the API counts a viewer for 30). A stream ends when its time is up or the
// access cookie expires: the script then loads the page once in the background — which renews the
// session cookie as any page does — and connects again; when that fails too, it says so.
(function () {
  'use strict';

  var live = document.getElementById('live');
  if (!live || !window.EventSource || !window.fetch) { return; }
  var only = live.dataset.document || null;
  var me = live.dataset.me;
  var list = document.getElementById('activity');
  var here = document.getElementById('here');
  var state = document.getElementById('live-state');
  var stale = document.getElementById('stale');
  var csrf = document.querySelector('meta[name=csrf-token]');
  var source = null;
  var heartbeat = null;
  var retries = 0;
  var openedAt = 0;

  var stopped = function (why) {
    if (source) { source.close(); }
    if (heartbeat) { window.clearInterval(heartbeat); heartbeat = null; }
    here.textContent = '';
    state.textContent = why;
  };

  // Renews the session cookie by loading this page (as a visit does), then connects again.
  var renewing = false;
  var again = function () {
    if (renewing) { return; }
    renewing = true;
    if (source) { source.close(); }
    // A stream that ran a while ended as streams do (its time was up): start counting afresh.
    if (Date.now() - openedAt > 60000) { retries = 0; }
    retries += 1;
    if (retries > 3) {
      stopped('Live updates stopped: reload the page to see new activity.');
      return;
    }
    // The page's own address (a refused form leaves the browser at the form's).
    fetch(live.dataset.page, { credentials: 'same-origin' })
      .then(function (response) {
        renewing = false;
        if (new URL(response.url).pathname === '/login') {
          stopped('Your session has ended: sign in again to see new activity.');
        } else {
          window.setTimeout(connect, 1000 * retries);
        }
      })
      .catch(function () {
        renewing = false;
        window.setTimeout(again, 5000 * retries);
      });
  };

  var added = function (event) {
    var entry = JSON.parse(event.data);
    if (only && entry.document_id !== only) { return; }
    if (list) {
      var item = document.createElement('li');
      item.className = 'live';
      item.textContent = entry.summary + ' ';
      var when = document.createElement('span');
      when.className = 'muted';
      when.textContent = '— just now';
      item.appendChild(when);
      list.insertBefore(item, list.firstChild);
      var empty = document.getElementById('no-activity');
      if (empty) { empty.remove(); }
    }
    var byOther = !entry.actor || entry.actor.id !== me;
    if (only && stale && byOther && entry.type === 'Update' && entry.object.type === 'Document') {
      document.getElementById('stale-text').textContent = entry.summary + '.';
      stale.hidden = false;
    }
  };

  var present = function (event) {
    var presence = JSON.parse(event.data);
    if (!presence.available) { here.textContent = ''; return; }
    var names = [];
    presence.viewers.forEach(function (viewer) {
      var mine = viewer.user.id === me;
      var relevant = !only || viewer.document_id === only;
      if (!mine && relevant && names.indexOf(viewer.user.display_name) < 0) {
        names.push(viewer.user.display_name);
      }
    });
    here.textContent = names.length === 0 ? '' :
      (only ? 'Also open now by ' : 'In a document now: ') + names.join(', ') + '.';
  };

  var connect = function () {
    source = new EventSource(live.dataset.stream);
    source.onopen = function () { openedAt = Date.now(); };
    source.addEventListener('activity', added);
    source.addEventListener('presence', present);
    source.addEventListener('end', function (event) {
      var reason = {};
      try { reason = JSON.parse(event.data); } catch (ignored) { /* an end without a reason */ }
      if (reason.reason === 'refused') {
        stopped('Live updates stopped: sign in again, or ask to be added to the workspace again.');
      } else {
        again();
      }
    });
    // The browser reconnects by itself after a network error; an answer that is not the stream
    // (the access cookie expired: 401) closes it for good.
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) { again(); }
    };
  };
  connect();

  if (only) {
    var presence = '/api/v1/workspaces/' + live.dataset.workspace + '/documents/' + only + '/presence';
    var beat = function (method, keepalive) {
      return fetch(presence, {
        method: method,
        credentials: 'same-origin',
        keepalive: keepalive,
        headers: { 'x-csrf-token': csrf ? csrf.content : '' }
      }).then(function (response) {
        // The access cookie expired: renew it (and the stream) now, not when the stream notices.
        if (response.status === 401 && method === 'PUT') { again(); }
      }).catch(function () { /* presence is a courtesy: the page works without it */ });
    };
    beat('PUT', false);
    heartbeat = window.setInterval(function () { beat('PUT', false); }, 12000);
    window.addEventListener('pagehide', function () { beat('DELETE', true); });
  }
})();

// Selecting a passage of a document fills the comment form's quote, and where it starts (in Unicode
// characters, as the API counts) for a passage that occurs more than once.
(function () {
  'use strict';

  var text = document.getElementById('doc-body');
  var quote = document.getElementById('quote');
  var start = document.getElementById('quote-start');
  if (!text || !quote || !start) { return; }
  document.addEventListener('selectionchange', function () {
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) { return; }
    var range = selection.getRangeAt(0);
    if (!text.contains(range.startContainer) || !text.contains(range.endContainer)) { return; }
    var before = document.createRange();
    before.setStart(text, 0);
    before.setEnd(range.startContainer, range.startOffset);
    quote.value = range.toString();
    start.value = String(Array.from(before.toString()).length);
  });
})();
