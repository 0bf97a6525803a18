// The console's only script (the pages' CSP allows no inline script). Everything works without it
// but two things: links that carry a token in their fragment, and an import's live progress bar.
(function () {
  'use strict';

  // Invitation and password-reset links carry their single-use token in the fragment, which no
  // server ever receives or logs: move it into the form, and out of the address bar.
  var token = document.querySelector('input[data-from-fragment]');
  if (token && !token.value) {
    var found = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
    if (found) {
      token.value = decodeURIComponent(found[1]);
      window.history.replaceState(null, '', window.location.pathname);
    }
  }

  // An import that runs: its progress over server-sent events, then the page again with the outcome
  // (without the notice of the commit that started it).
  var bar = document.getElementById('import-progress');
  if (bar && bar.dataset.events && window.EventSource) {
    var text = document.getElementById('import-progress-text');
    var source = new EventSource(bar.dataset.events);
    var show = function (event) {
      var im = JSON.parse(event.data);
      var p = im.progress || {};
      bar.value = p.percent || 0;
      bar.textContent = (p.percent || 0) + '%';
      var line = p.processed_rows + ' of ' + p.total_rows + ' rows (' + p.percent + '%)';
      if (p.eta_seconds) { line += ', about ' + p.eta_seconds + ' s left'; }
      if (im.state === 'completed' || im.state === 'failed' || im.state === 'cancelled') {
        line += ' — ' + im.state;
      }
      text.textContent = line;
      return im;
    };
    source.addEventListener('progress', show);
    source.addEventListener('done', function (event) {
      show(event);
      source.close();
      bar.dataset.done = 'true';
      window.setTimeout(function () { window.location.replace(window.location.pathname); }, 1500);
    });
    source.addEventListener('error', function (event) {
      // A named error event from the server ends the stream; a dropped connection reconnects by itself.
      if (event.data) { source.close(); text.textContent = 'Progress is not available: reload the page.'; }
    });
  }
})();
