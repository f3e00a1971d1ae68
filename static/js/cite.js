/*
 * Copy buttons for the citations on a position's page.
 *
 * Progressive enhancement: without this script (or without the Clipboard API, which needs
 * HTTPS) the citations are plain text to select and the downloads still work. Labels come
 * from the section's data attributes, so they are translated with the page.
 */
(function () {
  "use strict";

  var section = document.querySelector("[data-cite]");
  if (!section || !navigator.clipboard || !window.isSecureContext) {
    return;
  }
  var copyLabel = section.getAttribute("data-copy-label") || "Copy";
  var copiedLabel = section.getAttribute("data-copied-label") || "Copied";

  var status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  section.appendChild(status);

  section.querySelectorAll("[data-cite-text]").forEach(function (text) {
    var label = document.getElementById(text.id + "-label");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "cite__copy";
    button.textContent = copyLabel;
    if (label) {
      button.setAttribute("aria-label", copyLabel + ": " + label.textContent);
    }
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(text.textContent).then(function () {
        button.textContent = copiedLabel;
        status.textContent = copiedLabel + (label ? ": " + label.textContent : "");
        window.setTimeout(function () {
          button.textContent = copyLabel;
        }, 2000);
      });
    });
    // A record format (BibTeX, RIS, CSL-JSON) gets its button beside its download link.
    var actions = text.parentNode.querySelector(".cite__actions");
    if (actions) {
      actions.insertAdjacentElement("afterbegin", button);
    } else {
      text.insertAdjacentElement("afterend", button);
    }
  });
})();
