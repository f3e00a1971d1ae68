// Review screen of assisted curation: select words of a paragraph with the mouse (or the
// keyboard) to move the span of the proposal whose "Edit" is open. The selection fills that
// form's text, start and end; "Save changes" sends it. Without this script the same fields are
// typed by hand.
"use strict";

(function () {
  let active = null; // the open <details> of the proposal being edited
  const status = document.getElementById("cur-selection-status");

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  document.querySelectorAll(".cur-proposal details").forEach(function (details) {
    details.addEventListener("toggle", function () {
      if (details.open) {
        active = details;
        say(status.dataset.hint.replace("{n}", details.closest(".cur-proposal").dataset.paragraph));
      } else if (active === details) {
        active = null;
        say("");
      }
    });
  });

  // The number of characters of ``container``'s text before (node, offset).
  function offsetIn(container, node, offset) {
    const range = document.createRange();
    range.selectNodeContents(container);
    range.setEnd(node, offset);
    return range.toString().length;
  }

  function applySelection() {
    const selection = window.getSelection();
    if (!active || !selection || selection.isCollapsed || selection.rangeCount === 0) {
      return;
    }
    const range = selection.getRangeAt(0);
    const start = range.startContainer.parentElement;
    const text = start && start.closest(".cur-para__text");
    if (!text || !text.contains(range.endContainer)) {
      return;
    }
    const proposal = active.closest(".cur-proposal");
    if (text.dataset.paragraph !== proposal.dataset.paragraph) {
      say(status.dataset.elsewhere.replace("{n}", proposal.dataset.paragraph));
      return;
    }
    const from = offsetIn(text, range.startContainer, range.startOffset);
    const to = offsetIn(text, range.endContainer, range.endOffset);
    const id = proposal.dataset.proposal;
    document.getElementById("id_p" + id + "-text").value = range.toString();
    document.getElementById("id_p" + id + "-start").value = from;
    document.getElementById("id_p" + id + "-end").value = to;
    say(status.dataset.done.replace("{text}", range.toString()));
  }

  document.querySelectorAll(".cur-para__text").forEach(function (text) {
    text.addEventListener("mouseup", applySelection);
    text.addEventListener("keyup", applySelection);
  });
})();
