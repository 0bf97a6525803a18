// The portal's script (the pages' CSP allows no inline script). Pages work without it; it adds a
// mock interview's countdown. It counts down from the seconds left when the server drew the page (not
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
