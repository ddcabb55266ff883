// berth's web UI works without this script; it only adds conveniences:
// copy buttons beside commands and a box that selects every image.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const code of document.querySelectorAll("code.copyable")) {
    if (!navigator.clipboard) break;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy " + code.textContent);
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(code.textContent);
        button.textContent = "Copied";
      } catch {
        button.textContent = "Copy failed";
      }
      setTimeout(() => { button.textContent = "Copy"; }, 2000);
    });
    code.after(button);
  }

  const boxes = document.querySelectorAll("table.images input[name=digest]");
  const corner = document.querySelector("table.images thead th");
  if (boxes.length > 1 && corner) {
    const all = document.createElement("input");
    all.type = "checkbox";
    all.setAttribute("aria-label", "Select every image on this page");
    all.addEventListener("change", () => {
      for (const b of boxes) b.checked = all.checked;
    });
    corner.replaceChildren(all);
  }
});
