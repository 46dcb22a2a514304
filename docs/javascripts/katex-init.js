// Render the formulas of every page with the bundled KaTeX (no network needed):
// pymdownx.arithmatex (generic mode) writes \( … \) and \[ … \]; the tutorial notebooks keep
// $ … $ and $$ … $$ in their markdown cells. Code blocks and outputs are left alone.
function renderMath() {
  renderMathInElement(document.body, {
    delimiters: [
      { left: "$$", right: "$$", display: true },
      { left: "\\[", right: "\\]", display: true },
      { left: "\\(", right: "\\)", display: false },
      { left: "$", right: "$", display: false },
    ],
    ignoredClasses: ["highlight", "jp-OutputArea"],
    throwOnError: false,
  });
}
if (typeof document$ !== "undefined") {
  document$.subscribe(renderMath); // Material's instant navigation
} else {
  document.addEventListener("DOMContentLoaded", renderMath);
}
