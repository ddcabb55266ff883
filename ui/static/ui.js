// berth's web UI works without this script; it only adds conveniences:
// copy buttons beside commands, a box that selects every image, task
// states that change on the page as they change in berth, and log lines
// that appear as they arrive. The live parts read server-sent events
// from berth itself and put text on the page, never markup.
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

  for (const region of document.querySelectorAll("[data-changes]")) liveRegion(region);
  for (const log of document.querySelectorAll("ol.log[data-follow]")) follow(log);
});

// liveRegion reads the page again whenever berth says one of the tasks it
// shows changed, and puts the new region in place of the old one (not
// while the person is typing in it: then once they leave the field).
function liveRegion(region) {
  const changes = new EventSource(region.dataset.changes);
  let timer = null, busy = false, again = false;
  const refresh = async () => {
    const current = document.querySelector(".live[data-changes]");
    if (!current) return;
    const active = document.activeElement;
    if (active && current.contains(active) && active.matches("input, select, textarea")) {
      active.addEventListener("blur", () => schedule(), { once: true });
      return;
    }
    if (busy) { again = true; return; }
    busy = true;
    try {
      const response = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (response.ok) {
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = page.querySelector(".live[data-changes]");
        if (fresh) current.replaceWith(document.adoptNode(fresh));
      }
    } catch {
      // berth is away for a moment: the next change tries again.
    } finally {
      busy = false;
      if (again) { again = false; schedule(); }
    }
  };
  // Changes come in bursts (a task goes through several states at once):
  // read the page once for each burst.
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  };
  changes.addEventListener("change", schedule);
}

// follow appends a log stream's new events to the list as berth sends
// them, keeping the newest in view while the person is at the bottom.
function follow(log) {
  const status = document.querySelector(".follow-status");
  const events = new EventSource(log.dataset.follow);
  const keep = 5000; // lines on the page at most; older ones leave it
  events.addEventListener("open", () => {
    if (status) status.textContent = "Following: new events appear as they arrive.";
  });
  events.addEventListener("error", () => {
    if (status) status.textContent = "Reconnecting to berth to follow new events…";
  });
  events.addEventListener("message", (message) => {
    const event = JSON.parse(message.data);
    const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    const empty = log.querySelector("li.empty");
    if (empty) empty.remove();
    const line = document.createElement("li");
    const time = document.createElement("time");
    time.dateTime = event.iso;
    time.textContent = event.time;
    const text = document.createElement("span");
    text.className = "msg";
    text.textContent = event.message;
    line.append(time, " ", text);
    log.append(line);
    while (log.children.length > keep) log.firstElementChild.remove();
    if (atBottom) line.scrollIntoView({ block: "end" });
  });
}
