/*
 * The search page's filters: folded above the results on a phone, unfolded in the side
 * column on a wide screen. Without this script they stay folded and open with one click.
 */
(function () {
  "use strict";

  var refine = document.querySelector("[data-refine]");
  if (!refine || !window.matchMedia) {
    return;
  }
  var wide = window.matchMedia("(min-width: 62em)");
  if (wide.matches) {
    refine.open = true;
  }
})();
