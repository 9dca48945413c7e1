// Static sliders: each control of a .minidiff-slider shows pictures drawn ahead of time by the notebook.
// Moving one control shows its frame and puts the other controls back at their start (each control's frames
// were drawn with the others at their start values).
(function () {
  'use strict';
  function setup(box) {
    var data = box.querySelector('script.minidiff-slider-data');
    if (!data) return;
    var spec = JSON.parse(data.textContent);
    var inputs = box.querySelectorAll('input.minidiff-slider-input');
    var img = box.querySelector('img.minidiff-slider-img');
    var caption = box.querySelector('.minidiff-slider-caption');
    function show(input, i) {
      var c = spec[+input.dataset.control];
      input.value = String(i);
      input.setAttribute('aria-valuetext', c.values[i]);
      var out = input.parentNode.querySelector('.minidiff-slider-value');
      if (out) out.textContent = c.values[i];
    }
    function moved(ev) {
      var input = ev.target, k = +input.dataset.control, i = +input.value, c = spec[k];
      inputs.forEach(function (other) {
        if (other !== input) show(other, spec[+other.dataset.control].start);
      });
      show(input, i);
      img.src = c.srcs[i];
      caption.innerHTML = c.captions[i];   // the notebook's own caption, written by the course
    }
    inputs.forEach(function (input) {
      input.addEventListener('input', moved);
      input.addEventListener('change', moved);
    });
  }
  function init() { document.querySelectorAll('.minidiff-slider').forEach(setup); }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
