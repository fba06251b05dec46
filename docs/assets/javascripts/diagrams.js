// Draws the documentation's diagrams with the copy of Mermaid shipped in the site
// (docs/assets/vendor/mermaid): nothing is fetched from the network when a page is read.
// Each ```mermaid block is built as <div class="diagram">source</div>; Mermaid replaces the
// source with an SVG image in the page itself.
(function () {
  "use strict";
  function draw() {
    var nodes = document.querySelectorAll("div.diagram:not([data-processed])");
    if (nodes.length === 0 || typeof mermaid === "undefined") {
      return;
    }
    var dark = document.body.getAttribute("data-md-color-scheme") === "slate";
    mermaid.initialize({
      startOnLoad: false,
      securityLevel: "strict",
      theme: dark ? "dark" : "default",
    });
    mermaid.run({ nodes: nodes });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
