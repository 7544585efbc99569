// The only hand-written script besides the upload module. First: htmx cannot check
// page visibility without eval (which our Content Security Policy forbids), so
// polling requests from elements marked data-poll are skipped while the tab is
// hidden; the next tick after the tab is shown again goes through.
document.addEventListener("htmx:confirm", function (event) {
  var el = event.detail.elt;
  if (el && el.hasAttribute("data-poll") && document.visibilityState !== "visible") {
    event.preventDefault();
  }
});

// Selecting rows of a listing: "select all on this page", the count of what is
// selected, and shift-click for a range. The checkboxes belong to the form their
// `form` attribute names (form[data-selection]); space toggles one, as always.
(function () {
  var last = null;
  function boxes(form) {
    var found = document.querySelectorAll('input[type="checkbox"][form="' + form.id + '"]');
    return Array.prototype.slice.call(found);
  }
  function update(form) {
    var all = boxes(form);
    var n = all.filter(function (b) { return b.checked; }).length;
    form.querySelectorAll("[data-selection-count]").forEach(function (el) { el.textContent = n; });
    form.querySelectorAll("[data-needs-selection]").forEach(function (el) { el.disabled = n === 0; });
    var head = document.querySelector('[data-select-all="' + form.id + '"]');
    if (head) {
      head.checked = n > 0 && n === all.length;
      head.indeterminate = n > 0 && n < all.length;
    }
  }
  function updateAll() {
    document.querySelectorAll("form[data-selection]").forEach(update);
  }
  document.addEventListener("click", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || box.type !== "checkbox") return;
    var form;
    if (box.dataset.selectAll) {
      form = document.getElementById(box.dataset.selectAll);
      if (!form) return;
      boxes(form).forEach(function (b) { b.checked = box.checked; });
      update(form);
      return;
    }
    form = box.form;
    if (!form || !form.hasAttribute("data-selection")) return;
    if (event.shiftKey && last && last !== box) {
      var all = boxes(form), from = all.indexOf(last), to = all.indexOf(box);
      if (from >= 0 && to >= 0) {
        all.slice(Math.min(from, to), Math.max(from, to) + 1).forEach(function (b) {
          b.checked = box.checked;
        });
      }
    }
    last = box;
    update(form);
  });
  document.addEventListener("htmx:afterSettle", updateAll);
  updateAll();
})();

// Row menus of a listing (details.row-menu) open and close without script; this
// only closes an open one when the click lands elsewhere or Escape is pressed, as
// a menu does, and hands the focus back to its button.
(function () {
  function closeMenus(except) {
    document.querySelectorAll("details.row-menu[open]").forEach(function (menu) {
      if (menu !== except) menu.open = false;
    });
  }
  document.addEventListener("click", function (event) {
    var menu = event.target.closest ? event.target.closest("details.row-menu") : null;
    // A click on one of its actions closes the menu too (htmx may keep the page).
    closeMenus(menu && !event.target.closest("a") ? menu : null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var menu = document.activeElement && document.activeElement.closest("details.row-menu[open]");
    closeMenus(null);
    if (menu) menu.querySelector("summary").focus();
  });
})();

// Focus after a swap. A swap that replaces the element holding the focus drops it
// to <body>, and a keyboard or screen-reader user is thrown back to the top of the
// page; a click that fills another part of the page leaves them where nothing
// changed. So: a swap that took the focus away puts it on the same control in the
// new content, or else on the new content's heading; a click or a form that
// filled a region elsewhere moves the focus there (a side list's link also
// becomes the current one). Polls and loads never move it.
(function () {
  function describe(el) {
    return ["name", "value", "href", "aria-label"].reduce(function (words, attr) {
      return words + "|" + (el.getAttribute(attr) || "");
    }, el.tagName + "|" + el.textContent.trim());
  }
  function regionOf(target) {
    if (!target) return null;
    if (target.isConnected) return target;
    return target.id ? document.getElementById(target.id) : null;
  }
  // A side list whose links swap one region in place (the bucket settings:
  // nav[data-section-nav] names the region's id): the clicked link becomes the
  // current one, as a page load would have marked it.
  function markCurrent(link, region) {
    var nav = link && link.closest ? link.closest("nav[data-section-nav]") : null;
    if (!nav || region.id !== nav.dataset.sectionNav) return;
    nav.querySelectorAll("[aria-current]").forEach(function (a) { a.removeAttribute("aria-current"); });
    link.setAttribute("aria-current", "page");
  }
  function focusRegion(region) {
    var to = region.querySelector("h1, h2, h3") || region;
    if (!to.matches("a, button, input, select, textarea, [tabindex]")) to.setAttribute("tabindex", "-1");
    to.focus();
  }
  // What held the focus inside the region a response replaces, kept with that
  // request (several polls may be settling at once).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var active = document.activeElement;
    var target = event.detail.target;
    var config = event.detail.requestConfig;
    if (!config) return;
    var inside = target && active && active !== document.body && target.contains(active);
    config.focusLost = inside ? describe(active) : null;
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var region = regionOf(event.detail.target);
    var config = event.detail.requestConfig || {};
    var trigger = config.triggeringEvent ? config.triggeringEvent.type : "";
    var elt = config.elt;
    var active = document.activeElement;
    var had = config.focusLost === undefined ? null : config.focusLost;
    if (!region) return;
    if (active && active !== region && region.contains(active)) return;  // already in the new content
    if (had !== null) {
      var controls = region.querySelectorAll("a, button, input, select, textarea, summary");
      for (var i = 0; i < controls.length; i++) {
        if (describe(controls[i]) === had) { controls[i].focus(); return; }
      }
      focusRegion(region);
      return;
    }
    var asked = trigger === "click" || trigger === "submit";
    if (!asked) return;
    markCurrent(elt, region);
    focusRegion(region);
  });
})();
